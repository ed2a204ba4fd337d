/**
 * The DetectConfigOverrides contract, run against every implementation (SQLite and memory in
 * test/unit/detect, PostgreSQL in test/integration/pg-work-stores.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DetectConfigOverrides } from '../../src/detect/detect-config-store.ts';

export interface DetectConfigSubject {
  store: DetectConfigOverrides;
  close(): Promise<void> | void;
}

export function detectConfigStoreContract(name: string, open: () => Promise<DetectConfigSubject>): void {
  describe(`DetectConfigOverrides contract: ${name}`, () => {
    let subject: DetectConfigSubject;
    let store: DetectConfigOverrides;
    beforeEach(async () => {
      subject = await open();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.close();
    });

    it('sets, replaces, reads and deletes one override per stream', async () => {
      expect(await store.get('cam')).toBeUndefined();
      await store.set('cam', { scoreThreshold: 0.7, sampling: 'keyframes', zones: [{ name: 'door', polygon: [[0, 0], [1, 0], [1, 1]] }] } as never);
      await store.set('yard', { enabled: false });
      expect(await store.get('cam')).toEqual({ scoreThreshold: 0.7, sampling: 'keyframes', zones: [{ name: 'door', polygon: [[0, 0], [1, 0], [1, 1]] }] });
      await store.set('cam', { endAfterMs: 1500 });
      expect(await store.get('cam')).toEqual({ endAfterMs: 1500 });
      expect(await store.get('yard')).toEqual({ enabled: false });
      expect(await store.delete('cam')).toBe(true);
      expect(await store.delete('cam')).toBe(false);
      expect(await store.get('cam')).toBeUndefined();
      expect(await store.get('yard')).toEqual({ enabled: false });
    });

    it('returns a copy: changing what get returned changes nothing stored', async () => {
      await store.set('cam', { scoreThreshold: 0.5 });
      const got = await store.get('cam');
      got!.scoreThreshold = 0.1;
      expect(await store.get('cam')).toEqual({ scoreThreshold: 0.5 });
    });
  });
}
