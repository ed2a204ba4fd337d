/**
 * The SessionStore contract, as a suite every implementation runs (SQLite, PostgreSQL):
 * `sessionStoreContract('sqlite', async () => ({ store, close }))`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SessionRecord, SessionStore } from '../../src/auth/session-store.ts';

export interface SessionStoreSubject {
  store: SessionStore;
  close(): Promise<void> | void;
}

const T0 = 1_765_000_000_000;
const session = (id: string, user: string, createdAt = T0, lastSeenAt = createdAt): SessionRecord => ({
  idHash: id.padEnd(64, '0'),
  user,
  csrfToken: `csrf-${id}`,
  createdAt,
  lastSeenAt,
});

export function sessionStoreContract(name: string, open: () => Promise<SessionStoreSubject>): void {
  describe(`SessionStore contract: ${name}`, () => {
    let subject: SessionStoreSubject;
    let store: SessionStore;
    beforeEach(async () => {
      subject = await open();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.close();
    });

    it('inserts, gets, touches and deletes a session', async () => {
      const s = session('a1', 'alice');
      await store.insert(s);
      expect(await store.get(s.idHash)).toEqual(s);
      expect(await store.get('ff'.repeat(32))).toBeUndefined();
      await store.touch(s.idHash, T0 + 5_000);
      expect((await store.get(s.idHash))?.lastSeenAt).toBe(T0 + 5_000);
      await expect(store.insert(s)).rejects.toThrow();
      await store.delete(s.idHash);
      expect(await store.get(s.idHash)).toBeUndefined();
      await store.delete(s.idHash);
    });

    it('counts per user and in total, and ends every session of a user', async () => {
      await store.insert(session('a1', 'alice'));
      await store.insert(session('a2', 'alice'));
      await store.insert(session('b1', 'bob'));
      expect(await store.count()).toBe(3);
      expect(await store.count('alice')).toBe(2);
      expect(await store.count('nobody')).toBe(0);
      expect(await store.deleteUser('alice')).toBe(2);
      expect(await store.deleteUser('alice')).toBe(0);
      expect(await store.count()).toBe(1);
    });

    it('removes sessions idle too long or too old', async () => {
      await store.insert(session('fresh', 'u', T0, T0 + 9_000));
      await store.insert(session('idle', 'u', T0, T0 + 1_000));
      await store.insert(session('old', 'u', T0 - 50_000, T0 + 9_500));
      expect(await store.deleteExpired(T0 + 5_000, T0 - 10_000)).toBe(2);
      expect(await store.get(session('fresh', 'u').idHash)).toBeDefined();
      expect(await store.count()).toBe(1);
    });

    it('removes the least recently used sessions, of one user or of anyone', async () => {
      for (let i = 0; i < 4; i++) await store.insert(session(`a${i}`, 'alice', T0, T0 + i * 1000));
      await store.insert(session('b0', 'bob', T0, T0 - 1000));
      expect(await store.deleteLeastRecent(0)).toBe(0);
      expect(await store.deleteLeastRecent(2, 'alice')).toBe(2);
      expect(await store.get(session('a0', 'alice').idHash)).toBeUndefined();
      expect(await store.get(session('a2', 'alice').idHash)).toBeDefined();
      expect(await store.deleteLeastRecent(1)).toBe(1);
      expect(await store.get(session('b0', 'bob').idHash)).toBeUndefined();
      expect(await store.count()).toBe(2);
    });
  });
}
