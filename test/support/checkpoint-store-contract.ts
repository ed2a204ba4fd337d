/**
 * The detection CheckpointStore contract, run against every implementation (SQLite and memory in
 * test/unit/detect, PostgreSQL in test/integration/pg-work-stores.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Checkpoint, CheckpointStore } from '../../src/detect/checkpoints.ts';

export interface CheckpointSubject {
  store: CheckpointStore;
  close(): Promise<void> | void;
}

const checkpoint = (token: string, openIds: string[] = []): Checkpoint => ({
  token,
  open: openIds.map((id) => ({ id, label: 'person', startTimeMs: 1 }) as never),
  state: { tracks: [], pending: [] } as never,
});

export function checkpointStoreContract(name: string, open: () => Promise<CheckpointSubject>): void {
  describe(`CheckpointStore contract: ${name}`, () => {
    let subject: CheckpointSubject;
    let store: CheckpointStore;
    beforeEach(async () => {
      subject = await open();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.close();
    });

    it('keeps the latest checkpoint of each stream on its own', async () => {
      expect(await store.load('cam')).toBeUndefined();
      await store.save('cam', checkpoint('tok-1', ['a']));
      await store.save('yard', checkpoint('tok-9'));
      await store.save('cam', checkpoint('tok-2', ['a', 'b']));
      expect(await store.load('cam')).toEqual(checkpoint('tok-2', ['a', 'b']));
      expect(await store.load('yard')).toEqual(checkpoint('tok-9'));
      expect(await store.load('other')).toBeUndefined();
    });

    it('keeps older checkpoints without pipeline state', async () => {
      await store.save('old', { token: 't', open: [] });
      expect(await store.load('old')).toEqual({ token: 't', open: [] });
    });

    it('saves of many streams at once all land', async () => {
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.save(`s${i}`, checkpoint(`t${i}`))));
      for (let i = 0; i < 20; i++) expect((await store.load(`s${i}`))?.token).toBe(`t${i}`);
    });
  });
}
