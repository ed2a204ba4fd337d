import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ObjectNotFoundError, type ByteRange, type ObjectInfo, type ObjectStore } from './object-store.ts';

/**
 * ObjectStore in a local folder (embedded use and unit tests): a key `a/b/c.mkv` is the file
 * `<root>/a/b/c.mkv`. Put-if-absent is a fsynced temp file hard-linked to its name: link() fails
 * with EEXIST atomically, so it has S3's `If-None-Match: *` semantics.
 */
export class FolderObjectStore implements ObjectStore {
  readonly description: string;

  constructor(private readonly root: string) {
    fs.mkdirSync(root, { recursive: true });
    this.description = `folder ${root}`;
  }

  private file(key: string): string {
    if (key === '' || key.startsWith('/') || key.split('/').some((p) => p === '' || p === '.' || p === '..')) {
      throw new Error(`invalid object key "${key}"`);
    }
    return path.join(this.root, ...key.split('/'));
  }

  async putIfAbsent(key: string, body: Buffer): Promise<'created' | 'exists'> {
    const file = this.file(key);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const tmp = path.join(path.dirname(file), `.tmp-${randomUUID()}`);
    const handle = await fsp.open(tmp, 'wx');
    try {
      await handle.writeFile(body);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    try {
      await fsp.link(tmp, file);
      return 'created';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return 'exists';
      throw err;
    } finally {
      await fsp.rm(tmp, { force: true });
    }
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(this.file(key), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectNotFoundError(key);
      throw err;
    }
    try {
      if (!range) return await handle.readFile();
      const buf = Buffer.alloc(range.length);
      const { bytesRead } = await handle.read(buf, 0, range.length, range.offset);
      if (bytesRead !== range.length) throw new Error(`short ranged read of ${key}: ${bytesRead}/${range.length} bytes`);
      return buf;
    } finally {
      await handle.close();
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const st = await fsp.stat(this.file(key));
      return { key, size: st.size, lastModifiedMs: st.mtimeMs };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const keys: ObjectInfo[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        if (e.name.startsWith('.tmp-')) continue;
        const key = keyPrefix + e.name;
        if (e.isDirectory()) {
          // Only descend where the prefix can still match.
          if ((key + '/').startsWith(prefix) || prefix.startsWith(key + '/')) await walk(path.join(dir, e.name), key + '/');
        } else if (key.startsWith(prefix)) {
          const st = await fsp.stat(path.join(dir, e.name));
          keys.push({ key, size: st.size, lastModifiedMs: st.mtimeMs });
        }
      }
    };
    await walk(this.root, '');
    keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    yield* keys;
  }

  async delete(key: string): Promise<void> {
    await fsp.rm(this.file(key), { force: true });
  }

  async close(): Promise<void> {}
}
