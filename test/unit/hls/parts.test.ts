import { describe, expect, it } from 'vitest';
import { planParts, samplesOfPart, type PartSample } from '../../../src/hls/parts.ts';

/** 25 fps video (track 1) plus ~23.2 ms AAC frames (track 2), interleaved by decode time. */
function samples(seconds: number): PartSample[] {
  const out: PartSample[] = [];
  for (let i = 0; i < seconds * 25; i++) out.push({ track: 1, dtsMs: 1000 + i * 40, durationMs: 40, keyframe: i === 0 });
  for (let i = 0; i * 23.22 < seconds * 1000; i++) out.push({ track: 2, dtsMs: 1000 + i * 23.22, durationMs: 23.22, keyframe: true });
  return out.sort((a, b) => a.dtsMs - b.dtsMs || a.track - b.track);
}

const opts = { partTargetMs: 500, leadTrack: 1, tracks: [1, 2] };

describe('LL-HLS part plan', () => {
  it('cuts parts no longer than the target, on lead-track sample boundaries, first one independent', () => {
    const all = samples(2);
    const parts = planParts(all, { ...opts, complete: true });
    expect(parts.map((p) => p.durationMs)).toEqual([480, 480, 480, 480, 80]);
    expect(parts.every((p) => p.durationMs <= 500)).toBe(true);
    expect(parts.map((p) => p.independent)).toEqual([true, false, false, false, false]);
    // Every sample lands in exactly one part.
    const total = parts.reduce((n, p) => n + samplesOfPart(all, p, 1).length, 0);
    expect(total).toBe(all.length);
    const part1 = samplesOfPart(all, parts[1]!, 1);
    expect(part1.filter((s) => s.track === 1)).toHaveLength(12);
    expect(part1.every((s) => s.dtsMs >= 1480 && s.dtsMs < 1960)).toBe(true);
  });

  it('gives the same parts for a growing prefix as for the whole fragment', () => {
    const all = samples(2);
    const whole = planParts(all, { ...opts, complete: true });
    for (let n = 1; n < all.length; n++) {
      const prefix = all.slice(0, n);
      const partial = planParts(prefix, { ...opts, complete: false });
      expect(partial.length).toBeLessThan(whole.length);
      partial.forEach((p, i) => {
        expect(p).toEqual(whole[i]);
        expect(samplesOfPart(prefix, p, 1)).toEqual(samplesOfPart(all, whole[i]!, 1));
      });
    }
  });

  it('holds a part until the other tracks have reached its end', () => {
    const video = samples(1).filter((s) => s.track === 1);
    expect(planParts(video, { ...opts, complete: false })).toHaveLength(0);
    expect(planParts(video, { ...opts, tracks: [1], complete: false })).toHaveLength(1);
  });

  it('keeps a sample longer than the target as a part of its own', () => {
    const slow: PartSample[] = [0, 1000, 2000].map((t, i) => ({ track: 1, dtsMs: t, durationMs: 1000, keyframe: i === 0 }));
    expect(planParts(slow, { partTargetMs: 500, leadTrack: 1, tracks: [1], complete: true }).map((p) => p.durationMs)).toEqual([1000, 1000, 1000]);
  });
});
