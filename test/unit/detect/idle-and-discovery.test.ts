/**
 * Idle input (decoder flush + wall-clock end), LiveFeedSource holding a new stream's first fragments,
 * and the worker's refresh/reconfigure. Real ffmpeg for the sampler and pipeline.
 */
import { describe, expect, it } from 'vitest';
import type { Checkpoint } from '../../../src/detect/checkpoints.ts';
import { MemoryCheckpointStore } from '../../../src/detect/checkpoints.ts';
import { resolveDetectConfig, type DetectConfig } from '../../../src/detect/detect-config.ts';
import type { FragmentSource, FragmentSourceStart, SourceFragment } from '../../../src/detect/fragment-source.ts';
import type { LifecycleEvent } from '../../../src/detect/lifecycle.ts';
import { LiveFeedSource } from '../../../src/detect/live-feed-source.ts';
import { StreamPipeline } from '../../../src/detect/stream-pipeline.ts';
import { DetectionWorker } from '../../../src/detect/worker.ts';
import { FrameSampler } from '../../../src/media-tools/frame-sampler.ts';
import { LiveFeed, TAIL_CACHE } from '../../../src/store/live-feed.ts';
import type { FragmentRecord } from '../../../src/store/types.ts';
import { mkvCluster, mkvHeader } from '../../support/synthetic-mkv.ts';
import { FakeDetector, squareVideo } from './fixtures.ts';

const T0 = 1_700_000_000_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const fragment = (v: { header: Buffer; clusters: Buffer[] }, i: number): SourceFragment => ({
  stream: 'cam', fragmentNumber: `n${i}`, producerTimestampMs: T0 + i * 1000, serverTimestampMs: T0 + i * 1000 + 50,
  mkv: Buffer.concat([v.header, v.clusters[i]!]), continuationToken: `n${i}`,
});

describe('idle input', () => {
  it('the sampler flushes its decoder when no fragment comes, so the last fragment is done without more input', async () => {
    const v = await squareVideo(3, 0, 3);
    const done: string[] = [];
    const s = new FrameSampler({ width: 160, height: 120, sampling: 2, idleFlushMs: 200, onFrame: () => {}, onFragmentDone: (f) => done.push(f.fragmentNumber) });
    for (let i = 0; i < 3; i++) await s.push(fragment(v, i));
    await until(() => done.length === 3, 'every fragment done');
    expect(done).toEqual(['n0', 'n1', 'n2']);
    // The next fragment starts a new decoder.
    await s.push({ ...fragment(v, 0), fragmentNumber: 'again' });
    expect(s.spawns).toBe(2);
    await s.close();
  });

  it('a stream that goes silent mid-event gets start and end, and the checkpoint has nothing open', async () => {
    // The square is visible until the very end of the clip: only the wall-clock end can close it.
    const v = await squareVideo(3, 1, 3);
    const events: LifecycleEvent[] = [];
    const checkpoints = new MemoryCheckpointStore();
    const source: FragmentSource = {
      async *fragments(stream: string, _from: FragmentSourceStart, signal?: AbortSignal) {
        for (let i = 0; i < v.clusters.length; i++) yield { ...fragment(v, i), stream };
        await new Promise<void>((r) => signal?.addEventListener('abort', () => r()));
      },
    };
    const w = new DetectionWorker({
      source, detector: new FakeDetector(), checkpoints, streams: ['cam'],
      sink: { publish: async (e) => void events.push(e) },
      config: () => ({ sampling: 4, endAfterMs: 300, idleFlushMs: 200 }),
    });
    await w.start();
    try {
      await until(() => events.some((e) => e.type === 'end'), 'the end event');
      expect(events.map((e) => e.type)).toEqual(['start', 'end']);
      expect(events[1]!.after.active).toBe(false);
      // Seen until the last sampled frame (~2.75 s).
      expect(events[1]!.after.endTimeMs! - T0).toBeGreaterThanOrEqual(2500);
      await until(() => checkpoints.checkpoints.get('cam')?.open.length === 0, 'checkpoint saved with nothing open');
      const saved = checkpoints.checkpoints.get('cam');
      expect({ token: saved?.token, open: saved?.open }).toEqual({ token: 'n2', open: [] } satisfies Checkpoint);
      // The tracker was cleared too (its ids keep counting), and nothing waits to start.
      expect(saved?.state?.tracker.tracks).toEqual([]);
      expect(saved?.state?.tracker.nextId).toBeGreaterThan(1);
      expect(saved?.state?.pending).toEqual([]);
    } finally {
      await w.stop();
    }
  });

  it('endIdle does nothing when a fragment arrived meanwhile or nothing is open', async () => {
    const v = await squareVideo(2, 5, 6); // no square at all
    const events: LifecycleEvent[] = [];
    const p = new StreamPipeline({ stream: 'cam', detector: new FakeDetector(), config: resolveDetectConfig({ sampling: 2 }), onEvent: (e) => void events.push(e) });
    for (let i = 0; i < 2; i++) await p.push(fragment(v, i));
    await p.endIdle();
    expect(events).toEqual([]);
    expect(p.stats.fragmentsDone).toBe(2);
    await p.close();
  });
});

