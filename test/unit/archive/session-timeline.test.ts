import { describe, expect, it } from 'vitest';
import { SessionTimelines } from '../../../src/archive/session-timeline.ts';
import { TrackCatalog } from '../../../src/archive/track-catalog.ts';
import type { SessionClaims } from '../../../src/hls/types.ts';
import type { FragmentIndex, FragmentRangeQuery, FragmentRecord } from '../../../src/store/types.ts';
import { AVCC_320x240, mkvHeader, VIDEO_TRACK } from '../../support/synthetic-mkv.ts';

/** The FragmentIndex calls playback makes, over an array (fragment numbers are fixed-width strings). */
class MemoryIndex {
  readonly rows: FragmentRecord[] = [];
  readonly headers = new Map<number, Buffer>();
  add(i: number, over: Partial<FragmentRecord> = {}): FragmentRecord {
    const r: FragmentRecord = {
      streamId: 1,
      fragmentNumber: String(1000 + i).padStart(8, '0'),
      producerTimestampMs: 10_000 + i * 1000,
      serverTimestampMs: 50_000 + i * 1000,
      durationMs: 1000,
      sizeBytes: 1000,
      headerId: 1,
      location: { segment: 's', offset: 0, length: 0 },
      tags: {},
      flags: 0,
      ...over,
    };
    this.rows.push(r);
    return r;
  }
  async getHeader(id: number) {
    return this.headers.get(id)!;
  }
  async after(_s: number, after: string | undefined, limit: number) {
    return this.rows.filter((r) => after === undefined || r.fragmentNumber > after).slice(0, limit);
  }
  async range(q: FragmentRangeQuery) {
    const ts = (r: FragmentRecord) => (q.kind === 'SERVER_TIMESTAMP' ? r.serverTimestampMs : r.producerTimestampMs);
    return this.rows.filter((r) => ts(r) >= q.startMs && ts(r) <= q.endMs && (q.afterFragmentNumber === undefined || r.fragmentNumber > q.afterFragmentNumber)).slice(0, q.limit);
  }
}

function setup() {
  const index = new MemoryIndex();
  index.headers.set(1, mkvHeader());
  index.headers.set(2, mkvHeader()); // same codec private data, another PutMedia session
  index.headers.set(3, mkvHeader({ tracks: [{ ...VIDEO_TRACK, codecPrivate: AVCC_320x240 }] }));
  const clock = { now: () => 0 };
  const make = () => new SessionTimelines({ index: index as unknown as FragmentIndex, catalog: new TrackCatalog(index as unknown as FragmentIndex), clock });
  return { index, clock, make };
}

const claims = (over: Partial<SessionClaims> = {}): SessionClaims => ({
  protocol: 'HLS',
  streamId: 1,
  streamName: 's',
  mode: 'LIVE',
  container: 'FRAGMENTED_MP4',
  selector: { kind: 'SERVER_TIMESTAMP' },
  discontinuity: 'ON_DISCONTINUITY',
  displayTimestamp: 'NEVER',
  displayFragmentNumber: 'NEVER',
  maxResults: 3,
  anchor: '00000999',
  lowLatency: false,
  issuedAtMs: 0,
  expiresAtMs: 1e12,
  ...over,
});

describe('session timeline', () => {
  it('LIVE: a sliding window whose MSNs never change, also after a restart', async () => {
    const { index, make } = setup();
    for (let i = 0; i < 4; i++) index.add(i);
    const timelines = make();
    const v1 = await timelines.view('k', claims());
    expect(v1.entries.map((e) => e.msn)).toEqual([1, 2, 3]);
    index.add(4);
    index.add(5, { serverTimestampMs: 50_000 + 9000 }); // a gap: discontinuity
    const v2 = await timelines.view('k', claims());
    expect(v2.entries.map((e) => [e.msn, e.discontinuity])).toEqual([[3, false], [4, false], [5, true]]);
    expect(v2.discontinuitySequence).toBe(0);
    index.add(6, { serverTimestampMs: 60_000 });
    index.add(7, { serverTimestampMs: 61_000 });
    index.add(8, { serverTimestampMs: 62_000 });
    const v3 = await timelines.view('k', claims());
    expect(v3.entries.map((e) => e.msn)).toEqual([6, 7, 8]);
    expect(v3.discontinuitySequence).toBe(1);
    // A fresh process (no cached walk) numbers the same fragments the same way.
    const again = await make().view('k', claims());
    expect(again.entries.map((e) => [e.record.fragmentNumber, e.msn])).toEqual(v3.entries.map((e) => [e.record.fragmentNumber, e.msn]));
    expect(again.discontinuitySequence).toBe(1);
  });

  it('keeps the init segment across byte-different headers with the same codec data; a codec change is a new init and a discontinuity', async () => {
    const { index, make } = setup();
    index.add(0, { headerId: 1 });
    index.add(1, { headerId: 2 });
    index.add(2, { headerId: 3 });
    const v = await make().view('k', claims({ discontinuity: 'NEVER', maxResults: 10 }));
    expect(v.entries.map((e) => [e.initSequence, e.discontinuity])).toEqual([[0, false], [0, false], [1, true]]);
    expect(v.inits).toEqual([1, 3]);
  });

  it('ALWAYS marks every fragment, and counts the ones that scrolled out', async () => {
    const { index, make } = setup();
    for (let i = 0; i < 5; i++) index.add(i);
    const v = await make().view('k', claims({ discontinuity: 'ALWAYS', maxResults: 2 }));
    expect(v.entries.every((e) => e.discontinuity)).toBe(true);
    expect(v.discontinuitySequence).toBe(3);
  });

  it('LIVE_REPLAY: three fragments at once, then one per elapsed fragment duration; ends at EndTimestamp', async () => {
    const { index, clock, make } = setup();
    for (let i = 0; i < 6; i++) index.add(i);
    const timelines = make();
    const replay = claims({ mode: 'LIVE_REPLAY', maxResults: 10, selector: { kind: 'SERVER_TIMESTAMP', startMs: 50_000, endMs: 54_000 } });
    expect((await timelines.view('r', replay)).entries.map((e) => e.msn)).toEqual([0, 1, 2]);
    clock.now = () => 999;
    expect((await timelines.view('r', replay)).entries).toHaveLength(3);
    clock.now = () => 1000;
    expect((await timelines.view('r', replay)).entries).toHaveLength(4);
    clock.now = () => 10_000;
    const done = await timelines.view('r', replay);
    expect(done.entries.map((e) => e.msn)).toEqual([0, 1, 2, 3, 4]);
    expect(done.ended).toBe(true);
  });

  it('ON_DEMAND: the oldest N in the range; producer-timestamp duplicates keep the newest fragment', async () => {
    const { index, make } = setup();
    for (let i = 0; i < 5; i++) index.add(i);
    index.add(5, { producerTimestampMs: 10_000 + 2000 }); // re-sent fragment with the same producer time
    const v = await make().view('d', claims({ mode: 'ON_DEMAND', maxResults: 3, selector: { kind: 'PRODUCER_TIMESTAMP', startMs: 0, endMs: 1e9 } }));
    expect(v.entries.map((e) => e.record.fragmentNumber)).toEqual(['00001000', '00001001', '00001005']);
    expect(v.entries.map((e) => e.msn)).toEqual([0, 1, 2]);
    expect(v.ended).toBe(true);
  });
});
