import { describe, expect, it } from 'vitest';
import { LiveFeedSource } from '../../../src/detect/live-feed-source.ts';
import { LiveFeed, TAIL_CACHE } from '../../../src/store/live-feed.ts';
import { ReaderQueueStats } from '../../../src/store/reader-queue.ts';
import type { FragmentRecord } from '../../../src/store/types.ts';
import { mkvCluster, mkvHeader } from '../../support/synthetic-mkv.ts';
import { until } from '../../support/wait.ts';

describe('LiveFeedSource reader queue', () => {
  it('holds at most maxQueueBytes for a detector that lags; what does not fit is skipped and counted', async () => {
    const feed = new LiveFeed();
    const rec = (n: number): FragmentRecord => ({ streamId: 7, fragmentNumber: `9${String(n).padStart(4, '0')}`, producerTimestampMs: n * 1000, serverTimestampMs: Date.now(), durationMs: 1000, sizeBytes: 1000, headerId: 1, location: {} as never, tags: {}, flags: 0 });
    const stats = new ReaderQueueStats();
    const src = new LiveFeedSource({ feed, streamId: () => 7, maxQueueBytes: 5000, queueStats: stats });
    const ac = new AbortController();
    const got: string[] = [];
    let release: (() => void) | undefined;
    const blocked = new Promise<void>((r) => (release = r));
    const reading = (async () => {
      for await (const f of src.fragments('cam', {}, ac.signal)) {
        got.push(f.fragmentNumber);
        if (got.length === 1) await blocked; // the detector is busy with the first fragment
        if (got.length === 6) ac.abort();
      }
    })();
    feed.publish({ record: rec(0), header: mkvHeader(), body: mkvCluster({ timecode: 0 }) }, TAIL_CACHE);
    await until(() => got.length === 1, 'first fragment taken', 5000);
    for (let n = 1; n <= 20; n++) {
      feed.publish({ record: rec(n), header: mkvHeader(), body: mkvCluster({ timecode: n * 1000 }) }, TAIL_CACHE);
      expect(stats.queuedBytes).toBeLessThanOrEqual(5000);
    }
    expect(stats).toMatchObject({ queuedBytes: 5000, discardedItems: 15, overflowedReaders: 1 });
    release!();
    feed.publish({ record: rec(21), header: mkvHeader(), body: mkvCluster({ timecode: 21_000 }) }, TAIL_CACHE);
    await reading;
    // It resumed with what fit (1-5) and skipped what did not.
    expect(got).toEqual(['90000', '90001', '90002', '90003', '90004', '90005']);
    expect(stats.queuedBytes).toBe(0);
  });
});
