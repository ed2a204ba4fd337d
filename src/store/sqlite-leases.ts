/**
 * Embedded StreamLeaseStore: the lease and node tables live in the index's SQLite file, so epochs
 * survive restarts (fragment numbers keep increasing) and the fragment index can check a fence in
 * its own write transaction. With one node it always wins; two stores on one file behave like two
 * nodes (SQLite serialises the statements), which is how the contract suite races them.
 */
import type { Clock } from '../shared/clock.ts';
import { systemClock } from '../shared/clock.ts';
import type { SqliteDb } from './sqlite-db.ts';
import { DEFAULT_LEASE_TTL_MS, byLoad, type LeaseFence, type LiveNode, type NodeHeartbeat, type StreamLease, type StreamLeaseStore } from './leases.ts';

export const SQLITE_LEASE_SCHEMA = `
CREATE TABLE IF NOT EXISTS stream_leases (
  stream_id INTEGER PRIMARY KEY,
  node_id TEXT NOT NULL,
  epoch INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
-- Which node owned each epoch (twin of PostgreSQL migration 0009_epoch_nodes.sql).
CREATE TABLE IF NOT EXISTS stream_epochs (
  stream_id INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  node_id TEXT NOT NULL,
  PRIMARY KEY (stream_id, epoch)
);
CREATE TABLE IF NOT EXISTS cluster_nodes (
  node_id TEXT PRIMARY KEY,
  public_url TEXT NOT NULL,
  ingest_bytes_per_sec REAL NOT NULL DEFAULT 0,
  heartbeat_at INTEGER NOT NULL
);
`;

interface LeaseRow {
  stream_id: number;
  node_id: string;
  epoch: number;
  expires_at: number;
}

const toLease = (r: LeaseRow): StreamLease => ({ streamId: r.stream_id, nodeId: r.node_id, epoch: r.epoch, expiresAtMs: r.expires_at });

export interface SqliteLeaseOptions {
  ttlMs?: number;
  nodeTtlMs?: number;
  clock?: Clock;
}

export class SqliteStreamLeaseStore implements StreamLeaseStore {
  readonly ttlMs: number;
  private readonly nodeTtlMs: number;
  private readonly clock: Clock;
  private readonly stmts;

  constructor(
    private readonly db: SqliteDb,
    options: SqliteLeaseOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    // A node that missed heartbeats for a whole lease time is as gone as its leases: new producers go elsewhere.
    this.nodeTtlMs = options.nodeTtlMs ?? this.ttlMs;
    this.clock = options.clock ?? systemClock;
    db.exec(SQLITE_LEASE_SCHEMA);
    this.stmts = {
      // One statement: insert the first lease, or take over one that expired or is already ours.
      acquire: db.prepare(`INSERT INTO stream_leases (stream_id, node_id, epoch, expires_at) VALUES (@streamId, @nodeId, @minEpoch, @expiresAt)
        ON CONFLICT (stream_id) DO UPDATE SET node_id = excluded.node_id, epoch = max(stream_leases.epoch + 1, excluded.epoch), expires_at = excluded.expires_at
        WHERE stream_leases.expires_at <= @now OR stream_leases.node_id = excluded.node_id
        RETURNING stream_id, node_id, epoch, expires_at`),
      renew: db.prepare(`UPDATE stream_leases SET expires_at = ? WHERE stream_id = ? AND node_id = ? AND epoch = ?
        RETURNING stream_id, node_id, epoch, expires_at`),
      release: db.prepare('UPDATE stream_leases SET expires_at = min(expires_at, ?) WHERE stream_id = ? AND node_id = ? AND epoch = ?'),
      holder: db.prepare('SELECT stream_id, node_id, epoch, expires_at FROM stream_leases WHERE stream_id = ? AND expires_at > ?'),
      liveLeases: db.prepare('SELECT stream_id, node_id, epoch, expires_at FROM stream_leases WHERE expires_at > ? ORDER BY stream_id'),
      current: db.prepare('SELECT 1 FROM stream_leases WHERE stream_id = ? AND node_id = ? AND epoch = ?'),
      heartbeat: db.prepare(`INSERT INTO cluster_nodes (node_id, public_url, ingest_bytes_per_sec, heartbeat_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (node_id) DO UPDATE SET public_url = excluded.public_url, ingest_bytes_per_sec = excluded.ingest_bytes_per_sec, heartbeat_at = excluded.heartbeat_at`),
      liveNodes: db.prepare(`SELECT n.node_id, n.public_url, n.ingest_bytes_per_sec, n.heartbeat_at,
        (SELECT count(*) FROM stream_leases l WHERE l.node_id = n.node_id AND l.expires_at > @now) AS streams
        FROM cluster_nodes n WHERE n.heartbeat_at > @since`),
      leaveNode: db.prepare('DELETE FROM cluster_nodes WHERE node_id = ?'),
      expireNodeLeases: db.prepare('UPDATE stream_leases SET expires_at = min(expires_at, ?) WHERE node_id = ?'),
      forget: db.prepare('DELETE FROM stream_leases WHERE stream_id = ?'),
      forgetEpochs: db.prepare('DELETE FROM stream_epochs WHERE stream_id = ?'),
      recordEpoch: db.prepare('INSERT INTO stream_epochs (stream_id, epoch, node_id) VALUES (?, ?, ?) ON CONFLICT (stream_id, epoch) DO UPDATE SET node_id = excluded.node_id'),
      epochNode: db.prepare('SELECT node_id FROM stream_epochs WHERE stream_id = ? AND epoch = ?'),
    };
  }

