/**
 * Two nodes' StreamOwnership on one lease store (embedded SQLite file, and PostgreSQL): who may
 * produce, where GetDataEndpoint sends producers, takeover after expiry with higher fragment
 * numbers whatever the clocks say, the old owner's producer ended and its index inserts refused.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StreamOwnership } from '../../src/ingest/stream-ownership.ts';
import type { PutMediaSession } from '../../src/ingest/put-media-session.ts';
import { epochOf } from '../../src/shared/fragment-number.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { StaleFenceError, type LeaseFence, type StreamLeaseStore } from '../../src/store/leases.ts';
import { assertFence, PgStreamLeaseStore } from '../../src/store/pg/pg-leases.ts';
import { inTransaction } from '../../src/store/pg/pg-pool.ts';
import { openSqlite } from '../../src/store/sqlite-db.ts';
import { SqliteFragmentIndex } from '../../src/store/sqlite-fragments.ts';
import { SqliteStreamLeaseStore } from '../../src/store/sqlite-leases.ts';
import type { StreamRecord } from '../../src/store/types.ts';
import { createTestDatabase } from '../support/pg.ts';

interface Backend {
  a: StreamLeaseStore;
  b: StreamLeaseStore;
  expire(streamId: number): Promise<void>;
  /** A fenced fragment insert as the index does it; rejects with StaleFenceError when stale. */
  fencedInsert(streamId: number, fragmentNumber: string, fence: LeaseFence): Promise<void>;
  close(): Promise<void>;
}

