import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { assertSafeKey, type SnapshotStore } from './snapshot-store.ts';

export interface LocalSnapshotStoreOptions {
  /** Folder for the files, e.g. `<dataDir>/snapshots`. */
  dir: string;
  /** URL path prefix the api serves the folder under. Default `/snapshots`. */
  urlBase?: string;
}

/**
 * Embedded default: files under a folder, metadata in a `<key>.meta.json` sidecar. The URL is
 * `<urlBase>/<key>`; the api layer serves it (use `resolve`/`read` to map a key back to the file).
 */
export class LocalSnapshotStore implements SnapshotStore {
  readonly dir: string;
  private readonly urlBase: string;

  constructor(opts: LocalSnapshotStoreOptions) {
    this.dir = path.resolve(opts.dir);
    this.urlBase = (opts.urlBase ?? '/snapshots').replace(/\/+$/, '');
  }

  async put(key: string, jpeg: Buffer, contentType: string, metadata: Record<string, string>): Promise<{ url: string }> {
    const file = this.resolve(key);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${randomUUID()}.tmp`;
    await writeFile(tmp, jpeg);
    await rename(tmp, file);
    await writeFile(`${file}.meta.json`, JSON.stringify({ contentType, metadata }));
    return { url: this.url(key) };
  }

  url(key: string): string {
    return `${this.urlBase}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  /** Absolute file path for a key; throws on keys that would leave the folder. */
  resolve(key: string): string {
    assertSafeKey(key);
    const file = path.resolve(this.dir, key);
    if (!file.startsWith(this.dir + path.sep)) throw new Error(`invalid snapshot key: ${key}`);
    return file;
  }

  /** Reads a stored snapshot back (for the api's GET /snapshots/<key>); undefined when missing. */
  async read(key: string): Promise<{ body: Buffer; contentType: string; metadata: Record<string, string> } | undefined> {
    const file = this.resolve(key);
    try {
      const [body, meta] = await Promise.all([readFile(file), readFile(`${file}.meta.json`, 'utf8').catch(() => '{}')]);
      const m = JSON.parse(meta) as { contentType?: string; metadata?: Record<string, string> };
      return { body, contentType: m.contentType ?? 'image/jpeg', metadata: m.metadata ?? {} };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
}
