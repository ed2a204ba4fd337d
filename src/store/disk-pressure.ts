import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { floorBytes, formatBytes, type FreeSpaceFloor } from '../shared/byte-size.ts';
import { diskFullKvsError, isDiskFullError } from '../shared/disk-full.ts';
import type { Logger } from '../shared/logger.ts';
import { planEviction, type SegmentUsage } from './eviction-plan.ts';
import type { SpaceGuard } from './segment-store.ts';
import type { FragmentIndex, MediaStore, StreamRepository } from './types.ts';

export interface DiskPressureSettings {
  /** Free space kept on the data directory's filesystem (`--min-free-space`, default 5%). */
  minFreeSpace: FreeSpaceFloor;
  /** Default cap on each stream's media bytes (`--max-bytes`); none when absent. */
  maxBytesPerStream?: number;
  /** How often free space is measured; an eviction pass runs whenever it is below the floor. */
  checkIntervalMs: number;
  /** Size of `<data>/reserve`; default 1% of the filesystem, between 1 and 32 MiB. */
  reserveBytes?: number;
}

export interface DiskPressureStats {
  freeBytes: number;
  totalBytes: number;
  floorBytes: number;
  /** Free space counts the released reserve as used: producers may not eat it. */
  belowFloor: boolean;
  reserveHeld: boolean;
  evictedSegments: number;
  evictedFragments: number;
  evictedBytes: number;
  sealedSegments: number;
  /** Appends refused with ARCHIVAL_ERROR because eviction could not bring space back. */
  refusedAppends: number;
  /** Appends that failed (ENOSPC, EIO) after writing and were truncated away at once. */
  reclaimedAppends: number;
  reserveReleases: number;
  sweeps: number;
}

const MiB = 1024 * 1024;
const DEFAULT_SEGMENT_BYTES = 64 * MiB;
const MIN_SEGMENT_BYTES = 256 * 1024;
/** Cap scans read every segment's size, so they run every this many checks, not every check. */
const CAP_SCAN_EVERY = 10;
const HYSTERESIS_MAX = 256 * MiB;
/** Appends skip the statfs while a measurement younger than two check intervals leaves this much above the floor. */
const FAST_ADMIT_MARGIN = 256 * MiB;
/** A closed segment untouched this long has no index row still in flight. */
const SETTLED_MS = 30_000;

export class StorageFullError extends Error {
  readonly code = 'KESTREL_STORAGE_FULL';
}

/**
 * Segment size for a data directory: eviction frees whole segments, so a segment is kept to at most
 * 1/256 of the filesystem and 1/8 of the per-stream cap (never below 256 KiB, never above 64 MiB).
 */
export function segmentBytesFor(dataDir: string, settings: DiskPressureSettings): number {
  const st = fs.statfsSync(dataDir);
  let n = Math.min(DEFAULT_SEGMENT_BYTES, Math.floor((st.blocks * st.bsize) / 256));
  if (settings.maxBytesPerStream !== undefined) n = Math.min(n, Math.floor(settings.maxBytesPerStream / 8));
  return Math.max(MIN_SEGMENT_BYTES, n);
}

/**
 * Keeps the data directory's filesystem above its free-space floor: evicts the oldest media
 * (eviction-plan.ts), refuses appends only when nothing is left to evict, and holds a reserve file
 * that is released when the disk is full so that control-plane writes (DeleteStream above all)
 * can still commit. Also the SpaceGuard the segment store asks before each append.
 */
export class DiskPressure implements SpaceGuard {
  private readonly reservePath: string;
  private reserveBytes = 0;
  private reserveHeld = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** When a pass last ended below the floor with nothing left to evict or seal. */
  private exhaustedAt = 0;
  private checks = 0;
  private last = { free: 0, total: 0 };
  /** When `last` was measured, and the bytes admitted since (counted as already written). */
  private measuredAt = 0;
  private admittedSince = 0;
  private readonly counts = { evictedSegments: 0, evictedFragments: 0, evictedBytes: 0, sealedSegments: 0, refusedAppends: 0, reserveReleases: 0, sweeps: 0 };

  constructor(
    private readonly deps: {
      dataDir: string;
      index: FragmentIndex;
      media: MediaStore & { reclaimedAppends?: number };
      settings: DiskPressureSettings;
      log: Logger;
    },
  ) {
    this.reservePath = path.join(deps.dataDir, 'reserve');
  }

