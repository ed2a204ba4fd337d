import { alwaysLeader, type HousekeepingLeader } from '../store/leader.ts';
import { epochOf } from '../shared/fragment-number.ts';
import type { Logger } from '../shared/logger.ts';
import { buildSealedObject, sealedObjectKey, type SealedFragmentInput } from '../mkv/sealed-object.ts';
import type { FragmentIndex, FragmentRecord, MediaLocationIndex, MediaStore, StreamRecord, StreamRepository } from '../store/types.ts';
import { joinKey, type ObjectStore } from '../store/objects/object-store.ts';

export interface SealerStats {
  objectsUploaded: number;
  bytesUploaded: number;
  fragmentsSealed: number;
  uploadFailures: number;
  /** A key already held other bytes (another writer): the fragments stay local and are logged. */
  keyConflicts: number;
  localSegmentsRemoved: number;
  /** Objects deleted by retention (older than the stream's retention + a margin) or DeleteStream. */
  objectsDeleted: number;
  /** Server timestamp of the newest fragment sealed → the moment its object was written, ms. */
  lastSealLagMs: number;
}

export interface SealerDeps {
  streams: Pick<StreamRepository, 'getById' | 'getByName'>;
  index: FragmentIndex & MediaLocationIndex;
  /** The local log (segment files), not the tiered store. */
  local: MediaStore;
  objects: ObjectStore;
  /** Key prefix from s3://bucket/prefix. */
  prefix: string;
  /** Open segments are closed and uploaded this often (the most a dead node loses in `local` mode). */
  intervalMs: number;
  /** How often expired objects are looked for (a listing of the stream folders); default 60 s. */
  retentionSweepMs?: number;
  /** Whether this node runs the cluster-wide expired-object sweep (default: yes). */
  leader?: HousekeepingLeader;
  /** Fencing epoch override (tests); default: the epoch inside the group's first fragment number. */
  epoch?: (streamId: number) => number;
  /**
   * Replicated mode: ingest uploads each fragment itself, so the sealer only picks up fragments
   * whose upload failed, from segments quiet for an interval (never racing an upload in flight).
   */
  replicated?: boolean;
  now?: () => number;
  log: Logger;
}

/**
 * Moves media from the local log into the object store. Every `intervalMs` it closes each stream's
 * open segment and uploads every closed segment whose bytes are all committed in the index, one
 * sealed object per run of fragments sharing an MKV header, then records the object location on
 * each fragment. A local segment is deleted once none of its fragments is local and it has not been
 * written for two intervals (readers that looked up the old location have finished by then).
 * In `replicated` mode ingest calls `sealFragment` before the PERSISTED ACK instead.
 */
