/**
 * Housekeeping leader: cluster-wide sweeps (index retention, expired objects) run on exactly one
 * node. Embedded: this node always leads. PostgreSQL: a session advisory lock held on a dedicated
 * connection; if the leader dies, PostgreSQL drops its connection and the lock, and another node takes
 * it at its next check (so takeover is bounded by the sweep interval).
 */
import type pg from 'pg';

export interface HousekeepingLeader {
  /** Whether this node leads now (acquires the lead when nobody holds it). */
  isLeader(): Promise<boolean>;
  close(): Promise<void>;
}

export const alwaysLeader: HousekeepingLeader = { isLeader: async () => true, close: async () => {} };

const HOUSEKEEPING_LOCK_KEY = 0x6b686b70; // "khkp"

export class PgHousekeepingLeader implements HousekeepingLeader {
  private client: pg.PoolClient | undefined;
  private closed = false;

  constructor(private readonly pool: pg.Pool) {}

  async isLeader(): Promise<boolean> {
    if (this.closed) return false;
    try {
      if (this.client) {
        await this.client.query('SELECT 1'); // still connected, so the lock is still ours
        return true;
      }
      const client = await this.pool.connect();
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [HOUSEKEEPING_LOCK_KEY]);
      if (rows[0]?.ok) {
        this.client = client;
        client.on('error', () => this.drop());
        return true;
      }
      client.release();
      return false;
    } catch {
      this.drop();
      return false;
    }
  }

  /** A broken connection lost the lock with it: give the client back destroyed. */
  private drop(): void {
    const c = this.client;
    this.client = undefined;
    c?.release(true);
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.client;
    this.client = undefined;
    if (!c) return;
    await c.query('SELECT pg_advisory_unlock($1)', [HOUSEKEEPING_LOCK_KEY]).catch(() => undefined);
    c.release();
  }
}
