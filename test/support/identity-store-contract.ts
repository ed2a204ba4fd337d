/**
 * The IdentityStore contract, as a suite any implementation runs (SQLite now, PostgreSQL later):
 * `identityStoreContract('sqlite', async () => ({ store, close }))`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IdentityStore } from '../../src/auth/types.ts';

export interface ContractSubject {
  store: IdentityStore;
  close(): Promise<void> | void;
}

export function identityStoreContract(name: string, open: () => Promise<ContractSubject>): void {
  describe(`IdentityStore contract: ${name}`, () => {
    let subject: ContractSubject;
    let store: IdentityStore;
    beforeEach(async () => {
      subject = await open();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.close();
    });

    it('creates, lists, gets and deletes users', async () => {
      expect(await store.listUsers()).toEqual([]);
      const alice = await store.createUser({ name: 'alice', role: 'viewer', password: 'correct horse' });
      expect(alice).toMatchObject({ name: 'alice', role: 'viewer', hasPassword: true });
      await store.createUser({ name: 'bob', role: 'operator' });
      expect((await store.listUsers()).map((u) => [u.name, u.role, u.hasPassword])).toEqual([['alice', 'viewer', true], ['bob', 'operator', false]]);
      expect(await store.getUser('nobody')).toBeUndefined();
      await expect(store.createUser({ name: 'alice', role: 'admin' })).rejects.toMatchObject({ code: 'exists' });
      expect(await store.deleteUser('alice')).toBe(true);
      expect(await store.deleteUser('alice')).toBe(false);
      expect(await store.getUser('alice')).toBeUndefined();
    });

    it('refuses bad names, roles, short passwords and producers without a scope', async () => {
      await expect(store.createUser({ name: '../x', role: 'viewer' })).rejects.toMatchObject({ code: 'invalid' });
      await expect(store.createUser({ name: 'x', role: 'root' as never })).rejects.toMatchObject({ code: 'invalid' });
      await expect(store.createUser({ name: 'x', role: 'viewer', password: 'short' })).rejects.toMatchObject({ code: 'invalid' });
      await expect(store.createUser({ name: 'x', role: 'producer' })).rejects.toMatchObject({ code: 'invalid' });
      await expect(store.createUser({ name: 'x', role: 'producer', producerScope: ['*'] })).rejects.toMatchObject({ code: 'invalid' });
      expect(await store.listUsers()).toEqual([]);
    });

    it('verifies passwords and changes them, roles and producer scopes', async () => {
      await store.createUser({ name: 'carol', role: 'viewer', password: 'first-password' });
      expect(await store.verifyPassword('carol', 'first-password')).toMatchObject({ name: 'carol' });
      expect(await store.verifyPassword('carol', 'wrong-password')).toBeUndefined();
      expect(await store.verifyPassword('nobody', 'first-password')).toBeUndefined();
      await store.updateUser('carol', { password: 'second-password' });
      expect(await store.verifyPassword('carol', 'first-password')).toBeUndefined();
      expect(await store.verifyPassword('carol', 'second-password')).toBeDefined();
      await expect(store.updateUser('carol', { role: 'producer' })).rejects.toMatchObject({ code: 'invalid' });
      expect(await store.updateUser('carol', { role: 'producer', producerScope: ['cam-1', 'garage-*'] })).toMatchObject({ role: 'producer', producerScope: ['cam-1', 'garage-*'] });
      const back = await store.updateUser('carol', { role: 'operator' });
      expect(back.role).toBe('operator');
      expect(back.producerScope).toBeUndefined();
      await expect(store.updateUser('nobody', { role: 'viewer' })).rejects.toMatchObject({ code: 'not-found' });
    });

    it('issues access keys, looks them up with their secret, lists them without and revokes them', async () => {
      await store.createUser({ name: 'dave', role: 'producer', producerScope: ['cam-*'] });
      const k1 = await store.createAccessKey('dave');
      expect(k1.accessKeyId).toMatch(/^[A-Z0-9]{20}$/);
      expect(k1.secretAccessKey.length).toBeGreaterThanOrEqual(40);
      const k2 = await store.createAccessKey('dave', { accessKeyId: 'AKIDFIXED0001', secretAccessKey: 'fixed-secret-1' });
      const found = await store.lookupAccessKey(k1.accessKeyId);
      expect(found).toMatchObject({ secretAccessKey: k1.secretAccessKey, user: { name: 'dave', role: 'producer', producerScope: ['cam-*'] } });
      const listed = await store.listAccessKeys('dave');
      expect(listed.map((k) => k.accessKeyId).sort()).toEqual([k1.accessKeyId, k2.accessKeyId].sort());
      expect(JSON.stringify(listed)).not.toContain(k1.secretAccessKey);
      // The same id again replaces the secret (bootstrap rotates the root key this way).
      await store.createAccessKey('dave', { accessKeyId: 'AKIDFIXED0001', secretAccessKey: 'fixed-secret-2' });
      expect((await store.lookupAccessKey('AKIDFIXED0001'))?.secretAccessKey).toBe('fixed-secret-2');
      // A role change shows in the next lookup (implementations that cache must drop the entry).
      await store.updateUser('dave', { role: 'viewer' });
      expect((await store.lookupAccessKey(k1.accessKeyId))?.user).toMatchObject({ role: 'viewer' });
      expect(await store.revokeAccessKey(k1.accessKeyId)).toBe(true);
      expect(await store.revokeAccessKey(k1.accessKeyId)).toBe(false);
      expect(await store.lookupAccessKey(k1.accessKeyId)).toBeUndefined();
      await expect(store.createAccessKey('nobody')).rejects.toMatchObject({ code: 'not-found' });
    });

    it('deleting a user removes its keys', async () => {
      await store.createUser({ name: 'erin', role: 'admin' });
      const k = await store.createAccessKey('erin');
      await store.deleteUser('erin');
      expect(await store.lookupAccessKey(k.accessKeyId)).toBeUndefined();
      expect(await store.listAccessKeys()).toEqual([]);
    });
  });
}
