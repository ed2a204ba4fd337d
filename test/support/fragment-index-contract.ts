/**
 * The FragmentIndex contract (fragments, MKV headers, recovery queries), as a suite every
 * implementation runs (SQLite, PostgreSQL): `fragmentIndexContract('sqlite', async () => ({ index, close }))`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeFragmentNumber } from '../../src/shared/fragment-number.ts';
import type { FragmentIndex, FragmentRecord } from '../../src/store/types.ts';

export interface FragmentIndexSubject {
  index: FragmentIndex;
  close(): Promise<void> | void;
}

const T0 = 1_765_000_000_000;

/** Fragment `seq` of a stream: 1 s long, server time T0 + seq s, producer time 100 s earlier. */
function fragment(streamId: number, seq: number, headerId: number, extra: Partial<FragmentRecord> = {}): FragmentRecord {
  return {
    streamId,
    fragmentNumber: makeFragmentNumber(BigInt(T0) * 1024n + BigInt(seq), T0 + seq * 1000),
    producerTimestampMs: T0 - 100_000 + seq * 1000,
    serverTimestampMs: T0 + seq * 1000,
    durationMs: 1000,
    sizeBytes: 1000 + seq,
    headerId,
    location: { segment: String(Math.floor(seq / 10)).padStart(12, '0'), offset: (seq % 10) * 2000, length: 1500 },
    tags: {},
    flags: 0,
    ...extra,
  };
}