describe('LiveFeedSource for new streams', () => {
  const rec = (id: number, n: number): FragmentRecord => ({ streamId: id, fragmentNumber: `9100${n}`, producerTimestampMs: n * 1000, serverTimestampMs: Date.now(), durationMs: 1000, sizeBytes: 10, headerId: 1, location: {} as never, tags: {}, flags: 0 });
  const pub = (feed: LiveFeed, id: number, n: number) => feed.publish({ record: rec(id, n), header: mkvHeader(), body: mkvCluster({ timecode: n * 1000 }) }, TAIL_CACHE);

  it('reads a new stream from its first fragment even when discovery lags beyond the tail buffer', async () => {
    const feed = new LiveFeed();
    const known = new Set<number>([1]);
    const src = new LiveFeedSource({ feed, streamId: (s) => (s === 'new' ? 2 : 1), fromBuffered: true, holdNew: { isKnown: (id) => known.has(id) } });
    for (let n = 0; n < 6; n++) {
      pub(feed, 2, n);
      pub(feed, 1, n);
    }
    expect(feed.recent(2)).toHaveLength(3); // the feed alone kept only the tail
    known.add(2);
    const read = async (stream: string, count: number) => {
      const ac = new AbortController();
      const got: string[] = [];
      const t = setTimeout(() => ac.abort(), 300);
      for await (const f of src.fragments(stream, {}, ac.signal)) {
        got.push(f.fragmentNumber);
        if (got.length === count) ac.abort();
      }
      clearTimeout(t);
      return got;
    };
    expect(await read('new', 6)).toEqual(['91000', '91001', '91002', '91003', '91004', '91005']);
    // A known stream is not held: only the feed's tail.
    expect(await read('old', 6)).toEqual(['91003', '91004', '91005']);
    src.close();
  });
});

describe('DetectionWorker refresh and reconfigure', () => {
  it('discovers on refresh(), restarts only a stream whose config changed, stops a disabled one', async () => {
    let names: string[] = ['a'];
    const configs = new Map<string, Partial<DetectConfig>>();
    const opened: string[] = [];
    const source: FragmentSource = {
      // eslint-disable-next-line require-yield
      async *fragments(stream: string, _from: FragmentSourceStart, signal?: AbortSignal) {
        opened.push(stream);
        await new Promise<void>((r) => signal?.addEventListener('abort', () => r()));
      },
    };
    const w = new DetectionWorker({
      source, detector: new FakeDetector(), checkpoints: new MemoryCheckpointStore(), sink: { publish: async () => {} },
      streams: async () => names, discoveryIntervalMs: 3_600_000,
      config: async (s) => configs.get(s),
    });
    await w.start();
    try {
      expect(w.streams).toEqual(['a']);
      names = ['a', 'b'];
      await Promise.all([w.refresh(), w.refresh(), w.refresh()]);
      expect(w.streams.sort()).toEqual(['a', 'b']);
      await until(() => opened.length === 2, 'both sources opened');
      expect(await w.reconfigure('a')).toBe(false); // unchanged
      configs.set('a', { sampling: 5 });
      expect(await w.reconfigure('a')).toBe(true);
      expect(w.configOf('a')?.sampling).toBe(5);
      await until(() => opened.length === 3, 'a reopened');
      expect(opened.filter((s) => s === 'b')).toHaveLength(1);
      configs.set('b', { enabled: false });
      expect(await w.reconfigure('b')).toBe(true);
      expect(w.streams).toEqual(['a']);
      configs.set('b', { enabled: true });
      expect(await w.reconfigure('b')).toBe(true);
      expect(w.streams.sort()).toEqual(['a', 'b']);
      configs.set('a', { sampling: -1 }); // invalid: logged, not run
      await w.reconfigureAll();
      expect(w.streams).toEqual(['b']);
    } finally {
      await w.stop();
    }
  });
});
