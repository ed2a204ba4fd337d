import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { MediaLocation, MediaStore } from './types.ts';

interface SegmentWriter {
  segment: string;
  handle: fsp.FileHandle;
  size: number;
  openedAt: number;
}

export interface SegmentStoreOptions {
  /** A segment is closed and a new one started past this size or age (retention frees whole segments). */
  maxSegmentBytes: number;
  maxSegmentAgeMs: number;
}

const SEGMENT_SUFFIX = '.seg';

/**
 * Local-disk media store: fragments are appended to per-stream segment files
 * (`<root>/<streamId>/<000000000001>.seg`), never one file per fragment. The index keeps
 * (segment, offset, length). Appends per stream are serialized; each is fdatasync'ed before
 * it resolves, which is what lets ingest say PERSISTED.
 */
export class SegmentMediaStore implements MediaStore {
  private readonly writers = new Map<number, SegmentWriter>();
  private readonly queues = new Map<number, Promise<unknown>>();
  private readonly opts: SegmentStoreOptions;

  constructor(
    private readonly root: string,
    opts: Partial<SegmentStoreOptions> = {},
  ) {
    this.opts = { maxSegmentBytes: 64 * 1024 * 1024, maxSegmentAgeMs: 10 * 60_000, ...opts };
    fs.mkdirSync(root, { recursive: true });
  }

  private dir(streamId: number): string {
    return path.join(this.root, String(streamId));
  }

  private serialize<T>(streamId: number, job: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(streamId) ?? Promise.resolve();
    const next = prev.then(job, job);
    const settled = next.catch(() => undefined);
    this.queues.set(streamId, settled);
    void settled.then(() => {
      if (this.queues.get(streamId) === settled) this.queues.delete(streamId);
    });
    return next;
  }

  append(streamId: number, chunks: readonly Buffer[]): Promise<MediaLocation> {
    return this.serialize(streamId, async () => {
      const w = await this.writerFor(streamId);
      const length = chunks.reduce((n, c) => n + c.length, 0);
      const offset = w.size;
      await w.handle.writev(chunks as Buffer[], offset);
      await w.handle.datasync();
      w.size += length;
      return { segment: w.segment, offset, length };
    });
  }

  private async writerFor(streamId: number): Promise<SegmentWriter> {
    const current = this.writers.get(streamId);
    if (current && current.size < this.opts.maxSegmentBytes && Date.now() - current.openedAt < this.opts.maxSegmentAgeMs) {
      return current;
    }
    if (current) {
      this.writers.delete(streamId);
      await current.handle.close();
    }
    const dir = this.dir(streamId);
    await fsp.mkdir(dir, { recursive: true });
    const existing = await this.segments(streamId);
    const last = existing.at(-1);
    const nextNo = last ? Number(last) + 1 : 1;
    const segment = String(nextNo).padStart(12, '0');
    const handle = await fsp.open(path.join(dir, segment + SEGMENT_SUFFIX), 'wx');
    // Make the new directory entry durable too, or a crash could lose a file holding PERSISTED bytes.
    await syncDir(dir);
    const w = { segment, handle, size: 0, openedAt: Date.now() };
    this.writers.set(streamId, w);
    return w;
  }

  async read(streamId: number, loc: MediaLocation): Promise<Buffer> {
    const file = path.join(this.dir(streamId), loc.segment + SEGMENT_SUFFIX);
    const handle = await fsp.open(file, 'r');
    try {
      const buf = Buffer.allocUnsafe(loc.length);
      const { bytesRead } = await handle.read(buf, 0, loc.length, loc.offset);
      if (bytesRead !== loc.length) throw new Error(`short read in ${file}: ${bytesRead}/${loc.length}`);
      return buf;
    } finally {
      await handle.close();
    }
  }

  async segments(streamId: number): Promise<string[]> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir(streamId));
    } catch {
      return [];
    }
    return names
      .filter((n) => n.endsWith(SEGMENT_SUFFIX))
      .map((n) => n.slice(0, -SEGMENT_SUFFIX.length))
      .sort();
  }

  async segmentSize(streamId: number, segment: string): Promise<number> {
    const st = await fsp.stat(path.join(this.dir(streamId), segment + SEGMENT_SUFFIX));
    return st.size;
  }

  removeSegments(streamId: number, segments: readonly string[]): Promise<void> {
    return this.serialize(streamId, async () => {
      const active = this.writers.get(streamId)?.segment;
      for (const s of segments) {
        if (s === active) continue;
        await fsp.rm(path.join(this.dir(streamId), s + SEGMENT_SUFFIX), { force: true });
      }
    });
  }

  truncate(streamId: number, segment: string, length: number): Promise<void> {
    return this.serialize(streamId, async () => {
      const file = path.join(this.dir(streamId), segment + SEGMENT_SUFFIX);
      await fsp.truncate(file, length);
    });
  }

  removeStream(streamId: number): Promise<void> {
    return this.serialize(streamId, async () => {
      const w = this.writers.get(streamId);
      if (w) {
        this.writers.delete(streamId);
        await w.handle.close();
      }
      await fsp.rm(this.dir(streamId), { recursive: true, force: true });
    });
  }

  async streamIds(): Promise<number[]> {
    const names = await fsp.readdir(this.root).catch(() => [] as string[]);
    return names.filter((n) => /^\d+$/.test(n)).map(Number);
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()]);
    for (const [id, w] of this.writers) {
      this.writers.delete(id);
      await w.handle.close();
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  const h = await fsp.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}
