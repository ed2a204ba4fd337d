/**
 * One PostgreSQL pool per process, opened from `--index postgres://…`. Every statement gets a
 * server-side timeout so a stuck engine surfaces as an error instead of a hung request.
 */
import pg from 'pg';

export interface PgPoolOptions {
  /** Largest number of connections this node holds (default 10). */
  max?: number;
  /** Per-statement timeout in ms (default 10 s). */
  statementTimeoutMs?: number;
  /** Time to wait for a free connection or a TCP connect, in ms (default 5 s). */
  connectTimeoutMs?: number;
}

export function openPgPool(url: string, options: PgPoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    statement_timeout: options.statementTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection (engine restart) must not crash the process.
  pool.on('error', () => {});
  return pool;
}

/** Runs `work` in one transaction on one client; rolls back on any error. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** The URL without its password, for messages and logs. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