  async start(): Promise<void> {
    const { total } = await this.measure();
    this.reserveBytes = this.deps.settings.reserveBytes ?? Math.min(32 * MiB, Math.max(MiB, Math.floor(total / 100)));
    const st = await fsp.stat(this.reservePath).catch(() => undefined);
    this.reserveHeld = st !== undefined && st.size >= this.reserveBytes;
    await this.check();
    this.timer = setInterval(() => void this.check().catch((err: unknown) => this.deps.log.error({ err }, 'disk pressure check failed')), this.deps.settings.checkIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  stats(): DiskPressureStats {
    const floor = this.floor();
    return {
      freeBytes: this.last.free,
      totalBytes: this.last.total,
      floorBytes: floor,
      belowFloor: this.usableFree(this.last.free) < floor,
      reserveHeld: this.reserveHeld,
      ...this.counts,
      reclaimedAppends: this.deps.media.reclaimedAppends ?? 0,
    };
  }

  // ---- SpaceGuard ----

  async admit(bytes: number): Promise<void> {
    // Fast path, no statfs: a fresh measurement minus everything admitted since still leaves a wide
    // margin above the floor. A statfs per append would queue behind fdatasyncs in libuv's small
    // thread pool and delay every PERSISTED. Near the floor every append measures exactly.
    const estimate = this.usableFree(this.last.free - this.admittedSince) - bytes;
    if (Date.now() - this.measuredAt < 2 * this.deps.settings.checkIntervalMs && estimate >= this.floor() + FAST_ADMIT_MARGIN) {
      this.admittedSince += bytes;
      return;
    }
    if (this.usableFree((await this.measure()).free) - bytes >= this.floor()) return;
    // Below the floor: evict (one pass at a time, shared by every waiting append), then look again.
    // Right after a pass found nothing left to evict, do not rescan for every append.
    if (Date.now() - this.exhaustedAt >= this.deps.settings.checkIntervalMs || this.running) await this.sweep(bytes);
    if (this.usableFree((await this.measure()).free) - bytes >= this.floor()) return;
    this.counts.refusedAppends++;
    throw new StorageFullError(`Free space is below the floor (${formatBytes(this.floor())}) and there is no older media left to evict.`);
  }

  async reclaim(): Promise<boolean> {
    const before = this.counts.evictedBytes;
    await this.sweep();
    return this.counts.evictedBytes > before;
  }

  /**
   * Runs a control-plane write; if the disk is full, releases the reserve and tries once more.
   * Still full: a KVS ServiceUnavailable error, never a raw 500.
   */
  async withSpace<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (!isDiskFullError(err)) throw err;
      await this.releaseReserve('a control-plane write hit a full disk');
    }
    try {
      return await write();
    } catch (err) {
      throw isDiskFullError(err) ? diskFullKvsError() : err;
    }
  }

  /**
   * One eviction pass (deduplicated: concurrent callers share it), making room for `incoming` bytes
   * beyond the floor. Tests call it directly.
   */
  sweep(incoming = 0): Promise<void> {
    this.running ??= this.pass(incoming).finally(() => (this.running = undefined));
    return this.running;
  }

  // ---- internals ----

  private floor(): number {
    return floorBytes(this.deps.settings.minFreeSpace, this.last.total);
  }

  /** Free space as producers may use it: a released reserve still counts as taken. */
  private usableFree(free: number): number {
    return this.reserveHeld ? free : free - this.reserveBytes;
  }

  private async measure(): Promise<{ free: number; total: number }> {
    const startedAt = Date.now();
    const st = await fsp.statfs(this.deps.dataDir);
    this.last = { free: st.bavail * st.bsize, total: st.blocks * st.bsize };
    this.measuredAt = startedAt;
    this.admittedSince = 0;
    return this.last;
  }

  private async check(): Promise<void> {
    const { free } = await this.measure();
    const capScanDue = this.deps.settings.maxBytesPerStream !== undefined && this.checks++ % CAP_SCAN_EVERY === 0;
    if (capScanDue || this.usableFree(free) < this.floor()) await this.sweep();
    else if (!this.reserveHeld) await this.ensureReserve();
  }

