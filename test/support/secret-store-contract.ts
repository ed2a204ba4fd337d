/**
 * The SecretStore contract, run against every implementation (files in test/unit/store, PostgreSQL in
 * test/integration/pg-work-stores.test.ts). `open` may be called twice per test: two handles on the
 * same storage stand for two nodes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SecretStore } from '../../src/store/secret-store.ts';

export interface SecretSubject {
  /** A new handle on the same storage (another node). */
  another(): SecretStore;
  store: SecretStore;
  close(): Promise<void> | void;
}

export function secretStoreContract(name: string, open: () => Promise<SecretSubject>): void {
  describe(`SecretStore contract: ${name}`, () => {
    let subject: SecretSubject;
    let store: SecretStore;
    beforeEach(async () => {
      subject = await open();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.close();
    });

    it('creates a secret once and returns it ever after, on every handle', async () => {
      let made = 0;
      const gen = () => `secret-${++made}`;
      expect(await store.getOrCreate('webhook-secret', gen)).toBe('secret-1');
      expect(await store.getOrCreate('webhook-secret', gen)).toBe('secret-1');
      expect(await subject.another().getOrCreate('webhook-secret', gen)).toBe('secret-1');
      expect(made).toBe(1);
      expect(await store.getOrCreate('session-secret', () => 'other')).toBe('other');
      expect(store.where('session-secret')).toContain('session-secret');
    });

    it('agrees on one value when several handles create it at the same time', async () => {
      const handles = [store, subject.another(), subject.another(), subject.another()];
      const values = await Promise.all(handles.map((h, i) => h.getOrCreate('session-secret', () => `value-${i}`)));
      expect(new Set(values).size).toBe(1);
      expect(await store.getOrCreate('session-secret', () => 'late')).toBe(values[0]);
    });

    it('replaces a stored value that is not valid', async () => {
      await store.getOrCreate('session-secret', () => 'short');
      const hex = 'ab'.repeat(32);
      expect(await store.getOrCreate('session-secret', () => hex, (v) => /^[0-9a-f]{64}$/.test(v))).toBe(hex);
      expect(await subject.another().getOrCreate('session-secret', () => 'cd'.repeat(32), (v) => /^[0-9a-f]{64}$/.test(v))).toBe(hex);
    });

    it('refuses names that are not plain names', async () => {
      await expect(store.getOrCreate('../etc/passwd', () => 'x')).rejects.toThrow(/bad secret name/);
      expect(() => store.where('a/b')).toThrow(/bad secret name/);
    });
  });
}
