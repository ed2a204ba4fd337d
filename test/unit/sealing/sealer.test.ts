/**
 * Sealer, reindex and the tiered read path on the real embedded stores (SQLite index, segment files)
 * with the folder ObjectStore; the same code runs against Ceph RGW in test/integration/media-s3.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqlite, type SqliteDb } from '../../../src/store/sqlite-db.ts';
import { SqliteFragmentIndex } from '../../../src/store/sqlite-fragments.ts';
import { SqliteStreamRepository } from '../../../src/store/sqlite-streams.ts';
import { SegmentMediaStore } from '../../../src/store/segment-store.ts';
import { FolderObjectStore } from '../../../src/store/objects/folder-object-store.ts';
import { TieredMediaStore } from '../../../src/store/objects/tiered-media-store.ts';
import { recoverStorage } from '../../../src/store/recovery.ts';
import { Sealer } from '../../../src/sealing/sealer.ts';
import { reindexFromObjects } from '../../../src/sealing/reindex.ts';
import { silentLogger } from '../../../src/shared/logger.ts';
import { makeFragmentNumber } from '../../../src/shared/fragment-number.ts';
import type { FragmentRecord, StreamRecord } from '../../../src/store/types.ts';
import { streamRecord } from '../../support/stream-record.ts';

let dir: string;
let db: SqliteDb;
let streams: SqliteStreamRepository;
let index: SqliteFragmentIndex;
let local: SegmentMediaStore;
let objects: FolderObjectStore;
let clock: number;

const HEADER_A = Buffer.from('header-a');
const HEADER_B = Buffer.from('header-b, another codec');

async function store(stream: StreamRecord, seq: number, bytes: Buffer, header = HEADER_A): Promise<FragmentRecord> {
  const location = await local.append(stream.id, [bytes.subarray(0, 3), bytes.subarray(3)]);
  const record: FragmentRecord = {
    streamId: stream.id,
    fragmentNumber: makeFragmentNumber(BigInt(seq), 1_700_000_000_000 + seq * 1000),
    producerTimestampMs: 1_700_000_000_000 + seq * 1000,
    serverTimestampMs: 1_700_000_000_100 + seq * 1000,
    durationMs: 1000,
    sizeBytes: bytes.length,
    headerId: await index.putHeader(stream.id, header),
    location,
    tags: seq === 1 ? { camera: 'porch' } : {},
    flags: 0,
  };
  await index.insert(record);
  return record;
}

function sealer(): Sealer {
  return new Sealer({ streams, index, local, objects, prefix: 'site', intervalMs: 1000, now: () => clock, log: silentLogger() });
}

const segmentFiles = (streamId: number): string[] => fs.readdirSync(path.join(dir, 'media', String(streamId)));

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-sealer-'));
  db = openSqlite(path.join(dir, 'index.sqlite'));
  streams = new SqliteStreamRepository(db);
  index = new SqliteFragmentIndex(db);
  local = new SegmentMediaStore(path.join(dir, 'media'));
  objects = new FolderObjectStore(path.join(dir, 'bucket'));
  clock = Date.now();
});
afterEach(async () => {
  await local.close();
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('sealer', () => {
  it('uploads the open segment as one object per header run, records object locations, then drops the quiet local segment', async () => {
    const stream = await streams.create(streamRecord('cam', { dataRetentionInHours: 24 }));
    const bodies = [Buffer.alloc(500, 1), Buffer.alloc(700, 2), Buffer.alloc(300, 3)];
    const records = [await store(stream, 1, bodies[0]!), await store(stream, 2, bodies[1]!), await store(stream, 3, bodies[2]!, HEADER_B)];
    const s = sealer();
    await s.tick();

    const keys: string[] = [];
    for await (const o of objects.list('site/streams/cam/')) keys.push(o.key);
    expect(keys).toEqual([
      `site/streams/cam/0000000000/${records[0]!.fragmentNumber}-${records[1]!.fragmentNumber}.mkv`,
      `site/streams/cam/0000000000/${records[2]!.fragmentNumber}-${records[2]!.fragmentNumber}.mkv`,
    ]);
    expect(s.stats()).toMatchObject({ objectsUploaded: 2, fragmentsSealed: 3, uploadFailures: 0 });
    for (const [i, r] of records.entries()) {
      const row = await index.get(stream.id, r.fragmentNumber);
      expect(row!.location.object?.key).toBe(keys[i < 2 ? 0 : 1]);
    }
    // Sealed rows no longer count as local: recovery would not cut them, nor the segment name reuse.
    expect(await index.committedEnds(stream.id)).toEqual(new Map());

    expect(segmentFiles(stream.id)).toHaveLength(1);
    clock += 2500; // two intervals without writes
    await s.tick();
    expect(segmentFiles(stream.id)).toEqual([]);
    expect(s.stats().localSegmentsRemoved).toBe(1);

    // Reads now come from the objects, byte-identical, through the cache.
    const tiered = new TieredMediaStore(local, objects, 1200);
    for (const [i, r] of records.entries()) {
      const row = (await index.get(stream.id, r.fragmentNumber))!;
      expect(await tiered.read(stream.id, row.location)).toEqual(bodies[i]);
    }
    const row0 = (await index.get(stream.id, records[0]!.fragmentNumber))!;
    expect(await tiered.read(stream.id, row0.location)).toEqual(bodies[0]);
    // 500 + 700 fit in 1200 bytes; the 300-byte read evicts the oldest; re-reading fragment 1 misses again.
    expect(tiered.cacheStats()).toMatchObject({ hits: 0, misses: 4, evictions: 2, maxBytes: 1200 });
    expect(tiered.cacheStats().bytes).toBeLessThanOrEqual(1200);
    expect(await tiered.read(stream.id, row0.location)).toEqual(bodies[0]);
    expect(tiered.cacheStats().hits).toBe(1);

    // Recovery after a restart leaves the sealed rows alone although no local segment holds them.
    await recoverStorage({ streams, index, media: local, log: silentLogger() });
    expect(await index.after(stream.id, undefined, 10)).toHaveLength(3);
  });

  it('does not upload a segment whose bytes are not all committed in the index yet', async () => {
    const stream = await streams.create(streamRecord('cam', { dataRetentionInHours: 24 }));
    await store(stream, 1, Buffer.alloc(100, 1));
    await local.append(stream.id, [Buffer.alloc(50, 9)]); // bytes whose row has not committed
    const s = sealer();
    await s.tick();
    expect(s.stats().objectsUploaded).toBe(0);
    expect((await index.after(stream.id, undefined, 10))[0]!.location.object).toBeUndefined();
  });

  it('an upload whose index update was lost is claimed again, and an object of another writer is not', async () => {
    const stream = await streams.create(streamRecord('cam', { dataRetentionInHours: 24 }));
    const r = await store(stream, 1, Buffer.alloc(100, 1));
    await sealer().tick();
    // Forget the object location (a crash between PUT and index update).
    db.prepare('UPDATE fragments SET object_key = NULL, object_offset = NULL').run();
    const again = sealer();
    await again.tick();
    expect(again.stats()).toMatchObject({ objectsUploaded: 0, fragmentsSealed: 1, keyConflicts: 0 });
    expect((await index.get(stream.id, r.fragmentNumber))!.location.object).toBeDefined();

    const other = await store(stream, 2, Buffer.alloc(100, 2));
    const key = `site/streams/cam/0000000000/${other.fragmentNumber}-${other.fragmentNumber}.mkv`;
    await objects.putIfAbsent(key, Buffer.from('someone else'));
    const third = sealer();
    await third.tick();
    expect(third.stats()).toMatchObject({ keyConflicts: 1, fragmentsSealed: 0 });
    expect((await index.get(stream.id, other.fragmentNumber))!.location.object).toBeUndefined();
  });
});

describe('reindex', () => {
  it('rebuilds streams and fragment rows from the objects alone; a second run adds nothing', async () => {
    const stream = await streams.create(streamRecord('cam', { dataRetentionInHours: 48 }));
    const bodies = [Buffer.alloc(400, 4), Buffer.alloc(600, 5)];
    const records = [await store(stream, 1, bodies[0]!), await store(stream, 2, bodies[1]!, HEADER_B)];
    await objects.putIfAbsent('site/streams/junk.mkv', Buffer.from('not sealed'));
    await sealer().tick();

    const db2 = openSqlite(path.join(dir, 'rebuilt.sqlite'));
    try {
      const streams2 = new SqliteStreamRepository(db2);
      const index2 = new SqliteFragmentIndex(db2);
      const report = await reindexFromObjects({ objects, prefix: 'site', streams: streams2, index: index2, log: silentLogger() });
      expect(report).toMatchObject({ objects: 3, fragmentsAdded: 2, fragmentsKnown: 0, streamsCreated: ['cam'] });
      expect(report.skipped.map((s) => s.key)).toEqual(['site/streams/junk.mkv']);
      const rebuilt = (await streams2.getByName('cam'))!;
      expect(rebuilt).toMatchObject({ arn: stream.arn, dataRetentionInHours: 48, status: 'ACTIVE' });
      const rows = await index2.after(rebuilt.id, undefined, 10);
      const strip = (f: FragmentRecord) => ({ ...f, streamId: 0, headerId: 0, location: { length: f.location.length, object: f.location.object } });
      const original = await Promise.all(records.map(async (r) => strip((await index.get(stream.id, r.fragmentNumber))!)));
      expect(rows.map(strip)).toEqual(original);
      expect(await index2.getHeader(rows[1]!.headerId)).toEqual(HEADER_B);
      const tiered = new TieredMediaStore(local, objects, 0);
      expect(await tiered.read(rebuilt.id, rows[1]!.location)).toEqual(bodies[1]);
      expect(tiered.cacheStats()).toMatchObject({ bytes: 0, misses: 1 });

      const second = await reindexFromObjects({ objects, prefix: 'site', streams: streams2, index: index2, log: silentLogger() });
      expect(second).toMatchObject({ fragmentsAdded: 0, fragmentsKnown: 2, streamsCreated: [] });
    } finally {
      db2.close();
    }
  });
});

describe('sealer with a failing object store', () => {
  it('counts the failed upload, keeps the fragments local and uploads them at the next pass', async () => {
    const stream = await streams.create(streamRecord('cam', { dataRetentionInHours: 24 }));
    const r = await store(stream, 1, Buffer.alloc(100, 1));
    let down = true;
    const flaky = Object.create(objects) as FolderObjectStore;
    flaky.putIfAbsent = (key, body) => (down ? Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })) : objects.putIfAbsent(key, body));
    const s = new Sealer({ streams, index, local, objects: flaky, prefix: 'site', intervalMs: 1000, now: () => clock, log: silentLogger() });
    await s.tick();
    expect(s.stats()).toMatchObject({ uploadFailures: 1, fragmentsSealed: 0 });
    expect((await index.get(stream.id, r.fragmentNumber))!.location.object).toBeUndefined();
    expect(await local.read(stream.id, r.location)).toEqual(Buffer.alloc(100, 1));
    down = false;
    await s.tick();
    expect(s.stats()).toMatchObject({ uploadFailures: 1, fragmentsSealed: 1, objectsUploaded: 1 });
    expect((await index.get(stream.id, r.fragmentNumber))!.location.object).toBeDefined();
  });
});

describe('sealer shutdown', () => {
  it('gives up the final upload after the flush timeout when the store hangs', async () => {
    const stream = await streams.create(streamRecord('cam', { dataRetentionInHours: 24 }));
    const r = await store(stream, 1, Buffer.alloc(100, 1));
    const hanging = Object.create(objects) as FolderObjectStore;
    hanging.putIfAbsent = () => new Promise(() => undefined);
    const s = new Sealer({ streams, index, local, objects: hanging, prefix: 'site', intervalMs: 1000, now: () => clock, log: silentLogger() });
    await s.stop({ flush: true, flushTimeoutMs: 200 });
    // The fragment stays local (readable, not marked sealed) for the next start to upload.
    expect((await index.get(stream.id, r.fragmentNumber))!.location.object).toBeUndefined();
    expect(await local.read(stream.id, r.location)).toEqual(Buffer.alloc(100, 1));
  });
});

describe('object retention', () => {
  it('deletes objects older than the stream retention + 1 h by their own time, leaves unknown streams, and DeleteStream empties a stream', async () => {
    const short = await streams.create(streamRecord('short', { dataRetentionInHours: 1 }));
    const long = await streams.create(streamRecord('long', { dataRetentionInHours: 24 }));
    await store(short, 1, Buffer.alloc(10, 1));
    await store(long, 2, Buffer.alloc(10, 2));
    await sealer().tick();
    await objects.putIfAbsent('site/streams/unknown/0000000000/x.mkv', Buffer.from('x'));
    const keys = async (): Promise<string[]> => {
      const out: string[] = [];
      for await (const o of objects.list('site/streams/')) out.push(o.key.split('/')[2]!);
      return out;
    };
    expect(await keys()).toEqual(['long', 'short', 'unknown']);

    const s = sealer();
    clock += 90 * 60_000; // 1.5 h: within 1 h retention + 1 h margin
    await s.deleteExpiredObjects();
    expect(await keys()).toEqual(['long', 'short', 'unknown']);
    clock += 60 * 60_000; // 2.5 h
    await s.deleteExpiredObjects();
    expect(await keys()).toEqual(['long', 'unknown']);
    expect(s.stats().objectsDeleted).toBe(1);

    await s.deleteStreamObjects('long');
    expect(await keys()).toEqual(['unknown']);
  });
});
