/**
 * Readiness: can this node take writes (index, disk) and reach the live bus? Each check is short and bounded by a timeout; results are
 * cached for a second so an unauthenticated /readyz poller cannot turn probes into disk load.
 * Reasons are generic (check name + error code), never paths or messages.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type pg from 'pg';

export type ReadinessCheck = () => Promise<void> | void;
/** A check with its own failure wording (default "not writable"), e.g. "not reachable" for the bus. */
export interface NamedReadinessCheck {
  run: ReadinessCheck;
  failure: string;
}

export interface ReadinessReport {
  ready: boolean;
  /** e.g. ["index: not writable (SQLITE_READONLY)", "disk: not writable (ENOSPC)"]. */
  failing: string[];
}

export class Readiness {
  private cached: { at: number; report: Promise<ReadinessReport> } | undefined;

  constructor(
    private readonly checks: Record<string, ReadinessCheck | NamedReadinessCheck>,
    private readonly opts: { timeoutMs?: number; cacheMs?: number } = {},
  ) {}

  check(): Promise<ReadinessReport> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < (this.opts.cacheMs ?? 1000)) return this.cached.report;
    const report = this.run();
    this.cached = { at: now, report };
    return report;
  }

  private async run(): Promise<ReadinessReport> {
    const timeoutMs = this.opts.timeoutMs ?? 2000;
    const failing: string[] = [];
    await Promise.all(
      Object.entries(this.checks).map(async ([name, entry]) => {
        const check = typeof entry === 'function' ? entry : entry.run;
        const failure = typeof entry === 'function' ? 'not writable' : entry.failure;
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })), timeoutMs);
        });
        try {
          await Promise.race([Promise.resolve().then(check), timeout]);
        } catch (err) {
          const code = (err as { code?: unknown }).code;
          failing.push(`${name}: ${failure}${typeof code === 'string' && /^[A-Z_]{1,40}$/.test(code) ? ` (${code})` : ''}`);
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    failing.sort();
    return { ready: failing.length === 0, failing };
  }
}

/** The index takes a write: one row upserted in a probe table (also fails once the handle is closed). */
export function sqliteWritable(db: Database.Database): ReadinessCheck {
  let ensured = false;
  return () => {
    if (!ensured) db.exec('CREATE TABLE IF NOT EXISTS kestrel_ready_probe (id INTEGER PRIMARY KEY, at INTEGER NOT NULL)');
    ensured = true;
    db.prepare('INSERT INTO kestrel_ready_probe (id, at) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET at = excluded.at').run(Date.now());
  };
}

/** The shared PostgreSQL index takes a write (an upsert in kestrel_ready_probe, migration 0002). */
export function pgWritable(pool: pg.Pool): ReadinessCheck {
  return async () => {
    await pool.query('INSERT INTO kestrel_ready_probe (id, at) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET at = excluded.at');
  };
}

/** The live bus answers a round trip (BUS_DOWN while NATS is unreachable). */
export function busReachable(bus: { check(): Promise<void> }): NamedReadinessCheck {
  return { run: () => bus.check(), failure: 'not reachable' };
}

/** The data folder takes a write: a small file written, fsynced and removed. */
export function folderWritable(dir: string): ReadinessCheck {
  return async () => {
    const file = path.join(dir, `.ready-probe-${process.pid}`);
    const handle = await fs.open(file, 'w', 0o600);
    try {
      await handle.writeFile('ready\n');
      await handle.sync();
    } finally {
      await handle.close();
      await fs.rm(file, { force: true });
    }
  };
}