  private async pass(incoming: number): Promise<void> {
    this.counts.sweeps++;
    const { free } = await this.measure();
    const deficit = this.floor() + incoming - this.usableFree(free);
    // Hysteresis: free a little beyond the floor, so eviction runs in batches rather than per append.
    const need = deficit > 0 ? deficit + Math.min(Math.ceil(this.floor() / 8), HYSTERESIS_MAX) : 0;
    const plan = planEviction({
      segments: await this.usage(),
      needBytes: need,
      ...(this.deps.settings.maxBytesPerStream !== undefined ? { maxBytesPerStream: this.deps.settings.maxBytesPerStream } : {}),
    });
    const evicted = { segments: 0, fragments: 0, bytes: 0, cap: 0, floor: 0, streams: {} as Record<number, number> };
    for (const seg of plan.evict) {
      try {
        const fragments = await this.withSpace(() => this.deps.index.deleteBeyond(seg.streamId, seg.segment, 0));
        await this.deps.media.removeSegments(seg.streamId, [seg.segment]);
        evicted.segments++;
        evicted.fragments += fragments;
        evicted.bytes += seg.bytes;
        evicted[seg.reason]++;
        evicted.streams[seg.streamId] = (evicted.streams[seg.streamId] ?? 0) + seg.bytes;
      } catch (err) {
        this.deps.log.error({ err, streamId: seg.streamId, segment: seg.segment }, 'eviction of a segment failed');
      }
    }
    // Sealing waits behind the stream's appends, and this pass may run inside one: never await it.
    for (const streamId of plan.seal) {
      this.counts.sealedSegments++;
      void this.deps.media.seal(streamId).catch((err: unknown) => this.deps.log.error({ err, streamId }, 'sealing a segment failed'));
    }
    this.counts.evictedSegments += evicted.segments;
    this.counts.evictedFragments += evicted.fragments;
    this.counts.evictedBytes += evicted.bytes;
    if (evicted.segments > 0 || plan.seal.length > 0) {
      this.deps.log.warn({ ...evicted, bytes: formatBytes(evicted.bytes), sealed: plan.seal, floor: formatBytes(this.floor()) }, 'evicted oldest media under disk pressure');
    }
    const after = await this.measure();
    if (this.usableFree(after.free) < this.floor()) {
      if (need > 0 && plan.evict.length === 0 && plan.seal.length === 0) {
        this.exhaustedAt = Date.now();
        await this.releaseReserve('below the free-space floor with nothing left to evict');
      }
    } else if (!this.reserveHeld) {
      await this.ensureReserve();
    }
  }

  /** Every segment of every stream with media: size, whether it is open, whether all its bytes are committed. */
  private async usage(): Promise<SegmentUsage[]> {
    const { index, media } = this.deps;
    const out: SegmentUsage[] = [];
    for (const streamId of await media.streamIds()) {
      const ends = await index.committedEnds(streamId);
      const active = media.activeSegment(streamId);
      for (const segment of await media.segments(streamId)) {
        const bytes = await media.segmentSize(streamId, segment).catch(() => undefined);
        if (bytes === undefined) continue;
        const isActive = segment === active;
        // All bytes committed, or closed long ago: a tail beyond the last row is then the bytes of a
        // fragment whose index row failed (disk full), not one still on its way.
        const settled = bytes === (ends.get(segment) ?? 0) || (await media.segmentModifiedMs(streamId, segment).catch(() => Date.now())) < Date.now() - SETTLED_MS;
        out.push({ streamId, segment, bytes, active: isActive, evictable: !isActive && settled });
      }
    }
    return out;
  }

  private async releaseReserve(why: string): Promise<void> {
    if (!this.reserveHeld) return;
    this.reserveHeld = false;
    this.counts.reserveReleases++;
    await fsp.rm(this.reservePath, { force: true });
    this.deps.log.warn({ bytes: formatBytes(this.reserveBytes), why }, 'released the disk reserve for control-plane writes');
  }

  /** Writes the reserve with real blocks (not sparse) once there is room for it above the floor. */
  private async ensureReserve(): Promise<void> {
    const { free } = await this.measure();
    if (this.reserveHeld || free - this.reserveBytes < this.floor()) return;
    const tmp = this.reservePath + '.tmp';
    try {
      const h = await fsp.open(tmp, 'w');
      try {
        const zeros = Buffer.alloc(Math.min(MiB, this.reserveBytes));
        for (let written = 0; written < this.reserveBytes; ) {
          const n = Math.min(zeros.length, this.reserveBytes - written);
          await h.write(zeros, 0, n, written);
          written += n;
        }
        await h.datasync();
      } finally {
        await h.close();
      }
      await fsp.rename(tmp, this.reservePath);
      this.reserveHeld = true;
      this.deps.log.info({ bytes: formatBytes(this.reserveBytes) }, 'disk reserve in place');
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      this.deps.log.warn({ err }, 'could not write the disk reserve');
    }
  }
}

/** The stream repository with its writes run through `withSpace` (control-plane writes on a full disk). */
export function spaceAwareRepository(repo: StreamRepository, pressure: DiskPressure): StreamRepository {
  return {
    create: (rec) => pressure.withSpace(() => repo.create(rec)),
    save: (rec) => pressure.withSpace(() => repo.save(rec)),
    remove: (id) => pressure.withSpace(() => repo.remove(id)),
    getById: (id) => repo.getById(id),
    getByName: (name) => repo.getByName(name),
    getByArn: (arn) => repo.getByArn(arn),
    list: (q) => repo.list(q),
    count: () => repo.count(),
  };
}
