/**
 * Stream ownership leases (issue 10 item 3). One lease per stream says which node owns it now
 * (producer slot, live tail, numbering). Every acquisition starts a new fencing epoch, higher than
 * any before it for that stream; fragment numbers carry the epoch (shared/fragment-number.ts) and
 * index inserts name it (`LeaseFence`), so a node that lost its lease can neither number nor store
 * fragments that would interleave with the new owner's. Implementations: `sqlite-leases.ts`
 * (embedded: the single node always wins) and `pg/pg-leases.ts` (cluster), one contract suite.
 */

export interface StreamLease {
  streamId: number;
  nodeId: string;
  /** Fencing token: increases on every acquisition of this stream's lease, by any node. */
  epoch: number;
  /** Until when the holder may act without renewing (ms since the epoch, the store's clock). */
  expiresAtMs: number;
}

/** What an index insert carries so that the index can refuse a stale owner (same transaction). */
export interface LeaseFence {
  nodeId: string;
  epoch: number;
}

/** A node's periodic report (nodes table). */
export interface NodeHeartbeat {
  nodeId: string;
  /** Base URL clients use to reach the node (GetDataEndpoint answers it). */
  publicUrl: string;
  /** PutMedia bytes per second over the last heartbeat interval (load for placement). */
  ingestBytesPerSec: number;
}

export interface LiveNode extends NodeHeartbeat {
  /** Streams whose live lease this node holds. */
  streams: number;
  heartbeatAtMs: number;
}

export interface StreamLeaseStore {
  /** How long an acquired or renewed lease lasts. */
  readonly ttlMs: number;
  /**
   * Takes the stream's lease when nobody holds a live one, or when `nodeId` already holds it (a
   * restarted node need not wait for its old lease to expire). Every success is a new epoch:
   * max(previous + 1, minEpoch). Resolves undefined while another node holds a live lease.
   */
  acquire(streamId: number, nodeId: string, options?: { minEpoch?: number }): Promise<StreamLease | undefined>;
  /**
   * Extends the leases `nodeId` still holds at the given epochs (one round trip for all of them);
   * a lease missing from the answer was taken over and must be given up at once.
   */
  renew(nodeId: string, held: ReadonlyArray<{ streamId: number; epoch: number }>): Promise<StreamLease[]>;
  /** Gives the lease up (it expires now; the epoch is kept so the next owner continues above it). */
  release(streamId: number, nodeId: string, epoch: number): Promise<boolean>;
  /** The live lease on the stream, if any. */
  holder(streamId: number): Promise<StreamLease | undefined>;
  /** Every live lease, by stream id (which node owns what: `GET /api/v1/nodes`, the viewer). */
  liveLeases(): Promise<StreamLease[]>;
  /**
   * The node that acquired the stream's lease at `epoch` (recorded with every acquisition), so a
   * reader can find who wrote a fragment from its number. Undefined for epochs never recorded.
   */
  epochNode(streamId: number, epoch: number): Promise<string | undefined>;
  /** Whether `fence` is still the stream's current epoch and holder (what a fenced insert checks). */
  isCurrent(streamId: number, fence: LeaseFence): Promise<boolean>;
  /** Records the node as alive with its address and load. */
  heartbeat(node: NodeHeartbeat): Promise<void>;
  /** Nodes that sent a heartbeat within the node TTL, least loaded first (fewest streams, then fewest bytes/s). */
  liveNodes(): Promise<LiveNode[]>;
  /** A node shutting down: its row goes and its leases expire now. */
  leave(nodeId: string): Promise<void>;
  /** The stream is gone: its lease row goes too. */
  forget(streamId: number): Promise<void>;
  close(): Promise<void>;
}

/** An insert or a renewal named an epoch that is no longer the stream's current one. */
export class StaleFenceError extends Error {
  constructor(
    readonly streamId: number,
    readonly epoch: number,
  ) {
    super(`stream ${streamId}: fencing epoch ${epoch} is no longer current (another node owns the stream)`);
    this.name = 'StaleFenceError';
  }
}

/** Renewed every third of it; a crashed owner's streams move after at most this (plus the producer's retry). */
export const DEFAULT_LEASE_TTL_MS = 10_000;

/** Least loaded first: fewest streams, then fewest ingest bytes/s, then node id (stable). */
export function byLoad(a: LiveNode, b: LiveNode): number {
  return a.streams - b.streams || a.ingestBytesPerSec - b.ingestBytesPerSec || (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0);
}
