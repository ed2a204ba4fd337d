/**
 * The MediaLocationIndex contract (what the sealer needs of a fragment index), as a suite every
 * index implementation runs: SQLite now, PostgreSQL with migration 0007_media_locations.
 * `mediaLocationIndexContract('sqlite', async () => ({ index, streamId, close }))`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeFragmentNumber } from '../../src/shared/fragment-number.ts';
import type { FragmentIndex, FragmentRecord, MediaLocationIndex } from '../../src/store/types.ts';

export interface MediaLocationIndexSubject {
  index: FragmentIndex & MediaLocationIndex;
  /** A stream that exists in the subject's stream table. */
  streamId: number;
  close(): Promise<void> | void;
}

export function mediaLocationIndexContract(name: string, open: () => Promise<MediaLocationIndexSubject>): void {
  describe(`MediaLocationIndex contract: ${name}`, () => {
    let subject: MediaLocationIndexSubject;
    let index: FragmentIndex & MediaLocationIndex;
    let headerId: number;
    beforeEach(async () => {
      subject = await open();
      index = subject.index;
      headerId = await index.putHeader(subject.streamId, Buffer.from('header'));
    });
    afterEach(async () => {
      await subject.close();
    });

    async function add(seq: number, segment: string, offset: number, length: number): Promise<FragmentRecord> {
      const f: FragmentRecord = {
        streamId: subject.streamId,
        fragmentNumber: makeFragmentNumber(BigInt(seq), 1_700_000_000_000 + seq),
        producerTimestampMs: 1_700_000_000_000 + seq,
        serverTimestampMs: 1_700_000_000_000 + seq,
        durationMs: 1000,
        sizeBytes: length,
        headerId,
        location: { segment, offset, length },
        tags: {},
        flags: 0,
      };
      await index.insert(f);
      return f;
    }

    it('lists a segment\'s local fragments in byte order, and forgets them once sealed', async () => {
      const a = await add(1, '000000000001', 0, 100);
      const b = await add(2, '000000000001', 100, 50);
      await add(3, '000000000002', 0, 70);
      expect((await index.localFragmentsInSegment(subject.streamId, '000000000001')).map((f) => f.fragmentNumber)).toEqual([a.fragmentNumber, b.fragmentNumber]);
      expect(await index.committedEnds(subject.streamId)).toEqual(new Map([['000000000001', 150], ['000000000002', 70]]));

      await index.markSealed(subject.streamId, [
        { fragmentNumber: a.fragmentNumber, object: { key: 'p/streams/cam/0000000000/x.mkv', offset: 30 } },
        { fragmentNumber: b.fragmentNumber, object: { key: 'p/streams/cam/0000000000/x.mkv', offset: 130 } },
      ]);
      expect(await index.localFragmentsInSegment(subject.streamId, '000000000001')).toEqual([]);
      expect(await index.committedEnds(subject.streamId)).toEqual(new Map([['000000000002', 70]]));
      const sealed = await index.get(subject.streamId, b.fragmentNumber);
      expect(sealed!.location).toEqual({ segment: '000000000001', offset: 100, length: 50, object: { key: 'p/streams/cam/0000000000/x.mkv', offset: 130 } });
      expect((await index.after(subject.streamId, undefined, 10)).map((f) => f.location.object?.offset)).toEqual([30, 130, undefined]);
    });

    it('keeps sealed rows when a segment of the same name is cut back or lost (the name may be reused)', async () => {
      const a = await add(1, '000000000001', 0, 100);
      await index.markSealed(subject.streamId, [{ fragmentNumber: a.fragmentNumber, object: { key: 'k.mkv', offset: 0 } }]);
      const b = await add(2, '000000000001', 0, 80);
      expect(await index.deleteBeyond(subject.streamId, '000000000001', 0)).toBe(1);
      expect(await index.get(subject.streamId, a.fragmentNumber)).toBeDefined();
      expect(await index.get(subject.streamId, b.fragmentNumber)).toBeUndefined();
    });

    it('marking is idempotent and ignores unknown fragments', async () => {
      const a = await add(1, '000000000001', 0, 100);
      const sealed = [{ fragmentNumber: a.fragmentNumber, object: { key: 'k.mkv', offset: 5 } }];
      await index.markSealed(subject.streamId, sealed);
      await index.markSealed(subject.streamId, sealed);
      await index.markSealed(subject.streamId, [{ fragmentNumber: makeFragmentNumber(99n, 1), object: { key: 'other.mkv', offset: 0 } }]);
      expect((await index.get(subject.streamId, a.fragmentNumber))!.location.object).toEqual({ key: 'k.mkv', offset: 5 });
      expect(await index.after(subject.streamId, undefined, 10)).toHaveLength(1);
    });
  });
}
