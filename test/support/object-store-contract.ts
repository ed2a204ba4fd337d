/**
 * The ObjectStore contract, run against every implementation (folder, S3 on Ceph RGW):
 * `objectStoreContract('folder', async () => ({ store, close }))`. Keys are unique per test, so one
 * bucket serves the whole suite.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ObjectNotFoundError, type ObjectInfo, type ObjectStore } from '../../src/store/objects/object-store.ts';

export interface ObjectStoreSubject {
  store: ObjectStore;
  close(): Promise<void> | void;
}

async function collect(it: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of it) out.push(o);
  return out;
}

export function objectStoreContract(name: string, open: () => Promise<ObjectStoreSubject>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let subject: ObjectStoreSubject;
    let store: ObjectStore;
    let base: string;
    beforeEach(async () => {
      subject = await open();
      store = subject.store;
      base = `t-${randomBytes(4).toString('hex')}`;
    });
    afterEach(async () => {
      await subject.close();
    });

    it('puts once: a second put of the same key is refused and leaves the first bytes', async () => {
      const key = `${base}/streams/cam/0/a.mkv`;
      expect(await store.putIfAbsent(key, Buffer.from('first'))).toBe('created');
      expect(await store.putIfAbsent(key, Buffer.from('second, longer'))).toBe('exists');
      expect((await store.get(key)).toString()).toBe('first');
      const before = Date.now();
      expect(await store.head(key)).toMatchObject({ key, size: 5 });
      // Object times are whole seconds on S3; the object was written within the last minute.
      expect(Math.abs((await store.head(key))!.lastModifiedMs - before)).toBeLessThan(60_000);
    });

    it('reads byte ranges, including the first and the last byte', async () => {
      const key = `${base}/r.bin`;
      const body = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
      await store.putIfAbsent(key, body);
      expect(await store.get(key, { offset: 0, length: 1 })).toEqual(body.subarray(0, 1));
      expect(await store.get(key, { offset: 100, length: 250 })).toEqual(body.subarray(100, 350));
      expect(await store.get(key, { offset: 999, length: 1 })).toEqual(body.subarray(999));
      expect(await store.get(key, { offset: 10, length: 0 })).toEqual(Buffer.alloc(0));
    });

    it('lists by prefix in key order, and not keys that merely share a leading string', async () => {
      for (const k of ['s/b/2.mkv', 's/a/1.mkv', 's/a/0.mkv', 's/ab/x.mkv', 'other/z.mkv']) await store.putIfAbsent(`${base}/${k}`, Buffer.from(k));
      expect((await collect(store.list(`${base}/s/a/`))).map((o) => o.key)).toEqual([`${base}/s/a/0.mkv`, `${base}/s/a/1.mkv`]);
      const all = await collect(store.list(`${base}/s/`));
      expect(all.map((o) => o.key)).toEqual([`${base}/s/a/0.mkv`, `${base}/s/a/1.mkv`, `${base}/s/ab/x.mkv`, `${base}/s/b/2.mkv`]);
      expect(all[0]!.size).toBe('s/a/0.mkv'.length);
      expect(await collect(store.list(`${base}/nothing/`))).toEqual([]);
    });

    it('deletes; a missing key reads as ObjectNotFoundError and deletes quietly', async () => {
      const key = `${base}/d.mkv`;
      await store.putIfAbsent(key, Buffer.from('x'));
      await store.delete(key);
      await expect(store.get(key)).rejects.toBeInstanceOf(ObjectNotFoundError);
      await expect(store.get(key, { offset: 0, length: 1 })).rejects.toBeInstanceOf(ObjectNotFoundError);
      expect(await store.head(key)).toBeUndefined();
      await store.delete(key);
      // Deleted keys can be written again (retention removes, a re-created stream writes anew).
      expect(await store.putIfAbsent(key, Buffer.from('y'))).toBe('created');
    });

    it('concurrent puts of one key: exactly one wins', async () => {
      const key = `${base}/race.mkv`;
      const results = await Promise.all(Array.from({ length: 5 }, (_, i) => store.putIfAbsent(key, Buffer.from(`writer ${i}`))));
      expect(results.filter((r) => r === 'created')).toHaveLength(1);
      expect(results.filter((r) => r === 'exists')).toHaveLength(4);
    });
  });
}
