import { describe, expect, it } from 'vitest';
import {
  coveringFragments,
  decodeImagesToken,
  encodeImagesToken,
  frameAt,
  instantCount,
  parseImagesRequest,
  planImagePage,
  type ImageRange,
} from '../../../src/archive/images-plan.ts';

const base = { ImageSelectorType: 'PRODUCER_TIMESTAMP', StartTimestamp: 1000, EndTimestamp: 1010, SamplingInterval: 1000, Format: 'JPEG' };
const invalid = expect.objectContaining({ kvsName: 'InvalidArgumentException' });

describe('parseImagesRequest', () => {
  it('applies KVS defaults: page of 25, JPEG quality 80, source size', () => {
    expect(parseImagesRequest(base, 7)).toEqual({
      range: { kind: 'PRODUCER_TIMESTAMP', startMs: 1_000_000, endMs: 1_010_000, intervalMs: 1000 },
      firstIndex: 0,
      pageSize: 25,
      format: 'JPEG',
      jpegQuality: 80,
    });
  });
  it('caps the page at 25 whatever MaxResults (1..100) says, and reads quality and size', () => {
    const r = parseImagesRequest({ ...base, MaxResults: 100, FormatConfig: { JPEGQuality: '5' }, WidthPixels: 320, HeightPixels: 2160 }, 7);
    expect(r).toMatchObject({ pageSize: 25, jpegQuality: 5, width: 320, height: 2160 });
    expect(parseImagesRequest({ ...base, MaxResults: 3 }, 7).pageSize).toBe(3);
  });
  it('leaves the interval undefined when SamplingInterval is absent (one image at the start)', () => {
    const { SamplingInterval: _omit, ...noInterval } = base;
    expect(parseImagesRequest(noInterval, 7).range.intervalMs).toBeUndefined();
  });
  it.each([
    ['a range over 300 s', { EndTimestamp: 1300.001 }],
    ['End before Start', { EndTimestamp: 999 }],
    ['an interval under 200 ms', { SamplingInterval: 199 }],
    ['a fractional interval', { SamplingInterval: 250.5 }],
    ['an unknown format', { Format: 'GIF' }],
    ['a bad selector type', { ImageSelectorType: 'NOW' }],
    ['MaxResults 0', { MaxResults: 0 }],
    ['MaxResults 101', { MaxResults: 101 }],
    ['quality as a number', { FormatConfig: { JPEGQuality: 80 } }],
    ['quality 101', { FormatConfig: { JPEGQuality: '101' } }],
    ['an unknown FormatConfig key', { FormatConfig: { PNGLevel: '3' } }],
    ['a width over 3840', { WidthPixels: 3841 }],
    ['a height of 0', { HeightPixels: 0 }],
  ])('rejects %s', (_name, over) => {
    expect(() => parseImagesRequest({ ...base, ...over }, 7)).toThrow(invalid);
  });
});

describe('sample instants', () => {
  const range: ImageRange = { kind: 'SERVER_TIMESTAMP', startMs: 0, endMs: 6000, intervalMs: 1000 };
  it('are start + k·interval up to and including the end', () => {
    expect(instantCount(range)).toBe(7);
    expect(planImagePage(range, 0, 25)).toEqual({ instantsMs: [0, 1000, 2000, 3000, 4000, 5000, 6000] });
    expect(instantCount({ ...range, endMs: 5999 })).toBe(6);
  });
  it('is just the start without an interval, or when the range is shorter than it', () => {
    expect(planImagePage({ ...range, intervalMs: undefined }, 0, 25)).toEqual({ instantsMs: [0] });
    expect(planImagePage({ ...range, intervalMs: 10_000 }, 0, 25)).toEqual({ instantsMs: [0] });
  });
  it('pages: each page says where the next starts; the last has no next', () => {
    expect(planImagePage(range, 0, 3)).toEqual({ instantsMs: [0, 1000, 2000], nextIndex: 3 });
    expect(planImagePage(range, 3, 3)).toEqual({ instantsMs: [3000, 4000, 5000], nextIndex: 6 });
    expect(planImagePage(range, 6, 3)).toEqual({ instantsMs: [6000] });
  });
});