export class Sealer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly counters: SealerStats = { objectsUploaded: 0, bytesUploaded: 0, fragmentsSealed: 0, uploadFailures: 0, keyConflicts: 0, localSegmentsRemoved: 0, objectsDeleted: 0, lastSealLagMs: 0 };
  private readonly now: () => number;
  private lastRetentionSweep = 0;

  constructor(private readonly deps: SealerDeps) {
    this.now = deps.now ?? Date.now;
  }

  stats(): SealerStats {
    return { ...this.counters };
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.deps.intervalMs);
    this.timer.unref();
  }

  /** One pass over every stream; concurrent calls share the pass in progress. */
  tick(): Promise<void> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  /**
   * Stops the timer, then closes and uploads what is left (a node shutting down hands over its tail),
   * giving up after `flushTimeoutMs` (an unreachable store must not hold the shutdown for minutes of
   * retries; what is left stays in the local log for the next start).
   */
  async stop(opts: { flush: boolean; flushTimeoutMs?: number } = { flush: true }): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    if (!opts.flush) return;
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), opts.flushTimeoutMs ?? 15_000)));
    const outcome = await Promise.race([this.pass({ closeOpen: true }), gaveUp]);
    clearTimeout(timer);
    if (outcome === 'timeout') this.deps.log.warn('final seal did not finish in time; the tail stays in the local log');
  }

  private async pass(opts: { closeOpen: boolean } = { closeOpen: true }): Promise<void> {
    if (this.now() - this.lastRetentionSweep >= (this.deps.retentionSweepMs ?? 60_000)) {
      this.lastRetentionSweep = this.now();
      if (await (this.deps.leader ?? alwaysLeader).isLeader()) await this.deleteExpiredObjects().catch((err: unknown) => this.deps.log.warn({ err }, 'object retention sweep failed'));
    }
    for (const streamId of await this.deps.local.streamIds()) {
      try {
        await this.sealStream(streamId, opts.closeOpen);
      } catch (err) {
        // Failed PUTs are counted where they happen (also for replicated uploads); this logs them all.
        this.deps.log.warn({ err, streamId }, 'sealing failed; retrying at the next interval');
      }
    }
  }

  private async sealStream(streamId: number, closeOpen: boolean): Promise<void> {
    const stream = await this.deps.streams.getById(streamId);
    if (!stream) return; // deleted: recovery and DeleteStream remove its media
    if (closeOpen && this.deps.local.activeSegment(streamId) !== undefined) await this.deps.local.seal(streamId);
    const active = this.deps.local.activeSegment(streamId);
    const ends = await this.deps.index.committedEnds(streamId);
    for (const segment of await this.deps.local.segments(streamId)) {
      if (segment === active) continue;
      const size = await this.deps.local.segmentSize(streamId, segment);
      const end = ends.get(segment);
      if (end === undefined) {
        await this.removeIfQuiet(streamId, segment);
        continue;
      }
      // Bytes still waiting for their index rows: upload once they are all committed.
      if (size !== end) continue;
      if (this.deps.replicated && !(await this.quiet(streamId, segment, this.deps.intervalMs))) continue;
      const fragments = await this.deps.index.localFragmentsInSegment(streamId, segment);
      for (const run of runsByHeader(fragments)) await this.upload(stream, run);
    }
  }

  private async quiet(streamId: number, segment: string, forMs: number): Promise<boolean> {
    const modified = await this.deps.local.segmentModifiedMs(streamId, segment).catch(() => undefined);
    return modified !== undefined && this.now() - modified >= forMs;
  }

  private async removeIfQuiet(streamId: number, segment: string): Promise<void> {
    if (!(await this.quiet(streamId, segment, 2 * this.deps.intervalMs))) return;
    await this.deps.local.removeSegments(streamId, [segment]);
    this.counters.localSegmentsRemoved++;
  }

  /**
   * Retention for objects: an object written more than the stream's retention + one hour ago holds
   * only expired fragments (each fragment's server time is before its object's write time) and the
   * retention cleaner has dropped their rows by then. Judged by the object's own time, never by the
   * index, so a node with an empty or rebuilt index cannot delete live media. Streams this index does
   * not know are left alone (DeleteStream removes its objects through `deleteStreamObjects`).
   */
  async deleteExpiredObjects(): Promise<void> {
    const base = joinKey(this.deps.prefix, 'streams') + '/';
    const names = new Set<string>();
    for await (const o of this.deps.objects.list(base)) names.add(o.key.slice(base.length).split('/')[0]!);
    for (const name of names) {
      const stream = await this.deps.streams.getByName(name);
      if (!stream || stream.dataRetentionInHours <= 0) continue;
      const cutoff = this.now() - (stream.dataRetentionInHours + 1) * 3_600_000;
      for await (const o of this.deps.objects.list(`${base}${name}/`)) {
        if (o.lastModifiedMs > 0 && o.lastModifiedMs < cutoff) {
          await this.deps.objects.delete(o.key);
          this.counters.objectsDeleted++;
        }
      }
    }
  }

  /** DeleteStream: every object under the stream's name goes (a re-created stream starts empty). */
  async deleteStreamObjects(streamName: string): Promise<void> {
    for await (const o of this.deps.objects.list(`${joinKey(this.deps.prefix, 'streams', streamName)}/`)) {
      await this.deps.objects.delete(o.key);
      this.counters.objectsDeleted++;
    }
  }

  /** Uploads one fragment on its own (replicated mode: before its PERSISTED ACK). */
  async sealFragment(stream: StreamRecord, fragment: FragmentRecord, header: Buffer, chunks: readonly Buffer[]): Promise<void> {
    await this.put(stream, header, [{ record: fragment, bytes: chunks }]);
  }

  private async upload(stream: StreamRecord, run: FragmentRecord[]): Promise<void> {
    const header = await this.deps.index.getHeader(run[0]!.headerId);
    const items = [];
    for (const record of run) items.push({ record, bytes: [await this.deps.local.read(stream.id, record.location)] });
    await this.put(stream, header, items);
  }

  private async put(stream: StreamRecord, header: Buffer, items: ReadonlyArray<{ record: FragmentRecord; bytes: readonly Buffer[] }>): Promise<void> {
    // The fencing epoch the group was written under (in its fragment numbers; src/shared/fragment-number.ts).
    const epoch = this.deps.epoch?.(stream.id) ?? epochOf(items[0]!.record.fragmentNumber);
    const fragments: SealedFragmentInput[] = items.map(({ record, bytes }) => ({
      fragmentNumber: record.fragmentNumber,
      producerTimestampMs: record.producerTimestampMs,
      serverTimestampMs: record.serverTimestampMs,
      durationMs: record.durationMs,
      sizeBytes: record.sizeBytes,
      flags: record.flags,
      tags: record.tags,
      bytes,
    }));
    const sealed = buildSealedObject({ streamName: stream.name, streamArn: stream.arn, epoch, retentionHours: stream.dataRetentionInHours, header, fragments });
    const key = sealedObjectKey(this.deps.prefix, stream.name, epoch, fragments[0]!.fragmentNumber, fragments.at(-1)!.fragmentNumber);
    const body = Buffer.concat(sealed.chunks);
    let outcome: 'created' | 'exists';
    try {
      outcome = await this.deps.objects.putIfAbsent(key, body);
    } catch (err) {
      this.counters.uploadFailures++;
      throw err;
    }
    if (outcome === 'exists') {
      // Our own earlier upload whose index update did not happen (crash, lost response) has the
      // same size; anything else is another writer's object and must not be claimed.
      const existing = await this.deps.objects.head(key);
      if (existing?.size !== body.length) {
        this.counters.keyConflicts++;
        throw new Error(`object ${key} exists with other content (${existing?.size ?? 0} bytes, ours ${body.length})`);
      }
    } else {
      this.counters.objectsUploaded++;
      this.counters.bytesUploaded += body.length;
    }
    await this.deps.index.markSealed(stream.id, sealed.index.fragments.map((f) => ({ fragmentNumber: f.fragmentNumber, object: { key, offset: f.offset } })));
    for (const { record } of items) {
      record.location = { ...record.location, object: { key, offset: sealed.index.fragments.find((f) => f.fragmentNumber === record.fragmentNumber)!.offset } };
    }
    this.counters.fragmentsSealed += items.length;
    this.counters.lastSealLagMs = Math.max(0, this.now() - items.at(-1)!.record.serverTimestampMs);
  }
}

/** Consecutive fragments with the same header go into one object (a header change starts another). */
function runsByHeader(fragments: readonly FragmentRecord[]): FragmentRecord[][] {
  const runs: FragmentRecord[][] = [];
  for (const f of fragments) {
    const last = runs.at(-1);
    if (last && last[0]!.headerId === f.headerId) last.push(f);
    else runs.push([f]);
  }
  return runs;
}
