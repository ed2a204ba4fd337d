/**
 * StreamLeaseStore on PostgreSQL (migration 0006_leases.sql). Every decision is one atomic
 * statement judged by the database's clock (`now()`), so nodes' clocks never matter: acquire is
 * an upsert that only updates a row that expired or is already ours, and returns the new epoch.
 */
import type pg from 'pg';
import { DEFAULT_LEASE_TTL_MS, StaleFenceError, byLoad, type LeaseFence, type LiveNode, type NodeHeartbeat, type StreamLease, type StreamLeaseStore } from '../leases.ts';

/** SQLSTATE raised by kestrel_check_fence() when the fence is stale. */
export const STALE_FENCE_SQLSTATE = 'KS409';

const LEASE_COLUMNS = `stream_id, node_id, epoch, (extract(epoch FROM expires_at) * 1000)::float8 AS expires_ms`;

interface LeaseRow {
  stream_id: string | number;
  node_id: string;
  epoch: string | number;
  expires_ms: number;
}

const toLease = (r: LeaseRow): StreamLease => ({ streamId: Number(r.stream_id), nodeId: r.node_id, epoch: Number(r.epoch), expiresAtMs: Math.round(r.expires_ms) });

/**
 * The fence check for a PostgreSQL fragment index: run it on the transaction's client right before
 * the INSERT. Throws StaleFenceError when another node took the stream over.
 */
export async function assertFence(client: pg.ClientBase, streamId: number, fence: LeaseFence): Promise<void> {
  try {
    await client.query('SELECT kestrel_check_fence($1, $2, $3)', [streamId, fence.nodeId, fence.epoch]);
  } catch (err) {
    if ((err as { code?: string }).code === STALE_FENCE_SQLSTATE) throw new StaleFenceError(streamId, fence.epoch);
    throw err;
  }
}

export class PgStreamLeaseStore implements StreamLeaseStore {
  readonly ttlMs: number;
  private readonly nodeTtlMs: number;

  constructor(
    private readonly pool: pg.Pool,
    options: { ttlMs?: number; nodeTtlMs?: number } = {},
  ) {
    this.ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    // A node that missed heartbeats for a whole lease time is as gone as its leases: new producers go elsewhere.
    this.nodeTtlMs = options.nodeTtlMs ?? this.ttlMs;
  }

  async acquire(streamId: number, nodeId: string, options: { minEpoch?: number } = {}): Promise<StreamLease | undefined> {
    // The epoch's owner goes into stream_epochs in the same statement (migration 0009).
    const { rows } = await this.pool.query<LeaseRow>(
      `WITH acquired AS (
         INSERT INTO stream_leases AS l (stream_id, node_id, epoch, expires_at)
         VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond')
         ON CONFLICT (stream_id) DO UPDATE SET node_id = excluded.node_id, epoch = GREATEST(l.epoch + 1, excluded.epoch), expires_at = excluded.expires_at
         WHERE l.expires_at <= now() OR l.node_id = excluded.node_id
         RETURNING ${LEASE_COLUMNS}
       ), recorded AS (
         INSERT INTO stream_epochs (stream_id, epoch, node_id) SELECT stream_id, epoch, node_id FROM acquired
         ON CONFLICT (stream_id, epoch) DO UPDATE SET node_id = excluded.node_id
       )
       SELECT * FROM acquired`,
      [streamId, nodeId, Math.max(1, options.minEpoch ?? 1), this.ttlMs],
    );
    return rows[0] && toLease(rows[0]);
  }

  async renew(nodeId: string, held: ReadonlyArray<{ streamId: number; epoch: number }>): Promise<StreamLease[]> {
    if (held.length === 0) return [];
    const { rows } = await this.pool.query<LeaseRow>(
      `UPDATE stream_leases l SET expires_at = now() + $4 * interval '1 millisecond'
       FROM unnest($2::bigint[], $3::bigint[]) AS h(stream_id, epoch)
       WHERE l.stream_id = h.stream_id AND l.epoch = h.epoch AND l.node_id = $1
       RETURNING l.stream_id, l.node_id, l.epoch, (extract(epoch FROM l.expires_at) * 1000)::float8 AS expires_ms`,
      [nodeId, held.map((h) => h.streamId), held.map((h) => h.epoch), this.ttlMs],
    );
    return rows.map(toLease);
  }