describe('NextToken', () => {
  const range: ImageRange = { kind: 'PRODUCER_TIMESTAMP', startMs: 1_700_000_000_000, endMs: 1_700_000_010_000, intervalMs: 500 };
  it('round-trips the range and position as KVS-shaped base64', () => {
    const token = encodeImagesToken(3, range, 4);
    expect(token).toMatch(/^[a-zA-Z0-9+/]+={0,2}$/);
    expect(decodeImagesToken(token, 3)).toEqual({ range, firstIndex: 4 });
    expect(decodeImagesToken(encodeImagesToken(3, { ...range, intervalMs: undefined, endMs: range.startMs }, 0), 3).range.intervalMs).toBeUndefined();
  });
  it('takes over the range when a request carries it', () => {
    const token = encodeImagesToken(3, range, 20);
    expect(parseImagesRequest({ Format: 'PNG', NextToken: token, MaxResults: 2 }, 3)).toMatchObject({ range, firstIndex: 20, pageSize: 2, format: 'PNG' });
  });
  it.each([
    ['another stream', encodeImagesToken(4, range, 1)],
    ['a position past the end', encodeImagesToken(3, range, 21)],
    ['garbage', 'bm90IGpzb24='],
    ['non-base64', 'a token!'],
    ['a tampered range', Buffer.from(JSON.stringify({ v: 1, s: 3, k: 'PRODUCER_TIMESTAMP', a: 0, b: 400_000, i: 1000, n: 0 })).toString('base64')],
  ])('rejects %s', (_name, token) => {
    expect(() => decodeImagesToken(token, 3)).toThrow(invalid);
  });
});

describe('coveringFragments', () => {
  const r = (n: number, start: number, durationMs: number) => ({ fragmentNumber: String(n).padStart(3, '0'), start, durationMs });
  const ts = (x: { start: number }) => x.start;
  it('finds the fragment with start ≤ t < start + duration, undefined in gaps', () => {
    const records = [r(1, 0, 1000), r(2, 1000, 1000), r(3, 5000, 1000)];
    const got = coveringFragments([0, 999, 1000, 2500, 5999, 6000], records, ts, 'oldest-ingest');
    expect(got.map((x) => x?.fragmentNumber)).toEqual(['001', '001', '002', undefined, '003', undefined]);
  });
  it('prefers the oldest ingest on producer time and the latest arrival on server time when fragments overlap', () => {
    expect(coveringFragments([500], [r(9, 0, 1000), r(4, 200, 1000)], ts, 'oldest-ingest')[0]?.fragmentNumber).toBe('004');
    // A burst upload: three 1 s fragments received within 20 ms.
    const burst = [r(1, 0, 1000), r(2, 10, 1000), r(3, 20, 1000)];
    expect(coveringFragments([5, 15, 500], burst, ts, 'latest-start').map((x) => x?.fragmentNumber)).toEqual(['001', '002', '003']);
  });
});

describe('frameAt', () => {
  const frames = [23, 63, 103, 143];
  it('shows the last frame presented at or before the instant', () => {
    expect(frameAt(frames, 23, 100)).toBe(63);
    expect(frameAt(frames, 23, 103)).toBe(103);
    expect(frameAt(frames, 23, 9999)).toBe(143);
  });
  it('shows the first decodable frame for an instant before it (no spurious NO_MEDIA)', () => {
    expect(frameAt(frames, 23, 0)).toBe(23);
    expect(frameAt(frames, 63, 30)).toBe(63);
  });
  it('has nothing to show without frames', () => {
    expect(frameAt([], 0, 10)).toBeUndefined();
  });
});