const backends: Record<string, () => Promise<Backend>> = {
  sqlite: async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-own-'));
    const file = path.join(dir, 'index.sqlite');
    const dbA = openSqlite(file);
    const dbB = openSqlite(file);
    const index = new SqliteFragmentIndex(dbA, file); // the writer thread checks fences in its commit
    return {
      a: new SqliteStreamLeaseStore(dbA),
      b: new SqliteStreamLeaseStore(dbB),
      expire: async (id) => void dbA.prepare('UPDATE stream_leases SET expires_at = ? WHERE stream_id = ?').run(Date.now() - 1, id),
      fencedInsert: (streamId, fragmentNumber, fence) =>
        index.insert({ streamId, fragmentNumber, producerTimestampMs: 0, serverTimestampMs: 0, durationMs: 1, sizeBytes: 1, headerId: 1, location: { segment: 's', offset: 0, length: 1 }, tags: {}, flags: 0 }, fence),
      close: async () => {
        await index.close();
        dbA.close();
        dbB.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  postgresql: async () => {
    const db = await createTestDatabase();
    await db.pool.query('CREATE TABLE probe_fragments (stream_id bigint, fragment_number text, PRIMARY KEY (stream_id, fragment_number))');
    return {
      a: new PgStreamLeaseStore(db.pool),
      b: new PgStreamLeaseStore(db.pool),
      expire: async (id) => void (await db.pool.query("UPDATE stream_leases SET expires_at = now() - interval '1 millisecond' WHERE stream_id = $1", [id])),
      fencedInsert: (streamId, fragmentNumber, fence) =>
        inTransaction(db.pool, async (c) => {
          await assertFence(c, streamId, fence);
          await c.query('INSERT INTO probe_fragments VALUES ($1, $2)', [streamId, fragmentNumber]);
        }),
      close: () => db.drop(),
    };
  },
};

const stream = (id: number): StreamRecord => ({ id, name: `cam-${id}` }) as StreamRecord;
const fakeSession = () => {
  const aborted: string[] = [];
  return { session: { abort: (e: Error) => aborted.push(e.message) } as unknown as PutMediaSession, aborted };
};

for (const [name, open] of Object.entries(backends)) {
  describe(`stream ownership across two nodes (${name})`, () => {
    let be: Backend;
    let nodeA: StreamOwnership;
    let nodeB: StreamOwnership;
    let clockA = Date.now();
    beforeEach(async () => {
      be = await open();
      clockA = Date.now();
      const common = { latestFragmentNumber: async () => undefined, log: silentLogger() };
      nodeA = new StreamOwnership({ ...common, leases: be.a, nodeId: 'node-a', publicUrl: () => 'http://a.example:8080', clock: { now: () => clockA } });
      nodeB = new StreamOwnership({ ...common, leases: be.b, nodeId: 'node-b', publicUrl: () => 'http://b.example:8080', clock: { now: () => Date.now() } });
      await nodeA.start();
      await nodeB.start();
    });
    afterEach(async () => {
      await nodeA.stop();
      await nodeB.stop();
      await be.close();
    });

    it('lets one node own a stream; the other answers InvalidEndpointException and GetDataEndpoint points at the owner', async () => {
      const owner = await nodeA.claim(stream(1));
      expect(owner.owned).toBe(true);
      await expect(nodeB.claim(stream(1))).rejects.toMatchObject({ kvsName: 'InvalidEndpointException', status: 400 });
      expect(await nodeB.dataEndpoint(1, 'PUT_MEDIA')).toBe('http://a.example:8080');
      expect(await nodeB.dataEndpoint(1, 'GET_MEDIA')).toBe('http://a.example:8080');
      expect(await nodeA.dataEndpoint(1, 'PUT_MEDIA')).toBe('http://a.example:8080');
    });

    it('sends PUT_MEDIA for an unowned stream to the least-loaded live node, other APIs to the asking node', async () => {
      await nodeA.claim(stream(1));
      await nodeA.claim(stream(2));
      expect(await nodeA.dataEndpoint(3, 'PUT_MEDIA')).toBe('http://b.example:8080');
      expect(await nodeA.dataEndpoint(3, 'LIST_FRAGMENTS')).toBe('http://a.example:8080');
      await nodeB.claim(stream(3));
      await nodeB.claim(stream(4));
      await nodeB.claim(stream(5));
      expect(await nodeB.dataEndpoint(6, 'PUT_MEDIA')).toBe('http://a.example:8080');
    });

    it('hands an expired stream to the other node: higher numbers whatever the clocks, old producer ended, old inserts refused', async () => {
      const ownerA = await nodeA.claim(stream(1));
      const { session, aborted } = fakeSession();
      ownerA.attach(session, clockA);
      clockA += 3_600_000; // node A's clock runs an hour ahead
      const fromA = [ownerA.numberFragment(clockA), ownerA.numberFragment(clockA)];
      const fenceA = ownerA.fence!;
      await be.fencedInsert(1, fromA[0]!, fenceA);

      await be.expire(1); // node A stalls past its lease
      const ownerB = await nodeB.claim(stream(1));
      const fromB = ownerB.numberFragment(Date.now() - 3_600_000); // and node B's clock an hour behind
      expect(fromB > fromA[1]!).toBe(true);
      expect(epochOf(fromB)).toBe(epochOf(fromA[1]!) + 1);

      await expect(be.fencedInsert(1, fromA[1]!, fenceA)).rejects.toBeInstanceOf(StaleFenceError);
      await be.fencedInsert(1, fromB, ownerB.fence!);

      await nodeA.tick();
      expect(nodeA.leasesLost).toBe(1);
      expect(aborted).toHaveLength(1);
      expect(aborted[0]).toMatch(/GetDataEndpoint/);
      expect(ownerA.owned).toBe(false);
      expect(() => ownerA.numberFragment(clockA)).toThrow(/no longer owns/);
      await expect(nodeA.claim(stream(1))).rejects.toMatchObject({ kvsName: 'InvalidEndpointException' });
      expect(await nodeA.dataEndpoint(1, 'PUT_MEDIA')).toBe('http://b.example:8080');
    });

    it('gives an idle stream up after the linger, so the other node can take it at once', async () => {
      const ownerA = await nodeA.claim(stream(1));
      const { session } = fakeSession();
      ownerA.attach(session, clockA);
      ownerA.detach(session, clockA);
      await nodeA.tick();
      expect(ownerA.owned).toBe(true); // still within the linger
      clockA += be.a.ttlMs;
      await nodeA.tick();
      expect(ownerA.owned).toBe(false);
      const ownerB = await nodeB.claim(stream(1));
      expect(ownerB.lease?.epoch).toBe(2);
    });

    it('releases every lease and leaves the node list on stop', async () => {
      await nodeA.claim(stream(1));
      await nodeA.stop();
      expect((await be.b.liveNodes()).map((n) => n.nodeId)).toEqual(['node-b']);
      expect((await nodeB.claim(stream(1))).lease?.nodeId).toBe('node-b');
    });
  });
}
