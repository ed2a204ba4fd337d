import { describe, expect, it } from 'vitest';
import { planEviction, type SegmentUsage } from '../../../src/store/eviction-plan.ts';

/** Segments of one stream, oldest first; the last one is open unless `closedOnly`. */
function stream(streamId: number, sizes: number[], opts: { closedOnly?: boolean; uncommitted?: number[] } = {}): SegmentUsage[] {
  return sizes.map((bytes, i) => {
    const active = !opts.closedOnly && i === sizes.length - 1;
    return { streamId, segment: String(i + 1).padStart(12, '0'), bytes, active, evictable: !active && !opts.uncommitted?.includes(i) };
  });
}
const names = (plan: ReturnType<typeof planEviction>) => plan.evict.map((e) => `${e.streamId}:${Number(e.segment)}:${e.reason}`);

describe('planEviction', () => {
  it('does nothing above the floor and without a cap', () => {
    const plan = planEviction({ segments: stream(1, [10, 10, 10]), needBytes: 0 });
    expect(plan).toEqual({ evict: [], seal: [], freedBytes: 0, shortfall: 0 });
  });

  it('takes from the stream holding the most bytes, oldest segment first, until the floor is met', () => {
    const segments = [...stream(1, [10, 10, 10, 10]), ...stream(2, [10, 5]), ...stream(3, [30, 30, 30])];
    const plan = planEviction({ segments, needBytes: 70 });
    // Stream 3 (90 bytes) gives 30, still the biggest at 60 gives 30 more; then stream 1 (40) is the biggest.
    expect(names(plan)).toEqual(['3:1:floor', '3:2:floor', '1:1:floor']);
    expect(plan.freedBytes).toBe(70);
    expect(plan.shortfall).toBe(0);
    expect(plan.seal).toEqual([]);
  });

  it('shares the loss fairly between equally large streams', () => {
    const segments = [...stream(1, [10, 10, 10, 10]), ...stream(2, [10, 10, 10, 10])];
    const plan = planEviction({ segments, needBytes: 40 });
    expect(names(plan)).toEqual(['1:1:floor', '2:1:floor', '1:2:floor', '2:2:floor']);
  });

  it('never takes an open segment, and stops at a segment still being committed', () => {
    const segments = [...stream(1, [50, 50, 50], { uncommitted: [1] }), ...stream(2, [20, 20])];
    const plan = planEviction({ segments, needBytes: 200 });
    expect(names(plan)).toEqual(['1:1:floor', '2:1:floor']);
    expect(plan.shortfall).toBe(130);
    // Stream 1 still has a closed segment coming (not yet committed), so only stream 2 is sealed.
    expect(plan.seal).toEqual([2]);
  });

  it('seals the largest open segments when nothing closed is left, enough to cover the shortfall', () => {
    const segments = [...stream(1, [40]), ...stream(2, [100]), ...stream(3, [0]), ...stream(4, [70])];
    const plan = planEviction({ segments, needBytes: 150 });
    expect(plan.evict).toEqual([]);
    expect(plan.shortfall).toBe(150);
    expect(plan.seal).toEqual([2, 4]);
  });

  it('reports a shortfall with nothing to seal when the disk holds no media', () => {
    const plan = planEviction({ segments: stream(1, [0]), needBytes: 10 });
    expect(plan).toEqual({ evict: [], seal: [], freedBytes: 0, shortfall: 10 });
  });

  it('enforces the per-stream cap first, and counts it towards the floor', () => {
    const segments = [...stream(1, [30, 30, 30, 10]), ...stream(2, [20, 20])];
    const plan = planEviction({ segments, needBytes: 70, maxBytesPerStream: 50 });
    // After the cap both streams hold 40: the tie goes to the lower id.
    expect(names(plan)).toEqual(['1:1:cap', '1:2:cap', '1:3:floor']);
    expect(plan.freedBytes).toBe(90);
    expect(plan.shortfall).toBe(0);
  });

  it('under a cap alone, evicts only the streams above it', () => {
    const segments = [...stream(1, [30, 30, 30, 10]), ...stream(2, [20, 20])];
    const plan = planEviction({ segments, needBytes: 0, maxBytesPerStream: 50 });
    expect(names(plan)).toEqual(['1:1:cap', '1:2:cap']);
  });

  it('seals an open segment that alone exceeds the cap', () => {
    const plan = planEviction({ segments: stream(7, [500]), needBytes: 0, maxBytesPerStream: 100 });
    expect(plan.evict).toEqual([]);
    expect(plan.seal).toEqual([7]);
  });
});