  async release(streamId: number, nodeId: string, epoch: number): Promise<boolean> {
    const r = await this.pool.query('UPDATE stream_leases SET expires_at = LEAST(expires_at, now()) WHERE stream_id = $1 AND node_id = $2 AND epoch = $3', [streamId, nodeId, epoch]);
    return (r.rowCount ?? 0) > 0;
  }

  async holder(streamId: number): Promise<StreamLease | undefined> {
    const { rows } = await this.pool.query<LeaseRow>(`SELECT ${LEASE_COLUMNS} FROM stream_leases WHERE stream_id = $1 AND expires_at > now()`, [streamId]);
    return rows[0] && toLease(rows[0]);
  }

  async liveLeases(): Promise<StreamLease[]> {
    const { rows } = await this.pool.query<LeaseRow>(`SELECT ${LEASE_COLUMNS} FROM stream_leases WHERE expires_at > now() ORDER BY stream_id`);
    return rows.map(toLease);
  }

  async isCurrent(streamId: number, fence: LeaseFence): Promise<boolean> {
    const { rows } = await this.pool.query('SELECT 1 FROM stream_leases WHERE stream_id = $1 AND node_id = $2 AND epoch = $3', [streamId, fence.nodeId, fence.epoch]);
    return rows.length > 0;
  }

  async heartbeat(node: NodeHeartbeat): Promise<void> {
    await this.pool.query(
      `INSERT INTO cluster_nodes (node_id, public_url, ingest_bytes_per_sec, heartbeat_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (node_id) DO UPDATE SET public_url = excluded.public_url, ingest_bytes_per_sec = excluded.ingest_bytes_per_sec, heartbeat_at = now()`,
      [node.nodeId, node.publicUrl, node.ingestBytesPerSec],
    );
  }

  async liveNodes(): Promise<LiveNode[]> {
    const { rows } = await this.pool.query<{ node_id: string; public_url: string; ingest_bytes_per_sec: number; heartbeat_ms: number; streams: string }>(
      `SELECT n.node_id, n.public_url, n.ingest_bytes_per_sec, (extract(epoch FROM n.heartbeat_at) * 1000)::float8 AS heartbeat_ms,
         (SELECT count(*) FROM stream_leases l WHERE l.node_id = n.node_id AND l.expires_at > now()) AS streams
       FROM cluster_nodes n WHERE n.heartbeat_at > now() - $1 * interval '1 millisecond'`,
      [this.nodeTtlMs],
    );
    return rows
      .map((r) => ({ nodeId: r.node_id, publicUrl: r.public_url, ingestBytesPerSec: r.ingest_bytes_per_sec, heartbeatAtMs: Math.round(r.heartbeat_ms), streams: Number(r.streams) }))
      .sort(byLoad);
  }

  async leave(nodeId: string): Promise<void> {
    await this.pool.query(
      `WITH expired AS (UPDATE stream_leases SET expires_at = LEAST(expires_at, now()) WHERE node_id = $1)
       DELETE FROM cluster_nodes WHERE node_id = $1`,
      [nodeId],
    );
  }

  async epochNode(streamId: number, epoch: number): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ node_id: string }>('SELECT node_id FROM stream_epochs WHERE stream_id = $1 AND epoch = $2', [streamId, epoch]);
    return rows[0]?.node_id;
  }

  async forget(streamId: number): Promise<void> {
    await this.pool.query('DELETE FROM stream_leases WHERE stream_id = $1', [streamId]);
    await this.pool.query('DELETE FROM stream_epochs WHERE stream_id = $1', [streamId]);
  }

  /** The pool belongs to the composition root. */
  async close(): Promise<void> {}
}
