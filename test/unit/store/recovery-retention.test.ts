import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqlite, type SqliteDb } from '../../../src/store/sqlite-db.ts';
import { SqliteFragmentIndex } from '../../../src/store/sqlite-fragments.ts';
import { SqliteStreamRepository } from '../../../src/store/sqlite-streams.ts';
import { SegmentMediaStore } from '../../../src/store/segment-store.ts';
import { recoverStorage } from '../../../src/store/recovery.ts';
import { RetentionCleaner } from '../../../src/store/retention.ts';
import { LiveFeed } from '../../../src/store/live-feed.ts';
import { silentLogger } from '../../../src/shared/logger.ts';
import { makeFragmentNumber } from '../../../src/shared/fragment-number.ts';
import type { FragmentRecord } from '../../../src/store/types.ts';
import { streamRecord as baseRecord } from '../../support/stream-record.ts';

let dir: string;
let db: SqliteDb;
let streams: SqliteStreamRepository;
let index: SqliteFragmentIndex;
let media: SegmentMediaStore;

const streamRecord = (name: string, retention: number) => baseRecord(name, { dataRetentionInHours: retention, creationTimeMs: 0 });

async function store(streamId: number, seq: number, serverMs: number, bytes: Buffer): Promise<FragmentRecord> {
  const location = await media.append(streamId, [bytes]);
  const record: FragmentRecord = {
    streamId,
    fragmentNumber: makeFragmentNumber(BigInt(seq), serverMs),
    producerTimestampMs: serverMs,
    serverTimestampMs: serverMs,
    durationMs: 1000,
    sizeBytes: bytes.length,
    headerId: await index.putHeader(streamId, Buffer.from('header')),
    location,
    tags: {},
    flags: 0,
  };
  await index.insert(record);
  return record;
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-store-'));
  db = openSqlite(path.join(dir, 'index.sqlite'));
  streams = new SqliteStreamRepository(db);
  index = new SqliteFragmentIndex(db);
  media = new SegmentMediaStore(path.join(dir, 'media'), { maxSegmentBytes: 3000 });
});
afterEach(async () => {
  await media.close();
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('segment store and index', () => {
  it('appends fragments to shared segment files and reads them back by location', async () => {
    const s = await streams.create(streamRecord('a', 1));
    const recs = [];
    for (let i = 0; i < 5; i++) recs.push(await store(s.id, i + 1, 1000 * i, Buffer.alloc(1000, i)));
    expect((await media.segments(s.id)).length).toBe(2); // 3000-byte segments hold three 1000-byte fragments
    for (const [i, r] of recs.entries()) expect((await media.read(s.id, r.location)).equals(Buffer.alloc(1000, i))).toBe(true);
    expect((await index.after(s.id, recs[1]!.fragmentNumber, 10)).map((r) => r.fragmentNumber)).toEqual(recs.slice(2).map((r) => r.fragmentNumber));
  });
});

describe('recovery', () => {
  it('truncates orphan tails, drops unreferenced segments and rows without bytes, and removes deleted streams', async () => {
    const s = await streams.create(streamRecord('r', 1));
    const a = await store(s.id, 1, 1000, Buffer.alloc(1000, 1));
    const b = await store(s.id, 2, 2000, Buffer.alloc(1000, 2));
    await media.close();
    const segDir = path.join(dir, 'media', String(s.id));
    const seg = path.join(segDir, `${a.location.segment}.seg`);
    fs.appendFileSync(seg, Buffer.alloc(777, 9)); // bytes written but never committed
    fs.writeFileSync(path.join(segDir, '000000000099.seg'), Buffer.alloc(50)); // a segment no row references
    fs.mkdirSync(path.join(dir, 'media', '4242')); // media of a stream that no longer exists
    fs.writeFileSync(path.join(dir, 'media', '4242', '000000000001.seg'), Buffer.alloc(10));

    media = new SegmentMediaStore(path.join(dir, 'media'));
    await recoverStorage({ streams, index, media, log: silentLogger() });
    expect(fs.statSync(seg).size).toBe(2000);
    expect(fs.existsSync(path.join(segDir, '000000000099.seg'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'media', '4242'))).toBe(false);
    expect((await index.after(s.id, undefined, 10)).map((r) => r.fragmentNumber)).toEqual([a.fragmentNumber, b.fragmentNumber]);

    // Bytes lost from under a committed row: the row goes, it is never served broken.
    fs.truncateSync(seg, 1500);
    await recoverStorage({ streams, index, media, log: silentLogger() });
    expect((await index.after(s.id, undefined, 10)).map((r) => r.fragmentNumber)).toEqual([a.fragmentNumber]);
  });
});

describe('recovery with a shared index', () => {
  it('never drops rows whose bytes are not on this node, and still removes media of deleted streams', async () => {
    const mine = await streams.create(streamRecord('mine', 1));
    const a = await store(mine.id, 1, 1000, Buffer.alloc(1000, 1));
    // Another node's stream: rows in the shared index, bytes on that node's disk only.
    const theirs = await streams.create(streamRecord('theirs', 1));
    const remote = { ...a, streamId: theirs.id, location: { segment: '000000000007', offset: 0, length: 5000 } };
    await index.insert(remote);
    // And a row of our stream in a segment of the same name on the other node.
    const remoteOfMine = { ...a, fragmentNumber: makeFragmentNumber(99n, 5000), location: { segment: '000000000042', offset: 0, length: 10 } };
    await index.insert(remoteOfMine);
    await media.close();
    fs.mkdirSync(path.join(dir, 'media', '4242'));
    fs.writeFileSync(path.join(dir, 'media', '4242', '000000000001.seg'), Buffer.alloc(10));

    media = new SegmentMediaStore(path.join(dir, 'media'));
    await recoverStorage({ streams, index, media, log: silentLogger(), sharedIndex: true });
    expect(await index.after(theirs.id, undefined, 10)).toEqual([remote]);
    expect((await index.after(mine.id, undefined, 10)).map((r) => r.fragmentNumber)).toEqual([a.fragmentNumber, remoteOfMine.fragmentNumber]);
    expect(fs.existsSync(path.join(dir, 'media', '4242'))).toBe(false);
  });
});

describe('retention', () => {
  it('drops expired fragments and the segments nothing points into any more', async () => {
    const s = await streams.create(streamRecord('old', 1));
    const hour = 3_600_000;
    for (let i = 0; i < 6; i++) await store(s.id, i + 1, i < 3 ? 0 : 2 * hour, Buffer.alloc(1000, i));
    expect(await media.segments(s.id)).toHaveLength(2);
    let now = 2 * hour + 1000;
    const cleaner = new RetentionCleaner({ streams, index, media, feed: new LiveFeed(), clock: { now: () => now }, intervalMs: 1e9, log: silentLogger() });
    await cleaner.sweep();
    const left = await index.after(s.id, undefined, 10);
    expect(left.map((r) => r.serverTimestampMs)).toEqual([2 * hour, 2 * hour, 2 * hour]);
    // The first segment held only expired fragments; the second is the one being appended to.
    expect(await media.segments(s.id)).toHaveLength(1);
    now = 10 * hour;
    await cleaner.sweep();
    expect(await index.after(s.id, undefined, 10)).toEqual([]);
  });

  it('with a shared index only the leader drops expired rows; a follower frees its own segments once they are unreferenced and quiet', async () => {
    const s = await streams.create(streamRecord('shared', 1));
    const hour = 3_600_000;
    // The follower's quiet check reads the segments' real modification times: a clock 2 minutes ahead.
    const now = Date.now() + 120_000;
    for (let i = 0; i < 6; i++) await store(s.id, i + 1, i < 3 ? now - 2 * hour : now - 600_000, Buffer.alloc(1000, i));
    let leading = false;
    const leader = { isLeader: async () => leading, close: async () => {} };
    const follower = new RetentionCleaner({ streams, index, media, feed: new LiveFeed(), clock: { now: () => now }, intervalMs: 1e9, log: silentLogger(), leader });
    await follower.sweep();
    expect(await index.after(s.id, undefined, 10)).toHaveLength(6);
    expect(await media.segments(s.id)).toHaveLength(2);
    // The leader (here: the same index) drops the rows; the follower then frees the quiet, unreferenced segment.
    leading = true;
    await new RetentionCleaner({ streams, index, media: { ...media, removeSegments: async () => undefined } as unknown as SegmentMediaStore, feed: new LiveFeed(), clock: { now: () => now }, intervalMs: 1e9, log: silentLogger(), leader }).sweep();
    expect(await index.after(s.id, undefined, 10)).toHaveLength(3);
    expect(await media.segments(s.id)).toHaveLength(2);
    leading = false;
    await follower.sweep();
    expect(await media.segments(s.id)).toHaveLength(1);
  });
});