  async acquire(streamId: number, nodeId: string, options: { minEpoch?: number } = {}): Promise<StreamLease | undefined> {
    const now = this.clock.now();
    // Lease and epoch history in one transaction, as PostgreSQL does in one statement.
    const row = this.db.transaction(() => {
      const r = this.stmts.acquire.get({ streamId, nodeId, minEpoch: Math.max(1, options.minEpoch ?? 1), expiresAt: now + this.ttlMs, now }) as LeaseRow | undefined;
      if (r) this.stmts.recordEpoch.run(r.stream_id, r.epoch, r.node_id);
      return r;
    })();
    return row && toLease(row);
  }

  async renew(nodeId: string, held: ReadonlyArray<{ streamId: number; epoch: number }>): Promise<StreamLease[]> {
    const expiresAt = this.clock.now() + this.ttlMs;
    const renewAll = this.db.transaction(() =>
      held.flatMap((h) => {
        const row = this.stmts.renew.get(expiresAt, h.streamId, nodeId, h.epoch) as LeaseRow | undefined;
        return row ? [toLease(row)] : [];
      }),
    );
    return renewAll();
  }

  async release(streamId: number, nodeId: string, epoch: number): Promise<boolean> {
    return this.stmts.release.run(this.clock.now(), streamId, nodeId, epoch).changes > 0;
  }

  async holder(streamId: number): Promise<StreamLease | undefined> {
    const row = this.stmts.holder.get(streamId, this.clock.now()) as LeaseRow | undefined;
    return row && toLease(row);
  }

  async liveLeases(): Promise<StreamLease[]> {
    return (this.stmts.liveLeases.all(this.clock.now()) as LeaseRow[]).map(toLease);
  }

  async isCurrent(streamId: number, fence: LeaseFence): Promise<boolean> {
    return this.stmts.current.get(streamId, fence.nodeId, fence.epoch) !== undefined;
  }

  async heartbeat(node: NodeHeartbeat): Promise<void> {
    this.stmts.heartbeat.run(node.nodeId, node.publicUrl, node.ingestBytesPerSec, this.clock.now());
  }

  async liveNodes(): Promise<LiveNode[]> {
    const now = this.clock.now();
    const rows = this.stmts.liveNodes.all({ now, since: now - this.nodeTtlMs }) as Array<{
      node_id: string;
      public_url: string;
      ingest_bytes_per_sec: number;
      heartbeat_at: number;
      streams: number;
    }>;
    return rows
      .map((r) => ({ nodeId: r.node_id, publicUrl: r.public_url, ingestBytesPerSec: r.ingest_bytes_per_sec, heartbeatAtMs: r.heartbeat_at, streams: r.streams }))
      .sort(byLoad);
  }

  async leave(nodeId: string): Promise<void> {
    const now = this.clock.now();
    this.db.transaction(() => {
      this.stmts.expireNodeLeases.run(now, nodeId);
      this.stmts.leaveNode.run(nodeId);
    })();
  }

  async epochNode(streamId: number, epoch: number): Promise<string | undefined> {
    return (this.stmts.epochNode.get(streamId, epoch) as { node_id: string } | undefined)?.node_id;
  }

  async forget(streamId: number): Promise<void> {
    this.stmts.forget.run(streamId);
    this.stmts.forgetEpochs.run(streamId);
  }

  async close(): Promise<void> {}
}
