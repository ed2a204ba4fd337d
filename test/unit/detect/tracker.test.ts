import { describe, expect, it } from 'vitest';
import { IouTracker, iou } from '../../../src/detect/tracker.ts';
import type { NormBox } from '../../../src/detect/types.ts';

const p = (box: NormBox, score = 0.8, label = 'person') => ({ box, score, label });

describe('IouTracker', () => {
  it('iou', () => {
    expect(iou([0, 0, 1, 1], [0, 0, 1, 1])).toBe(1);
    expect(iou([0, 0, 1, 1], [2, 2, 3, 3])).toBe(0);
    expect(iou([0, 0, 2, 1], [1, 0, 3, 1])).toBeCloseTo(1 / 3);
  });
  it('keeps one id for a moving box and confirms after minHits', () => {
    const t = new IouTracker({ minHits: 3 });
    let tracks = t.update([p([0.1, 0.1, 0.3, 0.5])], 0);
    const id = tracks[0]!.id;
    expect(tracks[0]!.confirmed).toBe(false);
    t.update([p([0.12, 0.1, 0.32, 0.5])], 500);
    tracks = t.update([p([0.14, 0.1, 0.34, 0.5])], 1000);
    expect(tracks).toHaveLength(1);
    expect(tracks[0]!.id).toBe(id);
    expect(tracks[0]!.hits).toBe(3);
    expect(tracks[0]!.confirmed).toBe(true);
  });
  it('separates objects, labels and far jumps; matches greedily by best IoU', () => {
    const t = new IouTracker({ minHits: 1 });
    const [a, b] = t.update([p([0, 0, 0.2, 0.2]), p([0.5, 0.5, 0.7, 0.7])], 0);
    const next = t.update([p([0.51, 0.5, 0.71, 0.7]), p([0.01, 0, 0.21, 0.2]), p([0.01, 0, 0.21, 0.2], 0.9, 'car')], 500);
    expect(next.filter((x) => x.matched).map((x) => x.id).sort()).toEqual([a!.id, b!.id, 3]);
    expect(next.find((x) => x.label === 'car')!.id).toBe(3);
    const jumped = t.update([p([0.8, 0.0, 0.95, 0.2])], 1000);
    expect(jumped.find((x) => x.matched)!.id).toBe(4);
  });
  it('drops tracks unmatched for longer than maxAge', () => {
    const t = new IouTracker({ maxAgeMs: 1000 });
    t.update([p([0, 0, 0.2, 0.2])], 0);
    expect(t.update([], 1000)).toHaveLength(1);
    expect(t.update([], 1001)).toHaveLength(0);
  });
  it('a restored snapshot continues the same tracks and ids; reset keeps counting ids', () => {
    const t = new IouTracker({ minHits: 2 });
    t.update([p([0, 0, 0.2, 0.2]), p([0.5, 0.5, 0.7, 0.7])], 0);
    const copy = new IouTracker({ minHits: 2 });
    copy.restore(JSON.parse(JSON.stringify(t.snapshot())));
    const next = [p([0.01, 0, 0.21, 0.2]), p([0.9, 0.9, 1, 1])];
    expect(copy.update(next, 500)).toEqual(t.update(next, 500));
    t.reset();
    expect(t.active).toEqual([]);
    expect(t.update([p([0, 0, 0.2, 0.2])], 1000)[0]!.id).toBe(4);
  });
  it('a track unseen for longer than maxAge is not revived by a box where it was (looping scenes)', () => {
    const t = new IouTracker({ maxAgeMs: 2500, minHits: 1 });
    const id = t.update([p([0.1, 0.1, 0.3, 0.5])], 0)[0]!.id;
    t.update([], 1000);
    t.update([], 2000);
    // The same box 3 s later: a new track, not the old one.
    const again = t.update([p([0.1, 0.1, 0.3, 0.5])], 3000);
    expect(again).toHaveLength(1);
    expect(again[0]!.id).not.toBe(id);
    // Within maxAge it is the same track.
    expect(t.update([p([0.1, 0.1, 0.3, 0.5])], 5500)[0]!.id).toBe(again[0]!.id);
  });
});
