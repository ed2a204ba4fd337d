/**
 * The PostgreSQL fence trigger (migration 0006): a fragment row whose number carries an epoch other
 * than the stream's current lease epoch is refused by the database itself, whatever index code
 * inserts it; streams without a lease and explicit bulk imports pass.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EpochCounter, makeFragmentNumber } from '../../src/shared/fragment-number.ts';
import { PgStreamLeaseStore, STALE_FENCE_SQLSTATE } from '../../src/store/pg/pg-leases.ts';
import { inTransaction } from '../../src/store/pg/pg-pool.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

let db: TestDatabase;
let leases: PgStreamLeaseStore;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query('CREATE TABLE probe_fragments (stream_id bigint NOT NULL, fragment_number text COLLATE "C" NOT NULL, PRIMARY KEY (stream_id, fragment_number))');
  await db.pool.query("SELECT kestrel_install_fragment_fence('probe_fragments')");
  leases = new PgStreamLeaseStore(db.pool);
});
afterAll(async () => {
  await db.drop();
});

const insert = (streamId: number, fragmentNumber: string) => db.pool.query('INSERT INTO probe_fragments VALUES ($1, $2)', [streamId, fragmentNumber]);

describe('PostgreSQL fence trigger', () => {
  it('decodes the epoch of a fragment number exactly', async () => {
    const n = new EpochCounter(16_777_215).number(Date.now());
    const { rows } = await db.pool.query('SELECT kestrel_fragment_epoch($1)::text AS epoch', [n]);
    expect(rows[0].epoch).toBe('16777215');
  });

  it('refuses rows of an old epoch after a takeover and accepts the new owner\'s', async () => {
    const first = (await leases.acquire(1, 'node-a'))!;
    const oldOwner = new EpochCounter(first.epoch);
    await insert(1, oldOwner.number(1));
    await db.pool.query("UPDATE stream_leases SET expires_at = now() - interval '1 millisecond' WHERE stream_id = 1");
    const second = (await leases.acquire(1, 'node-b'))!;
    await expect(insert(1, oldOwner.number(2))).rejects.toMatchObject({ code: STALE_FENCE_SQLSTATE });
    await insert(1, new EpochCounter(second.epoch).number(3));
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM probe_fragments WHERE stream_id = 1');
    expect(rows[0].n).toBe(2);
  });

  it('lets streams without a lease and explicit imports through', async () => {
    await insert(2, makeFragmentNumber(BigInt(1_765_000_000_000) * 1024n, 1_765_000_000_000)); // numbered before leases
    await leases.acquire(3, 'node-a');
    const legacy = makeFragmentNumber(5n, 1);
    await expect(insert(3, legacy)).rejects.toMatchObject({ code: STALE_FENCE_SQLSTATE });
    await inTransaction(db.pool, async (c) => {
      await c.query("SET LOCAL kestrel.fence = 'off'");
      await c.query('INSERT INTO probe_fragments VALUES ($1, $2)', [3, legacy]);
    });
  });
});
