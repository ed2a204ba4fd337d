/**
 * Node-scoped recovery (issue 10 item 6): with an index shared by several nodes, a restarting node
 * touches only its own local log. Rows pointing at segments it cannot see belong to other nodes and
 * survive; media of streams that no longer exist is still removed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqlite, type SqliteDb } from '../../../src/store/sqlite-db.ts';
import { SqliteFragmentIndex } from '../../../src/store/sqlite-fragments.ts';
import { SqliteStreamRepository } from '../../../src/store/sqlite-streams.ts';
import { SegmentMediaStore } from '../../../src/store/segment-store.ts';
import { recoverStorage } from '../../../src/store/recovery.ts';
import { silentLogger } from '../../../src/shared/logger.ts';
import { EpochCounter } from '../../../src/shared/fragment-number.ts';
import type { FragmentRecord } from '../../../src/store/types.ts';
import { streamRecord } from '../../support/stream-record.ts';

let dir: string;
let db: SqliteDb;
let streams: SqliteStreamRepository;
let index: SqliteFragmentIndex;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-scope-'));
  db = openSqlite(path.join(dir, 'index.sqlite'));
  streams = new SqliteStreamRepository(db);
  index = new SqliteFragmentIndex(db);
});
afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const row = (streamId: number, fragmentNumber: string, segment: string): FragmentRecord => ({
  streamId, fragmentNumber, producerTimestampMs: 0, serverTimestampMs: 0, durationMs: 1000, sizeBytes: 100, headerId: 1,
  location: { segment, offset: 0, length: 100 }, tags: {}, flags: 0,
});

describe('recovery with a shared index', () => {
  it('never deletes rows for segments this node cannot see, and still removes local media of deleted streams', async () => {
    const s = await streams.create(streamRecord('shared', { dataRetentionInHours: 1 }));
    const otherNode = new EpochCounter(3);
    // Rows another node wrote: their segments live on that node's disk, not on ours.
    const foreign = [row(s.id, otherNode.number(1), '000000000001'), row(s.id, otherNode.number(2), '000000000002')];
    for (const r of foreign) await index.insert(r);
    const media = new SegmentMediaStore(path.join(dir, 'media'));
    await media.append(s.id, [Buffer.alloc(40)]); // our own log holds a little of the stream too
    fs.mkdirSync(path.join(dir, 'media', '4242')); // media of a stream deleted while we were down
    fs.writeFileSync(path.join(dir, 'media', '4242', '000000000001.seg'), Buffer.alloc(10));
    await media.close();

    const local = new SegmentMediaStore(path.join(dir, 'media'));
    await recoverStorage({ streams, index, media: local, log: silentLogger(), sharedIndex: true });
    expect((await index.after(s.id, undefined, 10)).map((r) => r.fragmentNumber)).toEqual(foreign.map((r) => r.fragmentNumber));
    expect(fs.existsSync(path.join(dir, 'media', '4242'))).toBe(false);

    // The embedded single node (not shared) keeps today's rule: rows whose bytes are gone are dropped.
    await recoverStorage({ streams, index, media: local, log: silentLogger() });
    expect(await index.after(s.id, undefined, 10)).toEqual([]);
    await local.close();
  });
});
