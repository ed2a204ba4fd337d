import { describe, expect, it } from 'vitest';
import { resolveDetectConfig } from '../../../src/detect/detect-config.ts';
import type { SourceFragment } from '../../../src/detect/fragment-source.ts';
import type { LifecycleEvent } from '../../../src/detect/lifecycle.ts';
import { StreamPipeline } from '../../../src/detect/stream-pipeline.ts';
import { FakeDetector, squareVideo } from './fixtures.ts';

const T0 = 1_700_000_000_000;

async function runPipeline(config: Parameters<typeof resolveDetectConfig>[0]) {
  const video = await squareVideo(8, 1, 4);
  const events: LifecycleEvent[] = [];
  const done: string[] = [];
  const detector = new FakeDetector();
  const p = new StreamPipeline({
    stream: 'cam', detector, config: resolveDetectConfig(config),
    onEvent: (e) => void events.push(e),
    onFragmentDone: (f) => void done.push(f.fragmentNumber),
  });
  for (let i = 0; i < video.clusters.length; i++) {
    const f: SourceFragment = {
      stream: 'cam', fragmentNumber: `n${i}`, producerTimestampMs: T0 + i * 1000, serverTimestampMs: T0 + i * 1000 + 50,
      mkv: Buffer.concat([video.header, video.clusters[i]!]), continuationToken: `n${i}`,
    };
    await p.push(f);
  }
  await p.finish();
  await p.close();
  return { events, done, stats: p.stats, detector };
}

describe('StreamPipeline', () => {
  it('samples, detects, tracks and emits start/end with one decoder for the whole stream', async () => {
    const { events, done, stats } = await runPipeline({ sampling: 2, endAfterMs: 1500 });
    expect(stats.decoderSpawns).toBe(1);
    expect(stats.framesSampled).toBe(16);
    expect(done).toEqual(['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7']);
    expect(events.map((e) => e.type)).toEqual(['start', 'end']);
    const [start, end] = events as [LifecycleEvent, LifecycleEvent];
    expect(start.fragmentNumber).toBe('n1');
    expect(start.producerTimestampMs).toBe(T0 + 1520);
    expect(start.serverTimestampMs).toBe(T0 + 1050);
    expect(start.bestFrame).toMatchObject({ width: 160, height: 120 });
    // Box in source pixels (320x240): the square is 40 px tall at y = 120.
    expect(start.after.current.box[1]).toBeCloseTo(120, -1);
    expect(start.after.current.box[3]).toBeCloseTo(160, -1);
    expect(end.after.endTimeMs).toBe(T0 + 3520);
    expect(end.producerTimestampMs).toBe(T0 + 5520); // first sampled frame >= 1.5 s after the last sighting
  });

  it('motion gate skips still frames; zones and score threshold filter', async () => {
    const gated = await runPipeline({ sampling: 'keyframes', motion: { areaThreshold: 0.9 } });
    expect(gated.stats.framesSampled).toBe(8);
    expect(gated.stats.framesSkippedNoMotion).toBeGreaterThan(0);
    const nowhere = await runPipeline({ zones: [{ name: 'top', points: [[0, 0], [1, 0], [1, 0.3], [0, 0.3]] }] });
    expect(nowhere.events).toEqual([]);
    const strict = await runPipeline({ scoreThreshold: 0.95 });
    expect(strict.events).toEqual([]);
  });

  it('publishes from a queue: a slow onEvent does not hold back the next frames, and a fragment is done only after its events', async () => {
    const video = await squareVideo(8, 1, 4);
    const log: string[] = [];
    let framesAtFirstPublish = -1;
    let framesAfterFirstPublish = -1;
    const p: StreamPipeline = new StreamPipeline({
      stream: 'cam', detector: new FakeDetector(), config: resolveDetectConfig({ sampling: 2, endAfterMs: 1500 }),
      onEvent: async (e) => {
        if (framesAtFirstPublish < 0) framesAtFirstPublish = p.stats.framesSampled;
        await new Promise((r) => setTimeout(r, 1500));
        if (framesAfterFirstPublish < 0) framesAfterFirstPublish = p.stats.framesSampled;
        log.push(`${e.type} ${e.fragmentNumber}`);
      },
      onFragmentDone: (f, open) => void log.push(`done ${f.fragmentNumber} open=${open.length}`),
    });
    for (let i = 0; i < video.clusters.length; i++) {
      await p.push({ stream: 'cam', fragmentNumber: `n${i}`, producerTimestampMs: T0 + i * 1000, serverTimestampMs: T0 + i * 1000,
        mkv: Buffer.concat([video.header, video.clusters[i]!]), continuationToken: `n${i}` });
    }
    await p.finish();
    await p.close();
    expect(log).toEqual(['done n0 open=0', 'start n1', 'done n1 open=1', 'done n2 open=1', 'done n3 open=1', 'done n4 open=1', 'end n5', 'done n5 open=0', 'done n6 open=0', 'done n7 open=0']);
    // While the start was being published (1.5 s), later fragments' frames were analysed.
    expect(p.stats.framesSampled).toBe(16);
    expect(framesAfterFirstPublish).toBeGreaterThan(framesAtFirstPublish);
  });
});
