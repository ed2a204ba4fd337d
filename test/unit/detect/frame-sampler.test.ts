import { describe, expect, it } from 'vitest';
import { expectedSamples, FLUSHERS, FrameSampler, initialSelectState, inspectFragment, type FragmentFacts, type SampledFrame } from '../../../src/media-tools/frame-sampler.ts';
import { fillerClusters, selectExpression } from '../../../src/media-tools/fragment-facts.ts';
import { spawnFfmpeg } from '../../../src/media-tools/ffmpeg.ts';
import { redBox, squareVideo } from './fixtures.ts';

/** Runs ffmpeg at info level and returns its stderr. */
async function runFfmpegCapture(args: string[]): Promise<string> {
  const lines: string[] = [];
  const proc = spawnFfmpeg(args, { logLevel: 'info', onStderrLine: (l) => lines.push(l) });
  const exit = await proc.exited;
  if (exit.code !== 0) throw new Error(`ffmpeg failed: ${lines.slice(-5).join(' | ')}`);
  return lines.join('\n');
}

const T0 = 1_700_000_000_000;

describe('FrameSampler (one long-lived ffmpeg)', () => {
  it('decodes repeated header+cluster fragments, samples N fps, maps frames to fragments', async () => {
    const v = await squareVideo(4, 1, 3);
    expect(v.clusters).toHaveLength(4);
    const frames: SampledFrame[] = [];
    const done: string[] = [];
    const s = new FrameSampler({ width: 160, height: 120, sampling: 2, onFrame: (f) => frames.push(f), onFragmentDone: (f) => done.push(f.fragmentNumber) });
    for (let i = 0; i < 4; i++) {
      const mkv = Buffer.concat([v.header, v.clusters[i]!]);
      expect(inspectFragment(mkv).startMs).toBe(i * 1000);
      await s.push({ fragmentNumber: `f${i}`, producerTimestampMs: T0 + i * 1000, serverTimestampMs: T0 + i * 1000 + 5, mkv });
    }
    // Fragments are done once their sampled frames are out, without ending the input; the newest one
    // too (ffmpeg 5.1 holds its newest output frame back: the flusher frame after each sample takes that place).
    for (let i = 0; i < 600 && done.length < 4; i++) await new Promise((r) => setTimeout(r, 50));
    expect(done).toEqual(['f0', 'f1', 'f2', 'f3']);
    expect(frames).toHaveLength(8);
    await s.flush();
    expect(s.spawns).toBe(1);
    expect(done).toEqual(['f0', 'f1', 'f2', 'f3']);
    expect(frames.map((f) => f.ptsMs)).toEqual([0, 520, 1000, 1520, 2000, 2520, 3000, 3520]);
    expect(frames.map((f) => f.fragment.fragmentNumber)).toEqual(['f0', 'f0', 'f1', 'f1', 'f2', 'f2', 'f3', 'f3']);
    expect(frames[3]!.producerTimestampMs).toBe(T0 + 1520);
    expect(frames[0]!.sourceWidth).toBe(320);
    // Square visible from t=1 to 3 s, at x = 20 + (t-1)*40 (source px), y = 120..160; frame is half size, top-down rows.
    expect(redBox(frames[0]!)).toBeUndefined();
    const b = redBox(frames[2]!)!;
    expect(b[1]).toBeGreaterThanOrEqual(59);
    expect(b[1]).toBeLessThanOrEqual(61);
    expect(b[0]).toBeGreaterThanOrEqual(9);
    expect(b[0]).toBeLessThanOrEqual(11);
    expect(redBox(frames[6]!)).toBeUndefined();
  });

  it('keyframes mode gives one frame per 1 s GOP; a time jump restarts the decoder', async () => {
    const v = await squareVideo(3, 0, 3);
    const frames: SampledFrame[] = [];
    const s = new FrameSampler({ width: 80, height: 60, sampling: 'keyframes', onFrame: (f) => frames.push(f) });
    for (let i = 0; i < 3; i++) await s.push({ fragmentNumber: `a${i}`, producerTimestampMs: i * 1000, serverTimestampMs: 0, mkv: Buffer.concat([v.header, v.clusters[i]!]) });
    // Same media again: time goes backwards (new producer session).
    await s.push({ fragmentNumber: 'b0', producerTimestampMs: 10_000, serverTimestampMs: 0, mkv: Buffer.concat([v.header, v.clusters[0]!]) });
    await s.flush();
    expect(s.spawns).toBe(2);
    expect(frames.map((f) => `${f.fragment.fragmentNumber}@${f.ptsMs}`)).toEqual(['a0@0', 'a1@1000', 'a2@2000', 'b0@0']);
  });
});

