/**
 * Fragments of one PutMedia session are persisted concurrently, and their fsyncs can finish in any
 * order. Readers resume after a fragment number (index cursors, live-feed subscribers, GetMedia
 * continuation tokens), so a later fragment that became visible first would hide the ones before
 * it. Index rows and live-feed publications must therefore come in fragment order whatever order
 * the media store finishes in.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/config.ts';
import { IngestService } from '../../../src/ingest/ingest-service.ts';
import { silentLogger } from '../../../src/shared/logger.ts';
import { LiveFeed } from '../../../src/store/live-feed.ts';
import type { FragmentIndex, FragmentRecord, MediaLocation, MediaStore, StreamRecord } from '../../../src/store/types.ts';
import { mkvClusters, mkvHeader } from '../../support/synthetic-mkv.ts';
import { embeddedOwnership } from '../../support/ownership.ts';

const stream = { id: 1, name: 's', dataRetentionInHours: 24, status: 'ACTIVE' } as StreamRecord;

describe('IngestService persistence order', () => {
  it('commits index rows and publishes to the live feed in fragment order when fsyncs finish out of order', async () => {
    // The first fragment's append is the slowest, the second the next slowest…: the reverse order.
    const delays = [120, 80, 40, 0];
    let appends = 0;
    const media = {
      append: async (_id: number, chunks: readonly Buffer[]): Promise<MediaLocation> => {
        const delay = delays[appends++] ?? 0;
        await new Promise((r) => setTimeout(r, delay));
        return { segment: 'seg', offset: 0, length: chunks.reduce((n, c) => n + c.length, 0) };
      },
    } as unknown as MediaStore;
    const inserted: string[] = [];
    const index = {
      latest: async () => undefined,
      putHeader: async () => 1,
      insert: async (r: FragmentRecord) => void inserted.push(r.fragmentNumber),
    } as unknown as FragmentIndex;
    const feed = new LiveFeed();
    const published: string[] = [];
    feed.subscribe(stream.id, (f) => published.push(f.record.fragmentNumber));
    const acks: string[] = [];
    const ingest = new IngestService({
      ownership: embeddedOwnership(),
      index,
      media,
      feed,
      clock: { now: () => Date.now() },
      limits: defaultConfig().ingest,
      log: silentLogger(),
      currentStream: async () => stream,
    });
    const session = await ingest.open(stream, { timecodeType: 'ABSOLUTE', producerStartMs: undefined }, { write: (a: string) => void acks.push(a), end: () => {} } as never);
    const body = Buffer.concat([mkvHeader(), ...mkvClusters(4, 1_700_000_000_000)]);
    await ingest.run(stream, session, Readable.from([body]));

    const persisted = acks.map((a) => JSON.parse(a) as { EventType: string; FragmentNumber: string }).filter((a) => a.EventType === 'PERSISTED').map((a) => a.FragmentNumber);
    expect(persisted).toHaveLength(4);
    expect([...persisted].sort()).toEqual(persisted);
    expect(inserted).toEqual(persisted);
    expect(published).toEqual(persisted);
  });
});
