/**
 * The StreamLeaseStore contract, run against every implementation (embedded SQLite, PostgreSQL):
 * two stores on one backing database act as two nodes. `expire(streamId)` makes the stream's
 * lease run out as time passing would (a fake clock for SQLite, the row's expiry for PostgreSQL).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StreamLeaseStore } from '../../src/store/leases.ts';

export interface LeaseContractSubject {
  /** Two nodes' views of the same lease tables. */
  a: StreamLeaseStore;
  b: StreamLeaseStore;
  expire(streamId: number): Promise<void>;
  close(): Promise<void>;
}

export function leaseStoreContract(name: string, open: () => Promise<LeaseContractSubject>): void {
  describe(`StreamLeaseStore contract: ${name}`, () => {
    let s: LeaseContractSubject;
    beforeEach(async () => {
      s = await open();
    });
    afterEach(async () => {
      await s.close();
    });

    it('gives a free stream to the first node and refuses a second one while the lease lives', async () => {
      const lease = await s.a.acquire(1, 'node-a');
      expect(lease).toMatchObject({ streamId: 1, nodeId: 'node-a', epoch: 1 });
      expect(lease!.expiresAtMs).toBeGreaterThan(Date.now() - 60_000);
      expect(await s.b.acquire(1, 'node-b')).toBeUndefined();
      expect(await s.b.holder(1)).toMatchObject({ nodeId: 'node-a', epoch: 1 });
      expect(await s.b.holder(2)).toBeUndefined();
    });

    it('starts a new epoch on every acquisition, also when the holder re-acquires (a restarted node)', async () => {
      const first = await s.a.acquire(1, 'node-a');
      const again = await s.a.acquire(1, 'node-a');
      expect(again!.epoch).toBe(first!.epoch + 1);
      expect(await s.a.isCurrent(1, { nodeId: 'node-a', epoch: first!.epoch })).toBe(false);
      expect(await s.a.isCurrent(1, { nodeId: 'node-a', epoch: again!.epoch })).toBe(true);
    });

    it('lets exactly one of two racing nodes win each stream', async () => {
      const streams = Array.from({ length: 20 }, (_, i) => 100 + i);
      const results = await Promise.all(streams.map((id) => Promise.all([s.a.acquire(id, 'node-a'), s.b.acquire(id, 'node-b')])));
      for (const [i, [fromA, fromB]] of results.entries()) {
        expect([fromA, fromB].filter(Boolean)).toHaveLength(1);
        const winner = (fromA ?? fromB)!;
        expect(winner.epoch).toBe(1);
        expect(await s.a.holder(streams[i]!)).toMatchObject({ nodeId: winner.nodeId, epoch: 1 });
      }
    });

    it('hands an expired lease to another node at a higher epoch; the old holder can no longer renew or release it', async () => {
      const old = (await s.a.acquire(1, 'node-a'))!;
      await s.expire(1);
      expect(await s.a.holder(1)).toBeUndefined();
      const taken = await s.b.acquire(1, 'node-b');
      expect(taken).toMatchObject({ nodeId: 'node-b', epoch: old.epoch + 1 });
      expect(await s.a.renew('node-a', [{ streamId: 1, epoch: old.epoch }])).toEqual([]);
      expect(await s.a.release(1, 'node-a', old.epoch)).toBe(false);
      expect(await s.a.isCurrent(1, { nodeId: 'node-a', epoch: old.epoch })).toBe(false);
      expect(await s.a.isCurrent(1, { nodeId: 'node-b', epoch: taken!.epoch })).toBe(true);
      expect(await s.a.acquire(1, 'node-a')).toBeUndefined();
    });

    it('refuses a stale token: renewing or releasing with an old epoch changes nothing', async () => {
      const first = (await s.a.acquire(1, 'node-a'))!;
      const second = (await s.a.acquire(1, 'node-a'))!;
      expect(await s.a.renew('node-a', [{ streamId: 1, epoch: first.epoch }])).toEqual([]);
      expect(await s.a.release(1, 'node-a', first.epoch)).toBe(false);
      expect(await s.b.renew('node-b', [{ streamId: 1, epoch: second.epoch }])).toEqual([]);
      expect(await s.b.holder(1)).toMatchObject({ nodeId: 'node-a', epoch: second.epoch });
    });

    it('renews every lease a node still holds in one call, leaving out the ones taken over', async () => {
      const held = [];
      for (const id of [1, 2, 3]) held.push(await s.a.acquire(id, 'node-a'));
      await s.expire(2);
      await s.b.acquire(2, 'node-b');
      await s.expire(3); // expired but nobody took it: the epoch is still ours, renewal is safe
      const renewed = await s.a.renew('node-a', held.map((l) => ({ streamId: l!.streamId, epoch: l!.epoch })));
      expect(renewed.map((l) => l.streamId).sort()).toEqual([1, 3]);
      expect(await s.b.holder(3)).toMatchObject({ nodeId: 'node-a' });
      expect(await s.a.renew('node-a', [])).toEqual([]);
    });

    it('frees a released lease at once; the next owner continues above the released epoch', async () => {
      const lease = (await s.a.acquire(1, 'node-a'))!;
      expect(await s.a.release(1, 'node-a', lease.epoch)).toBe(true);
      expect(await s.b.holder(1)).toBeUndefined();
      expect(await s.b.acquire(1, 'node-b')).toMatchObject({ nodeId: 'node-b', epoch: lease.epoch + 1 });
    });

    it('starts at the given floor epoch (streams numbered before leases existed) and never goes below it', async () => {
      expect(await s.a.acquire(1, 'node-a', { minEpoch: 30_000 })).toMatchObject({ epoch: 30_000 });
      expect(await s.a.acquire(1, 'node-a', { minEpoch: 5 })).toMatchObject({ epoch: 30_001 });
      expect(await s.a.acquire(1, 'node-a', { minEpoch: 40_000 })).toMatchObject({ epoch: 40_000 });
    });

    it('lists live nodes least loaded first, with the streams they hold; a node that leaves frees its streams', async () => {
      await s.a.heartbeat({ nodeId: 'node-a', publicUrl: 'http://a.example:8080', ingestBytesPerSec: 100 });
      await s.b.heartbeat({ nodeId: 'node-b', publicUrl: 'http://b.example:8080', ingestBytesPerSec: 500 });
      expect((await s.a.liveNodes()).map((n) => [n.nodeId, n.streams])).toEqual([['node-a', 0], ['node-b', 0]]);
      await s.a.acquire(1, 'node-a');
      await s.a.acquire(2, 'node-a');
      const nodes = await s.b.liveNodes();
      expect(nodes.map((n) => [n.nodeId, n.streams])).toEqual([['node-b', 0], ['node-a', 2]]);
      expect((await s.b.liveLeases()).map((l) => [l.streamId, l.nodeId])).toEqual([[1, 'node-a'], [2, 'node-a']]);
      expect(nodes[1]).toMatchObject({ publicUrl: 'http://a.example:8080', ingestBytesPerSec: 100 });
      await s.a.heartbeat({ nodeId: 'node-a', publicUrl: 'http://a2.example:8080', ingestBytesPerSec: 0 });
      expect((await s.b.liveNodes()).find((n) => n.nodeId === 'node-a')?.publicUrl).toBe('http://a2.example:8080');
      await s.a.leave('node-a');
      expect((await s.b.liveNodes()).map((n) => n.nodeId)).toEqual(['node-b']);
      expect(await s.b.holder(1)).toBeUndefined();
      expect(await s.b.liveLeases()).toEqual([]);
      expect(await s.b.acquire(1, 'node-b')).toMatchObject({ nodeId: 'node-b', epoch: 2 });
    });

    it('remembers which node acquired each epoch, also after ownership moved on', async () => {
      const first = (await s.a.acquire(1, 'node-a'))!;
      await s.expire(1);
      const second = (await s.b.acquire(1, 'node-b'))!;
      expect(await s.b.epochNode(1, first.epoch)).toBe('node-a');
      expect(await s.a.epochNode(1, second.epoch)).toBe('node-b');
      expect(await s.a.epochNode(1, second.epoch + 1)).toBeUndefined();
      expect(await s.a.acquire(1, 'node-a')).toBeUndefined(); // a refused acquisition records nothing
      expect(await s.a.epochNode(1, second.epoch + 1)).toBeUndefined();
    });

    it('forgets a deleted stream', async () => {
      await s.a.acquire(1, 'node-a');
      await s.a.forget(1);
      expect(await s.b.epochNode(1, 1)).toBeUndefined();
      expect(await s.b.holder(1)).toBeUndefined();
      expect(await s.b.acquire(1, 'node-b')).toMatchObject({ epoch: 1 });
    });
  });
}
