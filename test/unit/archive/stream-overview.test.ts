import { describe, expect, it } from 'vitest';
import { StreamOverview } from '../../../src/archive/stream-overview.ts';
import type { FragmentIndex, FragmentRangeQuery, FragmentRecord, StreamRecord } from '../../../src/store/types.ts';
import { streamRecord } from '../../support/stream-record.ts';

/** Just enough of a FragmentIndex: rows in ingestion order per stream. */
class MemoryIndex {
  rows: FragmentRecord[] = [];
  add(streamId: number, serverTimestampMs: number, durationMs = 1000, sizeBytes = 125_000): void {
    const n = String(this.rows.length + 1).padStart(10, '0');
    this.rows.push({
      streamId,
      fragmentNumber: n,
      producerTimestampMs: serverTimestampMs,
      serverTimestampMs,
      durationMs,
      sizeBytes,
      headerId: 1,
      location: { segment: 's', offset: 0, length: sizeBytes },
      tags: {},
      flags: 0,
    });
  }
  async latest(id: number) {
    return this.rows.filter((r) => r.streamId === id).at(-1);
  }
  async after(id: number, after: string | undefined, limit: number) {
    return this.rows.filter((r) => r.streamId === id && (after === undefined || r.fragmentNumber > after)).slice(0, limit);
  }
  async range(q: FragmentRangeQuery) {
    return this.rows
      .filter((r) => r.streamId === q.streamId && r.serverTimestampMs >= q.startMs && r.serverTimestampMs <= q.endMs)
      .filter((r) => q.afterFragmentNumber === undefined || r.fragmentNumber > q.afterFragmentNumber)
      .slice(0, q.limit);
  }
}

const stream = (id: number, name: string): StreamRecord => ({ id, revision: 0, ...streamRecord(name, { version: 'v', creationTimeMs: 0, dataRetentionInHours: 24 }) });

const DAY = 86_400_000;
const T0 = 100 * DAY;

describe('StreamOverview', () => {
  it('classifies live, idle and empty streams and computes bitrate and today’s count incrementally', async () => {
    const index = new MemoryIndex();
    let now = T0 + 3600_000;
    const overview = new StreamOverview({ index: index as unknown as FragmentIndex, clock: { now: () => now }, bitrateFragments: 10 });
    // Yesterday's fragment, then 20 one-second fragments ending just now.
    index.add(1, T0 - 1000);
    for (let i = 0; i < 20; i++) index.add(1, now - 21_000 + i * 1000);
    // An idle stream: its last fragment ended a minute ago.
    index.add(2, now - 61_000);

    const [live, idle, empty] = await overview.summarize([stream(1, 'live'), stream(2, 'idle'), stream(3, 'empty')], T0);
    expect(live).toMatchObject({ name: 'live', state: 'LIVE', fragmentsToday: 20, recentBitrateBps: 1_000_000 });
    expect(live!.lastFragment?.serverTimestampMs).toBe(now - 2000);
    expect(idle).toMatchObject({ state: 'IDLE', fragmentsToday: 1 });
    expect(empty).toMatchObject({ state: 'EMPTY', fragmentsToday: 0, lastFragment: null, recentBitrateBps: null });

    // New fragments are counted from where the last call stopped; a new day starts from zero.
    now += 2000;
    index.add(1, now - 1000, 1000, 250_000);
    const [again] = await overview.summarize([stream(1, 'live')], T0);
    expect(again!.fragmentsToday).toBe(21);
    expect(again!.recentBitrateBps).toBe(1_100_000);
    const [tomorrow] = await overview.summarize([stream(1, 'live')], now - 1500);
    expect(tomorrow!.fragmentsToday).toBe(1);

    now += 30_000;
    const [stale] = await overview.summarize([stream(1, 'live')], T0);
    expect(stale!.state).toBe('IDLE');
  });
});
