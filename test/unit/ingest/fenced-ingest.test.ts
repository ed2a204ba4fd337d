/**
 * A producer keeps sending to a node whose lease another node has taken over (before this node's
 * next heartbeat notices): the next fragment's index insert is refused by the fence, nothing of
 * it is stored, and the producer gets ERROR 5000 INTERNAL_ERROR, on which KVS producers ask
 * GetDataEndpoint again (src/ingest/README.md, "Stream ownership").
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/config.ts';
import { IngestService } from '../../../src/ingest/ingest-service.ts';
import { silentLogger } from '../../../src/shared/logger.ts';
import { LiveFeed } from '../../../src/store/live-feed.ts';
import { openSqlite } from '../../../src/store/sqlite-db.ts';
import { SqliteFragmentIndex } from '../../../src/store/sqlite-fragments.ts';
import { SqliteStreamLeaseStore } from '../../../src/store/sqlite-leases.ts';
import type { MediaLocation, MediaStore, StreamRecord } from '../../../src/store/types.ts';
import { embeddedOwnership } from '../../support/ownership.ts';
import { mkvCluster, mkvHeader } from '../../support/synthetic-mkv.ts';

const stream = { id: 1, name: 's', dataRetentionInHours: 24, status: 'ACTIVE' } as StreamRecord;

describe('IngestService under a lost lease', () => {
  it('refuses the next fragment of the old epoch and ends the producer with ERROR 5000', async () => {
    const db = openSqlite(':memory:');
    const index = new SqliteFragmentIndex(db);
    const media = { append: async (_id: number, chunks: readonly Buffer[]): Promise<MediaLocation> => ({ segment: 'seg', offset: 0, length: chunks.reduce((n, c) => n + c.length, 0) }) } as unknown as MediaStore;
    const ownership = embeddedOwnership({ db, nodeId: 'node-a' });
    const otherNode = new SqliteStreamLeaseStore(db);
    const ingest = new IngestService({ ownership, index, media, feed: new LiveFeed(), clock: { now: () => Date.now() }, limits: defaultConfig().ingest, log: silentLogger(), currentStream: async () => stream });

    const acks: Array<{ EventType: string; ErrorId?: number; ErrorCode?: string; FragmentNumber?: string }> = [];
    let persistedOnce!: () => void;
    const firstPersisted = new Promise<void>((resolve) => (persistedOnce = resolve));
    const session = await ingest.open(stream, { timecodeType: 'ABSOLUTE', producerStartMs: undefined }, {
      write: (a: string) => {
        const ack = JSON.parse(a) as (typeof acks)[number];
        acks.push(ack);
        if (ack.EventType === 'PERSISTED') persistedOnce();
      },
      end: () => {},
    });
    const body = Readable.from((async function* () {
      yield Buffer.concat([mkvHeader(), mkvCluster({ timecode: 0 })]);
      await firstPersisted;
      // Node B takes the stream over (node A's lease ran out while it stalled).
      db.prepare('UPDATE stream_leases SET expires_at = ? WHERE stream_id = ?').run(Date.now() - 1, stream.id);
      expect(await otherNode.acquire(stream.id, 'node-b')).toMatchObject({ nodeId: 'node-b' });
      yield mkvCluster({ timecode: 1000 });
      yield mkvCluster({ timecode: 2000 });
    })());
    await ingest.run(stream, session, body);

    expect(acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(1);
    expect(acks.at(-1)).toMatchObject({ EventType: 'ERROR', ErrorId: 5000, ErrorCode: 'INTERNAL_ERROR' });
    const stored = await index.after(stream.id, undefined, 10);
    expect(stored.map((f) => f.fragmentNumber)).toEqual([acks.find((a) => a.EventType === 'PERSISTED')!.FragmentNumber]);
    expect(ownership.peek(stream.id)?.owned).toBe(false);
    db.close();
  });
});
