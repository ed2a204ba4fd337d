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
  /** Disk-pressure hooks (disk-pressure.ts); without one, appends only fail when the disk does. */
  space?: SpaceGuard;
}

/** What the segment store asks of the disk-pressure monitor around each group of appends. */
export interface SpaceGuard {
  /** Rejects (the producer gets ARCHIVAL_ERROR) when below the floor and eviction cannot help. */
  admit(bytes: number): Promise<void>;
  /** An append hit ENOSPC: free what can be freed; true when a retry may succeed. */
  reclaim(): Promise<boolean>;
}

const isNoSpace = (err: unknown): boolean => (err as NodeJS.ErrnoException | undefined)?.code === 'ENOSPC';

const SEGMENT_SUFFIX = '.seg';
/**
 * New segment, write-only, synchronous data writes: each writev is durable when it returns, as
 * writev + fdatasync would be, in one trip to libuv's thread pool instead of two. With hundreds of
 * streams that pool (4 threads) is what bounds PERSISTED latency, not the disk.
 */
const SEGMENT_OPEN_FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_DSYNC;
const MAX_READ_HANDLES = 64;

/**
 * Local-disk media store: fragments are appended to per-stream segment files
 * (`<root>/<streamId>/<000000000001>.seg`), never one file per fragment. The index keeps
 * (segment, offset, length). Appends per stream are serialized; each is durable (O_DSYNC writes)
 * before it resolves, which is what lets ingest say PERSISTED.
 */
export class SegmentMediaStore implements MediaStore {
  private readonly writers = new Map<number, SegmentWriter>();
  private readonly queues = new Map<number, Promise<unknown>>();
  private readonly readHandles = new Map<string, Promise<fsp.FileHandle>>();
  private readonly pendingAppends = new Map<number, Array<{ chunks: readonly Buffer[]; resolve: (l: MediaLocation) => void; reject: (e: unknown) => void }>>();
  private readonly opts: SegmentStoreOptions;
  /** Appends whose bytes were written but failed (ENOSPC, EIO) and were cut off again at once. */
  reclaimedAppends = 0;

  constructor(
    private readonly root: string,
    opts: Partial<SegmentStoreOptions> = {},
  ) {
    this.opts = { maxSegmentBytes: 64 * 1024 * 1024, maxSegmentAgeMs: 10 * 60_000, ...opts };
    fs.mkdirSync(root, { recursive: true });
  }

