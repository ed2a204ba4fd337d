/**
 * Upgrade path for the work stores (`kestrel migrate --from-data`): copies a single-node data folder's
 * events, jobs, webhook outbox, detection config overrides and checkpoints (from index.sqlite; an
 * older detect-checkpoints.json is folded in first) and its secrets (session-secret, webhook-secret
 * files) into the PostgreSQL index. Idempotent: rows already there are kept (ON CONFLICT DO NOTHING),
 * so a second run copies nothing; a secret the index already has wins (it may be in use by a cluster).
 * One transaction: all or nothing.
 */
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { createWorkStores } from './app-work-stores.ts';
import { WEBHOOK_SECRET_NAME } from './app-detection.ts';
import { inTransaction } from './store/pg/pg-pool.ts';
import { SESSION_SECRET_NAME } from './store/session-secret.ts';
import { FileSecretStore } from './store/secret-store.ts';
import fs from 'node:fs';

/** Same names and columns on both sides (migration 0004_work.sql mirrors the SQLite tables). */
const TABLES = [
  { name: 'kestrel_events', serial: false },
  { name: 'kestrel_event_messages', serial: true },
  { name: 'kestrel_jobs', serial: false },
  { name: 'kestrel_job_frames', serial: true },
  { name: 'kestrel_webhook_outbox', serial: true },
  { name: 'kestrel_webhook_dead_letters', serial: false },
  { name: 'kestrel_detect_config', serial: false },
  { name: 'kestrel_detect_checkpoints', serial: false },
] as const;

const BATCH = 500;

export interface WorkImportResult {
  /** Rows inserted per table (rows already present are not counted). */
  rows: Record<string, number>;
  /** Secrets copied from files; `kept` = the index already had one (its value stays). */
  secrets: Record<string, 'copied' | 'kept' | 'absent'>;
}

/** The highest seq SQLite has handed out for the table (0 when none). */
function sqliteSequence(db: Database.Database, table: string): number {
  const row = db.prepare<[string], { seq: number }>('SELECT seq FROM sqlite_sequence WHERE name = ?').get(table);
  return row?.seq ?? 0;
}

export async function importWorkStores(o: { db: Database.Database; dataDir: string; pool: pg.Pool; onLog?: (line: string) => void }): Promise<WorkImportResult> {
  // Creates any table an older version never made, and folds in the old checkpoint JSON file.
  createWorkStores({ kind: 'sqlite', db: o.db, dataDir: o.dataDir, ...(o.onLog ? { onLog: o.onLog } : {}) });
  const files = new FileSecretStore(o.dataDir);
  return inTransaction(o.pool, async (c) => {
    const rows: Record<string, number> = {};
    for (const t of TABLES) {
      const pgCols = (await c.query<{ column_name: string }>(
        'SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1', [t.name],
      )).rows.map((r) => r.column_name);
      const liteCols = o.db.prepare<[], { name: string }>(`PRAGMA table_info(${t.name})`).all().map((r) => r.name);
      const cols = liteCols.filter((col) => pgCols.includes(col));
      const all = o.db.prepare(`SELECT ${cols.join(', ')} FROM ${t.name}`).raw().all() as unknown[][];
      let inserted = 0;
      for (let i = 0; i < all.length; i += BATCH) {
        const batch = all.slice(i, i + BATCH);
        const params: unknown[] = [];
        const values = batch.map((row) => `(${row.map((v) => `$${params.push(v)}`).join(', ')})`);
        const r = await c.query(`INSERT INTO ${t.name} (${cols.join(', ')}) VALUES ${values.join(', ')} ON CONFLICT DO NOTHING`, params);
        inserted += r.rowCount ?? 0;
      }
      // Rows came with their seq: move the sequence past every seq SQLite ever handed out (AUTOINCREMENT
      // never reuses one), so a new outbox entry never repeats a delivered one's X-Kestrel-Delivery id.
      if (t.serial) {
        const used = sqliteSequence(o.db, t.name);
        if (used > 0) await c.query(`SELECT setval(pg_get_serial_sequence('${t.name}', 'seq'), GREATEST($1::bigint, (SELECT COALESCE(MAX(seq), 0) FROM ${t.name})))`, [used]);
      }
      rows[t.name] = inserted;
    }
    const secrets: Record<string, 'copied' | 'kept' | 'absent'> = {};
    for (const name of [SESSION_SECRET_NAME, WEBHOOK_SECRET_NAME]) {
      let value: string;
      try {
        value = fs.readFileSync(files.where(name), 'utf8').trim();
      } catch {
        secrets[name] = 'absent';
        continue;
      }
      if (!value) {
        secrets[name] = 'absent';
        continue;
      }
      const r = await c.query('INSERT INTO kestrel_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, value]);
      secrets[name] = (r.rowCount ?? 0) > 0 ? 'copied' : 'kept';
    }
    o.onLog?.(`work stores imported from ${o.dataDir}: ${Object.entries(rows).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    return { rows, secrets };
  });
}
