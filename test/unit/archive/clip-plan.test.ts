import { describe, expect, it } from 'vitest';
import { ClipTimeline, mergeClipFragments, parseClipSelector, trackSignature } from '../../../src/archive/clip-plan.ts';
import type { DemuxedFragment, MediaSample, MediaTrack } from '../../../src/media/types.ts';
import type { FragmentRecord } from '../../../src/store/types.ts';

const rec = (n: number, producerMs: number, durationMs = 1000, serverMs = producerMs + 500): FragmentRecord => ({
  streamId: 1,
  fragmentNumber: String(n).padStart(47, '0'),
  producerTimestampMs: producerMs,
  serverTimestampMs: serverMs,
  durationMs,
  sizeBytes: 100,
  headerId: 1,
  location: { segment: 's', offset: 0, length: 100 },
  tags: {},
  flags: 0,
});
const numbers = (rs: FragmentRecord[]) => rs.map((r) => Number(r.fragmentNumber));
const selector = (start: number, end: number) => ({ FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: start, EndTimestamp: end } });

describe('parseClipSelector', () => {
  it('accepts a range up to 24 h with End after Start', () => {
    expect(parseClipSelector(selector(100, 100 + 86_400))).toEqual({ kind: 'PRODUCER_TIMESTAMP', startMs: 100_000, endMs: 86_500_000 });
  });
  it.each([
    ['missing', undefined],
    ['bad type', { FragmentSelectorType: 'NOW', TimestampRange: { StartTimestamp: 1, EndTimestamp: 2 } }],
    ['End = Start', selector(5, 5)],
    ['End before Start', selector(5, 4)],
    ['over 24 h', selector(0, 86_400.001)],
  ])('rejects %s', (_name, value) => {
    expect(() => parseClipSelector(value)).toThrow(expect.objectContaining({ kvsName: 'InvalidArgumentException' }));
  });
});

describe('mergeClipFragments', () => {
  it('orders by the selector timestamp, whatever the ingest order', () => {
    const merged = mergeClipFragments([], [rec(1, 3000), rec(2, 1000), rec(3, 2000)], 'PRODUCER_TIMESTAMP', 10);
    expect(numbers(merged)).toEqual([2, 3, 1]);
  });
  it('drops re-ingested time: same start or starting before the middle of the kept fragment (oldest ingest wins)', () => {
    const merged = mergeClipFragments([], [rec(5, 1000), rec(2, 1000), rec(3, 2300), rec(4, 2600), rec(6, 3980)], 'PRODUCER_TIMESTAMP', 10);
    expect(numbers(merged)).toEqual([2, 3, 6]);
  });
  it('keeps small overlaps (audio often starts a cluster a few ms early)', () => {
    expect(numbers(mergeClipFragments([], [rec(1, 0), rec(2, 980), rec(3, 1980)], 'PRODUCER_TIMESTAMP', 10))).toEqual([1, 2, 3]);
  });
  it('keeps the first `max`, and merging batch by batch gives the same as all at once', () => {
    const all = Array.from({ length: 40 }, (_, i) => rec(i + 1, (i * 7919) % 40 * 1000));
    const once = mergeClipFragments([], all, 'PRODUCER_TIMESTAMP', 5);
    let kept: FragmentRecord[] = [];
    for (let i = 0; i < all.length; i += 8) kept = mergeClipFragments(kept, all.slice(i, i + 8), 'PRODUCER_TIMESTAMP', 5);
    expect(numbers(kept)).toEqual(numbers(once));
    expect(once.map((r) => r.producerTimestampMs)).toEqual([0, 1000, 2000, 3000, 4000]);
  });
  it('uses server timestamps for SERVER_TIMESTAMP and keeps a burst upload whole', () => {
    const merged = mergeClipFragments([], [rec(1, 0, 1000, 9000), rec(2, 5000, 1000, 1000)], 'SERVER_TIMESTAMP', 10);
    expect(numbers(merged)).toEqual([2, 1]);
    const burst = [rec(1, 0, 1000, 5000), rec(2, 1000, 1000, 5010), rec(3, 2000, 1000, 5020)];
    expect(numbers(mergeClipFragments([], burst, 'SERVER_TIMESTAMP', 10))).toEqual([1, 2, 3]);
  });
});

const track = (over: Partial<MediaTrack> = {}): MediaTrack =>
  ({ number: 1, kind: 'video', codecId: 'V_MPEG4/ISO/AVC', codecPrivate: Buffer.from([1, 2, 3]), width: 640, height: 480, entry: {} as never, ...over }) as MediaTrack;

describe('trackSignature', () => {
  it('changes with codec private data or size, not with the TrackEntry object', () => {
    const a = trackSignature([track()]);
    expect(trackSignature([track({ entry: { other: 1 } as never })])).toBe(a);
    expect(trackSignature([track({ codecPrivate: Buffer.from([1, 2, 4]) })])).not.toBe(a);
    expect(trackSignature([track({ width: 1280 })])).not.toBe(a);
  });
});

const fragment = (startMs: number, frames: number, gapMs = 40, dtsLead = 0): DemuxedFragment => {
  const samples: MediaSample[] = Array.from({ length: frames }, (_, i) => ({
    track: 1,
    ptsMs: startMs + i * gapMs,
    dtsMs: startMs + i * gapMs - dtsLead,
    durationMs: gapMs,
    keyframe: i === 0,
    data: Buffer.alloc(1),
  }));
  return { tracks: [track()], samples, startMs, durationMs: frames * gapMs };
};

describe('ClipTimeline', () => {
  it('starts the clip at 0 and keeps producer-time gaps between fragments', () => {
    const tl = new ClipTimeline();
    // Raw MKV times (RELATIVE producer) differ from producer timestamps; only the latter place fragments.
    const a = tl.place(rec(1, 1_700_000_000_000), fragment(0, 25));
    const b = tl.place(rec(2, 1_700_000_001_000), fragment(1000, 25));
    const c = tl.place(rec(3, 1_700_000_005_000), fragment(5000, 25));
    expect([a.startMs, b.startMs, c.startMs]).toEqual([0, 1000, 5000]);
    expect(b.samples[1]).toMatchObject({ ptsMs: 1040, dtsMs: 1040 });
  });
  it('moves a fragment that would overlap or go back in time to the end of the previous one', () => {
    const tl = new ClipTimeline();
    tl.place(rec(1, 10_000), fragment(0, 25));
    const back = tl.place(rec(2, 9_000), fragment(0, 25));
    expect(back.samples[0]!.dtsMs).toBe(1000);
  });
  it('puts the first decode time at 0 when B-frames make dts lead pts', () => {
    const tl = new ClipTimeline();
    const a = tl.place(rec(1, 50_000), fragment(0, 25, 40, 80));
    expect(a.samples[0]).toMatchObject({ dtsMs: 0, ptsMs: 80 });
    const b = tl.place(rec(2, 51_000), fragment(1000, 25, 40, 80));
    expect(b.samples[0]).toMatchObject({ dtsMs: 1000, ptsMs: 1080 });
  });
});