describe('FrameSampler fragment completion order', () => {
  it('a fragment with no sampled frame is reported only after the earlier ones', async () => {
    const v = await squareVideo(4, 0, 4);
    const events: string[] = [];
    const s = new FrameSampler({
      width: 32, height: 24, sampling: 0.5,
      onFrame: (f) => events.push(`frame ${f.ptsMs} ${f.fragment.fragmentNumber}`),
      onFragmentDone: (f) => events.push(`done ${f.fragmentNumber}`),
    });
    for (let i = 0; i < 4; i++) await s.push({ fragmentNumber: `f${i}`, producerTimestampMs: i * 1000, serverTimestampMs: 0, mkv: Buffer.concat([v.header, v.clusters[i]!]) });
    await s.flush();
    expect(events).toEqual(['frame 0 f0', 'done f0', 'done f1', 'frame 2000 f2', 'done f2', 'done f3']);
  });
});

describe('fillerClusters (pure)', () => {
  const frames = (from: number) => Array.from({ length: 10 }, (_, i) => ({ ptsMs: from + i * 100, keyframe: i === 0 }));
  const facts = (from: number, reordered = false): FragmentFacts => ({
    tracksKey: '', clusterMs: from, startMs: from, endMs: from + 900, width: 1, height: 1, reordered, frames: frames(from),
    keyframe: { track: 1, data: Buffer.from([1, 2, 3]), lastTicks: from + 900, scaleNs: 1_000_000 },
  });

  const start = initialSelectState();
  it('as many as the last sample is still owed flushers (B-frames: at least three), within its sampling period', () => {
    const aligned = facts(0);
    const a = expectedSamples(aligned.frames, 2, start);
    expect(a.timesMs).toEqual([0, 500]);
    // 500 is followed by 600 and 700, its two flushers: nothing owed, no filler.
    expect(a.state).toEqual({ prevT: 0.9, owed: 0 });
    expect(fillerClusters(aligned, 2, a.timesMs, a.state.owed)).toBeUndefined();
    const late = facts(600);
    const exp = expectedSamples(late.frames, 2, start);
    expect(exp.timesMs).toEqual([600, 1000, 1500]);
    expect(exp.state.owed).toBe(2);
    const f = fillerClusters(late, 2, exp.timesMs, exp.state.owed)!;
    expect(f.ptsMs).toEqual([1501, 1502]);
    expect(f.mkv.length).toBeGreaterThan(3);
    // The sample second to last: one flusher in the fragment, one filler.
    const one = expectedSamples(facts(700).frames, 2, start);
    expect(one.timesMs).toEqual([700, 1000, 1500]);
    expect(fillerClusters(facts(700), 2, one.timesMs, one.state.owed)?.ptsMs).toEqual([1601]);
    // The state carries over: the next fragment's first frames pay what is still owed.
    const next = expectedSamples(facts(1000).frames.slice(0, 3), 2, { prevT: 0.9, owed: 2 });
    expect(next.timesMs).toEqual([1000]);
    // The fillers would start the next period (and change ffmpeg's select state): none.
    const edge = facts(1099);
    const e10 = expectedSamples(edge.frames, 10, start);
    expect(e10.timesMs.at(-1)).toBe(1999);
    expect(fillerClusters(edge, 10, e10.timesMs, e10.state.owed)).toBeUndefined();
    const e1050 = expectedSamples(facts(1050).frames, 10, start);
    expect(fillerClusters(facts(1050), 10, e1050.timesMs, e1050.state.owed)?.ptsMs).toEqual([1951, 1952]);
    // A decoder that holds back one frame needs only one frame after the last sample.
    expect(fillerClusters(late, 2, exp.timesMs, exp.state.owed, 1)?.ptsMs).toEqual([1501]);
    expect(fillerClusters(facts(700), 2, one.timesMs, one.state.owed, 1)).toBeUndefined();
    expect(fillerClusters(aligned, 'keyframes', [0], 0, 1)?.ptsMs).toEqual([901]);
    // B-frames: three fillers when a sample is among the last three frames.
    expect(fillerClusters(facts(0, true), 2, [0, 700])?.ptsMs).toEqual([901, 902, 903]);
    expect(fillerClusters(facts(0, true), 2, [0, 500])).toBeUndefined();
    // keyframes: always (the keyframe is the only frame that comes out).
    expect(fillerClusters(aligned, 'keyframes', [0])?.ptsMs).toEqual([901, 902]);
  });

  it('the select expression keeps the same frames as expectedSamples (real ffmpeg)', async () => {
    // 10 fps for 2 s at 2 fps: samples 0, 0.5, 1, 1.5 s, each with FLUSHERS frames after it.
    const out = await runFfmpegCapture(['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=2', '-vf', `${selectExpression(2)},showinfo`, '-f', 'null', '-']);
    const selected = [...out.matchAll(/pts_time:([\d.]+)/g)].map((m) => Math.round(Number(m[1]) * 1000));
    const frames = Array.from({ length: 20 }, (_, i) => ({ ptsMs: i * 100, keyframe: i === 0 }));
    const exp = expectedSamples(frames, 2, start);
    expect(exp.timesMs).toEqual([0, 500, 1000, 1500]);
    expect(selected).toEqual(exp.timesMs.flatMap((t) => Array.from({ length: FLUSHERS + 1 }, (_, i) => t + i * 100)));
  });
});
