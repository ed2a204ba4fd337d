/**
 * The housekeeping leader on PostgreSQL: of several nodes exactly one leads; when it closes, or its
 * connection dies (a crashed node), another takes the lead at its next check.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgHousekeepingLeader } from '../../src/store/leader.ts';
import { openPgPool } from '../../src/store/pg/pg-pool.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';
import { until } from '../support/wait.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

describe('housekeeping leader (PostgreSQL advisory lock)', () => {
  it('one of three nodes leads; the lead moves on a clean close and when the leader’s connection dies', async () => {
    const pools = [openPgPool(db.url, { max: 2 }), openPgPool(db.url, { max: 2 }), openPgPool(db.url, { max: 2 })];
    const nodes = pools.map((p) => new PgHousekeepingLeader(p));
    try {
      const first = await Promise.all(nodes.map((n) => n.isLeader()));
      expect(first.filter(Boolean)).toHaveLength(1);
      const a = first.indexOf(true);
      expect(await nodes[a]!.isLeader()).toBe(true); // keeps it

      await nodes[a]!.close();
      const rest = nodes.filter((_, i) => i !== a);
      const second = await Promise.all(rest.map((n) => n.isLeader()));
      expect(second.filter(Boolean)).toHaveLength(1);
      const b = rest[second.indexOf(true)]!;
      const c = rest[second.indexOf(false)]!;

      // The leader's node crashes: PostgreSQL ends its session and frees the lock.
      await db.pool.query("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()");
      await until(async () => await c.isLeader(), 'another node takes the lead', 10_000);
      expect(await b.isLeader()).toBe(false);
    } finally {
      for (const n of nodes) await n.close();
      for (const p of pools) await p.end();
    }
  });
});
