/**
 * One stream as its owning node holds it (like a MediaMTX path): the single producer slot, the
 * ownership lease and its fencing epoch, the fragment counter within that epoch, the per-stream
 * throughput buckets and the ingest byte count. This is the unit that moves between nodes: when a
 * lease is lost, `lose()` ends the producer and the object forgets the epoch; the next owner starts
 * a fresh one elsewhere. Live fan-out stays in the live feed / bus, keyed by stream.
 */
import { AckError } from '../shared/errors.ts';
import { EpochCounter } from '../shared/fragment-number.ts';
import type { TokenBucket } from '../shared/token-bucket.ts';
import type { LeaseFence, StreamLease } from '../store/leases.ts';
import type { StreamRecord } from '../store/types.ts';
import type { PutMediaSession } from './put-media-session.ts';

export class StreamOwner {
  private session: PutMediaSession | undefined;
  private held: { lease: StreamLease; counter: EpochCounter; fence: LeaseFence } | undefined;
  /** Local time of the last successful acquire/renew (the node's own clock; DB clocks never compared). */
  renewedAt = 0;
  /** An acquisition in flight, shared by concurrent claims so that they do not each bump the epoch. */
  claiming: Promise<void> | undefined;
  /** Local time the producer slot last changed (linger before the lease is given up). */
  lastActiveAt: number;
  /** PutMedia body bytes received since the last heartbeat (node load). */
  ingestBytes = 0;
  /** Per-stream throughput buckets (KVS: 5 fragments/s, 12.5 MB/s), kept across sessions. */
  rate: { bytes?: TokenBucket; fragments?: TokenBucket } | undefined;
  /** The stream's record, re-read at most once a second (retention may change mid-session). */
  record: { record: StreamRecord; at: number } | undefined;

  constructor(
    readonly streamId: number,
    now: number,
  ) {
    this.lastActiveAt = now;
  }

  get producer(): PutMediaSession | undefined {
    return this.session;
  }

  get lease(): StreamLease | undefined {
    return this.held?.lease;
  }

  /** The fence index inserts of this epoch carry. */
  get fence(): LeaseFence | undefined {
    return this.held?.fence;
  }

  /** Whether this node may produce into the stream now. */
  get owned(): boolean {
    return this.held !== undefined;
  }

  /** Takes over a freshly acquired lease; numbering continues after `latest` if it is of the same epoch. */
  own(lease: StreamLease, latestFragmentNumber: string | undefined, now: number): void {
    this.held = { lease, counter: new EpochCounter(lease.epoch, latestFragmentNumber), fence: { nodeId: lease.nodeId, epoch: lease.epoch } };
    this.renewedAt = now;
  }

  renewed(lease: StreamLease, now: number): void {
    if (this.held && this.held.lease.epoch === lease.epoch) {
      this.held.lease = lease;
      this.renewedAt = now;
    }
  }

  /** The next fragment number of this epoch (no wall clock involved; the timestamp is informational). */
  numberFragment(serverTimestampMs: number): string {
    if (!this.held) throw new AckError('INTERNAL_ERROR', 'This node no longer owns the stream.');
    return this.held.counter.number(serverTimestampMs);
  }

  /** Claims the producer slot; false when another PutMedia holds it. */
  attach(session: PutMediaSession, now: number): boolean {
    if (this.session) return false;
    this.session = session;
    this.lastActiveAt = now;
    return true;
  }

  detach(session: PutMediaSession, now: number): void {
    if (this.session !== session) return;
    this.session = undefined;
    this.lastActiveAt = now;
  }

  /**
   * The lease is gone (taken over, or not renewed in time): the producer gets an ERROR that makes
   * KVS producers re-resolve the endpoint (INTERNAL_ERROR, retriable), and no further fragment of
   * this epoch is numbered; in-flight inserts are refused by the index's fence check.
   */
  lose(reason: string): void {
    this.held = undefined;
    this.session?.abort(new AckError('INTERNAL_ERROR', `${reason} Call GetDataEndpoint again.`));
  }

  /** Gives the lease up voluntarily (idle, shutting down); returns it for release. */
  relinquish(): StreamLease | undefined {
    const lease = this.held?.lease;
    this.held = undefined;
    return lease;
  }
}