  /** The disk-pressure monitor is built after the store (it evicts through it), so it attaches here. */
  setSpaceGuard(space: SpaceGuard): void {
    this.opts.space = space;
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

  /**
   * Appends are group-committed per stream: everything queued while the previous write+fsync
   * was in flight goes out in one synchronous (O_DSYNC) writev.
   */
  append(streamId: number, chunks: readonly Buffer[]): Promise<MediaLocation> {
    return new Promise((resolve, reject) => {
      let queue = this.pendingAppends.get(streamId);
      if (!queue) {
        queue = [];
        this.pendingAppends.set(streamId, queue);
        void this.serialize(streamId, () => this.flushAppends(streamId));
      }
      queue.push({ chunks, resolve, reject });
    });
  }

  /**
   * Opens the stream's segment (new file, directory fsync) ahead of its first append, queued like
   * an append: with hundreds of cameras connecting at once, those thread-pool trips then overlap
   * the first cluster's arrival instead of delaying its PERSISTED.
   */
  prepare(streamId: number): void {
    if (this.writers.has(streamId)) return;
    void this.serialize(streamId, () => this.writerFor(streamId)).catch(() => undefined);
  }

  private async flushAppends(streamId: number): Promise<void> {
    const batch = this.pendingAppends.get(streamId) ?? [];
    this.pendingAppends.delete(streamId);
    const buffers = batch.flatMap((item) => item.chunks);
    const total = buffers.reduce((n, b) => n + b.length, 0);
    try {
      await this.opts.space?.admit(total);
      let locations: MediaLocation[];
      try {
        locations = await this.writeBatch(streamId, batch, buffers);
      } catch (err) {
        // ENOSPC: let the monitor evict, then try once more (the failed bytes are already gone).
        if (!isNoSpace(err) || !(await this.opts.space?.reclaim())) throw err;
        locations = await this.writeBatch(streamId, batch, buffers);
      }
      batch.forEach((item, i) => item.resolve(locations[i]!));
    } catch (err) {
      for (const item of batch) item.reject(err);
    }
  }

  /**
   * One O_DSYNC writev at the writer's end. On failure the partial bytes are truncated away
   * at once, so the file ends at its last good append and the next append starts right there.
   */
  private async writeBatch(
    streamId: number,
    batch: ReadonlyArray<{ chunks: readonly Buffer[] }>,
    buffers: readonly Buffer[],
  ): Promise<MediaLocation[]> {
    const w = await this.writerFor(streamId);
    const locations: MediaLocation[] = [];
    let end = w.size;
    for (const item of batch) {
      const length = item.chunks.reduce((n, c) => n + c.length, 0);
      locations.push({ segment: w.segment, offset: end, length });
      end += length;
    }
    try {
      // The file is open with O_DSYNC: writev returns once the bytes are on disk (no fdatasync).
      await writeFully(w.handle, buffers, w.size);
    } catch (err) {
      await this.cutBack(streamId, w);
      throw err;
    }
    w.size = end;
    return locations;
  }

  private async cutBack(streamId: number, w: SegmentWriter): Promise<void> {
    this.reclaimedAppends++;
    try {
      await w.handle.truncate(w.size);
    } catch {
      // Cannot even truncate: retire the writer; recovery cuts the tail at the next start.
      if (this.writers.get(streamId) === w) this.writers.delete(streamId);
      await w.handle.close().catch(() => undefined);
    }
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
    // A directory created just now has no segments: skip the listing.
    const created = await fsp.mkdir(dir, { recursive: true });
    const existing = created === undefined ? await this.segments(streamId) : [];
    const last = existing.at(-1);
    const nextNo = last ? Number(last) + 1 : 1;
    const segment = String(nextNo).padStart(12, '0');
    const file = path.join(dir, segment + SEGMENT_SUFFIX);
    const handle = await fsp.open(file, SEGMENT_OPEN_FLAGS);
    try {
      // Make the new directory entry durable too, or a crash could lose a file holding PERSISTED bytes.
      await syncDir(dir);
    } catch (err) {
      await handle.close().catch(() => undefined);
      await fsp.rm(file, { force: true });
      throw err;
    }
    const w = { segment, handle, size: 0, openedAt: Date.now() };
    this.writers.set(streamId, w);
    return w;
  }

  async read(streamId: number, loc: MediaLocation, into?: Buffer): Promise<Buffer> {
    const file = path.join(this.dir(streamId), loc.segment + SEGMENT_SUFFIX);
    const handle = await this.readHandle(file);
    const buf = into && into.length >= loc.length ? into.subarray(0, loc.length) : Buffer.allocUnsafe(loc.length);
    const { bytesRead } = await handle.read(buf, 0, loc.length, loc.offset);
    if (bytesRead !== loc.length) throw new Error(`short read in ${file}: ${bytesRead}/${loc.length}`);
    return buf;
  }

  /** Read handles stay open (LRU): archive reads are sequential within a segment, reopening costs more than reading. */
  private async readHandle(file: string): Promise<fsp.FileHandle> {
    const cached = this.readHandles.get(file);
    if (cached) {
      this.readHandles.delete(file);
      this.readHandles.set(file, cached);
      return cached;
    }
    const opening = fsp.open(file, 'r');
    this.readHandles.set(file, opening);
    opening.catch(() => this.readHandles.delete(file));
    while (this.readHandles.size > MAX_READ_HANDLES) {
      const [oldest, h] = this.readHandles.entries().next().value as [string, Promise<fsp.FileHandle>];
      this.readHandles.delete(oldest);
      void h.then((x) => x.close()).catch(() => undefined);
    }
    return opening;
  }

  private closeReadHandles(prefix: string): void {
    for (const [file, h] of this.readHandles) {
      if (!file.startsWith(prefix)) continue;
      this.readHandles.delete(file);
      void h.then((x) => x.close()).catch(() => undefined);
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

  async segmentModifiedMs(streamId: number, segment: string): Promise<number> {
    const st = await fsp.stat(path.join(this.dir(streamId), segment + SEGMENT_SUFFIX));
    return st.mtimeMs;
  }

  /**
   * Not queued behind the stream's appends: a segment that is not the open one never gets written
   * again, and the disk-pressure monitor evicts from inside an append that hit ENOSPC.
   */
  async removeSegments(streamId: number, segments: readonly string[]): Promise<void> {
    for (const s of segments) {
      if (s === this.writers.get(streamId)?.segment) continue;
      this.closeReadHandles(path.join(this.dir(streamId), s + SEGMENT_SUFFIX));
      await fsp.rm(path.join(this.dir(streamId), s + SEGMENT_SUFFIX), { force: true });
    }
  }

  activeSegment(streamId: number): string | undefined {
    return this.writers.get(streamId)?.segment;
  }

  /** Closes the open segment (after queued appends): the next append starts a new file. */
  seal(streamId: number): Promise<void> {
    return this.serialize(streamId, async () => {
      const w = this.writers.get(streamId);
      if (!w || w.size === 0) return;
      this.writers.delete(streamId);
      await w.handle.close();
    });
  }

  truncate(streamId: number, segment: string, length: number): Promise<void> {
    return this.serialize(streamId, async () => {
      const file = path.join(this.dir(streamId), segment + SEGMENT_SUFFIX);
      this.closeReadHandles(file);
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
      this.closeReadHandles(this.dir(streamId) + path.sep);
      await fsp.rm(this.dir(streamId), { recursive: true, force: true });
    });
  }

  async streamIds(): Promise<number[]> {
    const names = await fsp.readdir(this.root).catch(() => [] as string[]);
    return names.filter((n) => /^\d+$/.test(n)).map(Number);
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()]);
    this.closeReadHandles('');
    for (const [id, w] of this.writers) {
      this.writers.delete(id);
      await w.handle.close();
    }
  }
}

/** writev can write less than asked (and takes at most IOV_MAX buffers): loop until all is on disk. */
async function writeFully(handle: fsp.FileHandle, buffers: readonly Buffer[], position: number): Promise<void> {
  let pending = buffers.filter((b) => b.length > 0);
  let pos = position;
  while (pending.length > 0) {
    const group = pending.slice(0, 512);
    const want = group.reduce((n, b) => n + b.length, 0);
    const { bytesWritten } = await handle.writev(group, pos);
    pos += bytesWritten;
    if (bytesWritten === want) {
      pending = pending.slice(group.length);
      continue;
    }
    // Partial write: drop what was written, keep the rest of the group.
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const b of group) {
      if (skip >= b.length) skip -= b.length;
      else {
        rest.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    pending = [...rest, ...pending.slice(group.length)];
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
