/**
 * Edge-pull (issue 10 items 4–5): a FragmentBytesSource for a node that may not hold a fragment's
 * bytes. Sealed fragments and fragments this node wrote are read as before (local log / object
 * store through the media tier); an unsealed fragment written by another node is pulled from that
 * node over internal HTTP (internal-routes.ts), and kept in a byte-bounded cache, since every
 * reader of a live stream on this node asks for the same tail.
 *
 * Who wrote it: the fragment number carries the fencing epoch of the ownership period it was
 * written in (shared/fragment-number.ts). The lease store's current holder names the node of the
 * current epoch (the live tail, cached briefly); the epoch history (`epochNode`, recorded with
 * every lease acquisition) names the node of an older one.
 */
import { LRUCache } from 'lru-cache';
import { epochOf } from '../shared/fragment-number.ts';
import { KvsError } from '../shared/errors.ts';
import type { FragmentBytes, FragmentBytesSource } from '../store/fragment-bytes.ts';
import type { StreamLease } from '../store/leases.ts';
import type { FragmentRecord } from '../store/types.ts';

export type ByteOrigin = { from: 'local' } | { from: 'peer'; nodeId: string };

/** Where a fragment's bytes are, from its record, the node that owned its epoch and this node's id. */
export function originOf(record: FragmentRecord, writerNodeId: string | undefined, selfNodeId: string): ByteOrigin {
  if (record.location.object) return { from: 'local' }; // sealed: the media tier reads the object store
  if (writerNodeId === undefined || writerNodeId === selfNodeId) return { from: 'local' };
  return { from: 'peer', nodeId: writerNodeId };
}

export interface EdgePullStats {
  pulls: number;
  pullFailures: number;
  bytesPulled: number;
  cacheHits: number;
  cacheEvictions: number;
  cacheBytes: number;
  cacheMaxBytes: number;
}

export interface EdgePullDeps {
  local: FragmentBytesSource;
  selfNodeId: string;
  /** The stream's live lease; may be cached briefly, but never one older than `epoch` (a fragment's). */
  holder(streamId: number, epoch: number): Promise<StreamLease | undefined>;
  /** The node that owned the stream's `epoch` (epoch history; immutable, so cacheable). */
  epochNode(streamId: number, epoch: number): Promise<string | undefined>;
  /** The peer's bytes; rejects with a KvsError when it cannot be had. */
  pull(nodeId: string, streamId: number, fragmentNumber: string): Promise<FragmentBytes>;
  cacheBytes: number;
}

export class EdgePullSource implements FragmentBytesSource {
  private readonly cache: LRUCache<string, FragmentBytes>;
  private readonly inFlight = new Map<string, Promise<FragmentBytes>>();
  private readonly counters = { pulls: 0, pullFailures: 0, bytesPulled: 0, cacheHits: 0, cacheEvictions: 0 };

  constructor(private readonly deps: EdgePullDeps) {
    this.cache = new LRUCache<string, FragmentBytes>({
      maxSize: Math.max(1, deps.cacheBytes),
      sizeCalculation: (b) => Math.max(1, b.header.length + b.body.length),
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.counters.cacheEvictions++;
      },
    });
  }

  async read(record: FragmentRecord, into?: Buffer): Promise<FragmentBytes> {
    if (record.location.object) return this.deps.local.read(record, into);
    const origin = originOf(record, await this.writerOf(record), this.deps.selfNodeId);
    if (origin.from === 'local') return this.deps.local.read(record, into);
    const key = `${record.streamId}/${record.fragmentNumber}`;
    const cached = this.cache.get(key);
    if (cached) {
      this.counters.cacheHits++;
      return cached;
    }
    // Readers of one live stream ask for the same fragment at once: one pull serves them all.
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.pullOnce(origin.nodeId, record, key);
      this.inFlight.set(key, pending);
      void pending.finally(() => this.inFlight.delete(key)).catch(() => undefined);
    }
    return pending;
  }

  /** The current lease answers for the current epoch (the live tail); the history for older ones. */
  private async writerOf(record: FragmentRecord): Promise<string | undefined> {
    const epoch = epochOf(record.fragmentNumber);
    const lease = await this.deps.holder(record.streamId, epoch);
    if (lease?.epoch === epoch) return lease.nodeId;
    return this.deps.epochNode(record.streamId, epoch);
  }

  private async pullOnce(nodeId: string, record: FragmentRecord, key: string): Promise<FragmentBytes> {
    this.counters.pulls++;
    try {
      const bytes = await this.deps.pull(nodeId, record.streamId, record.fragmentNumber);
      this.counters.bytesPulled += bytes.header.length + bytes.body.length;
      this.cache.set(key, bytes);
      return bytes;
    } catch (err) {
      this.counters.pullFailures++;
      if (err instanceof KvsError) throw err;
      throw new KvsError('InternalFailure', `fragment ${record.fragmentNumber} is held by node ${nodeId}, which could not be reached: ${(err as Error).message}`);
    }
  }

  stats(): EdgePullStats {
    return { ...this.counters, cacheBytes: this.cache.calculatedSize, cacheMaxBytes: this.cache.maxSize };
  }
}
