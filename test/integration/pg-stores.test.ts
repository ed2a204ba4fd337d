/**
 * The store contracts on the PostgreSQL implementations (the SQLite run: test/unit/store/sqlite-contracts.test.ts,
 * test/unit/auth/sqlite-identity-store.test.ts), plus what only the shared index has: group-committed
 * inserts, the shared server-key check and `kestrel migrate`.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';
import { openPgPool } from '../../src/store/pg/pg-pool.ts';
import { PgStreamRepository } from '../../src/store/pg/pg-streams.ts';
import { MAX_QUEUED_ROWS, PgFragmentIndex } from '../../src/store/pg/pg-fragments.ts';
import { PgIdentityStore, checkSharedServerKey } from '../../src/auth/pg-identity-store.ts';
import { PgSessionStore } from '../../src/auth/pg-session-store.ts';
import { makeFragmentNumber } from '../../src/shared/fragment-number.ts';
import { loadMigrations } from '../../src/store/pg/migrate.ts';
import { migrate as migrateCommand } from '../../src/cli/migrate.ts';
import { streamRepositoryContract } from '../support/stream-repository-contract.ts';
import { fragmentIndexContract } from '../support/fragment-index-contract.ts';
import { sessionStoreContract } from '../support/session-store-contract.ts';
import { identityStoreContract } from '../support/identity-store-contract.ts';
import { mediaLocationIndexContract } from '../support/media-location-index-contract.ts';
import { streamRecord } from '../support/stream-record.ts';

let db: Promise<TestDatabase> | undefined;
/** A second pool on the same database: another node's connections. */
let secondPool: pg.Pool | undefined;
const database = () => (db ??= createTestDatabase());

afterAll(async () => {
  await secondPool?.end();
  await (await db)?.drop();
});

/** Every contract test starts from empty tables of the one migrated database of this file. */
async function emptied(): Promise<TestDatabase> {
  const d = await database();
  await d.pool.query('TRUNCATE streams, fragments, mkv_headers, kestrel_users, kestrel_access_keys, kestrel_sessions');
  return d;
}

streamRepositoryContract('postgres', async () => {
  const d = await emptied();
  secondPool ??= openPgPool(d.url, { max: 3 });
  const pool = secondPool;
  return { repo: new PgStreamRepository(d.pool), another: () => new PgStreamRepository(pool), close: () => undefined };
});

fragmentIndexContract('postgres', async () => {
  const index = new PgFragmentIndex((await emptied()).pool);
  return { index, close: () => index.close() };
});

sessionStoreContract('postgres', async () => ({ store: new PgSessionStore((await emptied()).pool), close: () => undefined }));

identityStoreContract('postgres', async () => ({ store: new PgIdentityStore((await emptied()).pool, randomBytes(32)), close: () => undefined }));

mediaLocationIndexContract('postgres', async () => {
  const d = await emptied();
  const stream = await new PgStreamRepository(d.pool).create(streamRecord('cam'));
  const index = new PgFragmentIndex(d.pool);
  return { index, streamId: stream.id, close: () => index.close() };
});

describe('PostgreSQL index specifics', () => {
  it('group-commits concurrent fragment inserts: a burst of 200 goes out in a few multi-row statements', async () => {
    const index = new PgFragmentIndex((await emptied()).pool);
    const header = await index.putHeader(1, Buffer.from('h'));
    const rows = Array.from({ length: 200 }, (_, i) => ({
      streamId: 1,
      fragmentNumber: makeFragmentNumber(BigInt(i), 1_765_000_000_000 + i),
      producerTimestampMs: i,
      serverTimestampMs: i,
      durationMs: 1,
      sizeBytes: 1,
      headerId: header,
      location: { segment: 's', offset: i, length: 1 },
      tags: {},
      flags: 0,
    }));
    await Promise.all(rows.map((f) => index.insert(f)));
    expect(index.stats.rows).toBe(200);
    expect(index.stats.batches).toBeLessThanOrEqual(3);
    expect((await index.after(1, undefined, 500)).length).toBe(200);
  });

  it('bounds the insert queue while PostgreSQL stalls: the excess is refused at once, the rest commits when it returns', async () => {
    const d = await emptied();
    const index = new PgFragmentIndex(d.pool);
    const locker = await d.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE fragments IN ACCESS EXCLUSIVE MODE');
      const frag = (i: number) => ({
        streamId: 1, fragmentNumber: makeFragmentNumber(BigInt(i), 1_765_000_000_000), producerTimestampMs: i, serverTimestampMs: i, durationMs: 1,
        sizeBytes: 1, headerId: 1, location: { segment: 's', offset: i, length: 1 }, tags: {}, flags: 0,
      });
      // The first insert is in flight (blocked by the lock); the queue behind it fills up.
      const accepted = Array.from({ length: MAX_QUEUED_ROWS + 1 }, (_, i) => index.insert(frag(i)));
      await expect(index.insert(frag(MAX_QUEUED_ROWS + 1))).rejects.toThrow(/queue full/);
      expect(index.stats.refusedQueueFull).toBe(1);
      await locker.query('COMMIT');
      await Promise.all(accepted);
      expect(index.stats.rows).toBe(MAX_QUEUED_ROWS + 1);
    } finally {
      locker.release();
    }
  });

  it('refuses a node whose server key differs from the one the index was written with', async () => {
    const d = await database();
    const key = randomBytes(32);
    await checkSharedServerKey(d.pool, key);
    await checkSharedServerKey(d.pool, Buffer.from(key));
    await expect(checkSharedServerKey(d.pool, randomBytes(32))).rejects.toThrow(/KESTREL_SERVER_KEY/);
  });

  it('`kestrel migrate --index URL` creates the schema on an empty database and reports it up to date after', async () => {
    const fresh = await createTestDatabase({ migrated: false });
    try {
      const lines: string[] = [];
      await migrateCommand(['--index', fresh.url], {}, (l) => lines.push(l));
      const all = loadMigrations();
      expect(lines.slice(0, -1)).toEqual(all.map((m) => `applied ${String(m.version).padStart(4, '0')} ${m.name}`));
      expect(lines.at(-1)).toContain(`schema version ${all.at(-1)!.version}`);
      const again: string[] = [];
      await migrateCommand([], { KESTREL_INDEX_URL: fresh.url }, (l) => again.push(l));
      expect(again).toEqual([expect.stringContaining('(already up to date)')]);
      await expect(migrateCommand([], {})).rejects.toThrow(/--index/);
    } finally {
      await fresh.drop();
    }
  });
});