export function fragmentIndexContract(name: string, open: () => Promise<FragmentIndexSubject>): void {
  describe(`FragmentIndex contract: ${name}`, () => {
    let subject: FragmentIndexSubject;
    let index: FragmentIndex;
    let header: number;
    const insertAll = (fs: FragmentRecord[]) => Promise.all(fs.map((f) => index.insert(f)));
    beforeEach(async () => {
      subject = await open();
      index = subject.index;
      header = await index.putHeader(1, Buffer.from('header of stream 1'));
    });
    afterEach(async () => {
      await subject.close();
    });

    it('stores each header once per stream and returns its bytes', async () => {
      const bytes = Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0, 255, 10]);
      const id = await index.putHeader(1, bytes);
      expect(await index.putHeader(1, Buffer.from(bytes))).toBe(id);
      const other = await index.putHeader(2, bytes);
      expect(other).not.toBe(id);
      expect((await index.getHeader(id)).equals(bytes)).toBe(true);
      expect((await index.getHeader(header)).toString()).toBe('header of stream 1');
      await expect(index.getHeader(987_654)).rejects.toThrow();
    });

    it('commits concurrent inserts and reads them back in fragment-number order', async () => {
      const fs = Array.from({ length: 120 }, (_, i) => fragment(1, i, header, i === 7 ? { tags: { plate: 'AB-123', 'ü': '✓' }, flags: 3 } : {}));
      // Out of order on purpose: the index orders by number, not by arrival.
      await insertAll([...fs].reverse());
      expect(await index.get(1, fs[7]!.fragmentNumber)).toEqual(fs[7]);
      expect(await index.get(1, '0'.repeat(47))).toBeUndefined();
      expect(await index.get(2, fs[7]!.fragmentNumber)).toBeUndefined();
      expect((await index.after(1, undefined, 1000)).map((f) => f.fragmentNumber)).toEqual(fs.map((f) => f.fragmentNumber));
      expect(await index.after(1, fs[9]!.fragmentNumber, 3)).toEqual(fs.slice(10, 13));
      expect(await index.after(1, fs.at(-1)!.fragmentNumber, 3)).toEqual([]);
      expect(await index.latest(1)).toEqual(fs.at(-1));
      expect(await index.latest(2)).toBeUndefined();
    });

    it('orders by number even where the number of digits of the sequence grows', async () => {
      const low = fragment(1, 0, header, { fragmentNumber: makeFragmentNumber(9n, T0) });
      const high = fragment(1, 1, header, { fragmentNumber: makeFragmentNumber(10n, T0) });
      const higher = fragment(1, 2, header, { fragmentNumber: makeFragmentNumber(123_456_789_012n, T0) });
      await insertAll([higher, low, high]);
      expect((await index.after(1, undefined, 10)).map((f) => f.fragmentNumber)).toEqual([low, high, higher].map((f) => f.fragmentNumber));
    });

    it('refuses a duplicate fragment number without failing the fragments committed with it', async () => {
      const fs = Array.from({ length: 6 }, (_, i) => fragment(1, i, header));
      await index.insert(fs[0]!);
      const results = await Promise.allSettled([...fs.slice(1, 3), { ...fs[0]!, sizeBytes: 1 }, ...fs.slice(3)].map((f) => index.insert(f)));
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
      expect(await index.get(1, fs[0]!.fragmentNumber)).toEqual(fs[0]);
      expect((await index.after(1, undefined, 100)).length).toBe(6);
    });

    it('finds the fragment at an instant (containing, else the next) on both clocks', async () => {
      const fs = [0, 1, 2, 5].map((i) => fragment(1, i, header));
      await insertAll(fs);
      expect(await index.atTimestamp(1, 'SERVER_TIMESTAMP', T0 + 1500)).toEqual(fs[1]);
      expect(await index.atTimestamp(1, 'SERVER_TIMESTAMP', T0 + 3500)).toEqual(fs[3]);
      expect(await index.atTimestamp(1, 'SERVER_TIMESTAMP', T0 + 9000)).toBeUndefined();
      expect(await index.atTimestamp(1, 'PRODUCER_TIMESTAMP', T0 - 100_000 + 2999)).toEqual(fs[2]);
      expect(await index.atTimestamp(1, 'PRODUCER_TIMESTAMP', 0)).toEqual(fs[0]);
    });

    it('lists a time range with a cursor and a limit', async () => {
      const fs = Array.from({ length: 10 }, (_, i) => fragment(1, i, header));
      await insertAll(fs);
      const q = { streamId: 1, kind: 'SERVER_TIMESTAMP' as const, startMs: T0 + 2000, endMs: T0 + 7000, limit: 3 };
      const page1 = await index.range(q);
      expect(page1).toEqual(fs.slice(2, 5));
      expect(await index.range({ ...q, afterFragmentNumber: page1.at(-1)!.fragmentNumber, limit: 10 })).toEqual(fs.slice(5, 8));
      expect(await index.range({ ...q, kind: 'PRODUCER_TIMESTAMP', startMs: T0 - 100_000, endMs: T0 - 99_000, limit: 10 })).toEqual(fs.slice(0, 2));
      expect(await index.range({ ...q, streamId: 2 })).toEqual([]);
    });

    it('deletes by age and by stream, headers included', async () => {
      await insertAll(Array.from({ length: 10 }, (_, i) => fragment(1, i, header)));
      const h2 = await index.putHeader(2, Buffer.from('h2'));
      await index.insert(fragment(2, 0, h2));
      expect(await index.deleteOlderThan(1, T0 + 4000)).toBe(4);
      expect((await index.after(1, undefined, 100)).length).toBe(6);
      await index.deleteStream(1);
      expect(await index.after(1, undefined, 100)).toEqual([]);
      await expect(index.getHeader(header)).rejects.toThrow();
      expect((await index.after(2, undefined, 100)).length).toBe(1);
      expect((await index.getHeader(h2)).toString()).toBe('h2');
    });

    it('reports committed ends per segment and drops rows beyond a valid length', async () => {
      await insertAll(Array.from({ length: 15 }, (_, i) => fragment(1, i, header)));
      expect(await index.committedEnds(1)).toEqual(new Map([['000000000000', 9 * 2000 + 1500], ['000000000001', 4 * 2000 + 1500]]));
      expect(await index.committedEnds(2)).toEqual(new Map());
      expect(await index.deleteBeyond(1, '000000000001', 2 * 2000 + 1500)).toBe(2);
      expect(await index.deleteBeyond(1, '000000000000', 0)).toBe(10);
      expect((await index.after(1, undefined, 100)).length).toBe(3);
    });
  });
}
