/**
 * Versioned schema migrations for the PostgreSQL index. Each file `migrations/NNNN_name.sql` is one
 * version, applied once, in order, inside a transaction, under an advisory lock so that several
 * nodes starting together apply each version exactly once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

const MIGRATION_LOCK_KEY = 0x6b657374; // "kest"

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function migrationsDir(): string {
  // dist/ has no .sql files: tsc does not copy them, so compiled code reads them from src/.
  const here = path.dirname(fileURLToPath(import.meta.url));
  const local = path.join(here, 'migrations');
  if (fs.existsSync(local)) return local;
  return path.resolve(here, '../../../src/store/pg/migrations');
}

export function loadMigrations(dir = migrationsDir()): Migration[] {
  const files = fs.readdirSync(dir).filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f)).sort();
  const migrations = files.map((file) => ({
    version: Number(file.slice(0, 4)),
    name: file.slice(5, -4),
    sql: fs.readFileSync(path.join(dir, file), 'utf8'),
  }));
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.version === migrations[i - 1]!.version) throw new Error(`two migrations share version ${migrations[i]!.version}`);
  }
  return migrations;
}

export interface MigrationResult {
  applied: Migration[];
  current: number;
}

/** Applies every migration newer than the database's version. Safe to call from many nodes at once. */
export async function migrate(pool: pg.Pool, migrations = loadMigrations()): Promise<MigrationResult> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const applied: Migration[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw new Error(`migration ${m.version} (${m.name}) failed: ${(err as Error).message}`);
      }
      applied.push(m);
    }
    const current = Math.max(0, ...migrations.map((m) => m.version).filter((v) => done.has(v) || applied.some((a) => a.version === v)));
    return { applied, current };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    client.release();
  }
}
