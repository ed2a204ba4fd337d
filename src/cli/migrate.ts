/**
 * `kestrel migrate --index postgres://…`: creates or upgrades the PostgreSQL index schema (the same
 * versioned migrations `serve` runs at start) and prints what it applied.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type pg from 'pg';
import { openPgPool, redactedUrl } from '../store/pg/pg-pool.ts';
import { importIndex } from '../app-index-import.ts';
import { importWorkStores } from '../app-work-import.ts';
import { checkSharedServerKey } from '../auth/pg-identity-store.ts';
import { loadOrCreateServerKey } from '../auth/server-key.ts';
import { migrate as applyMigrations } from '../store/pg/migrate.ts';
import { UsageError } from './args.ts';
import { optionsUsage, resolveOptions } from './options.ts';
import { INDEX_OPTION } from './serve-options.ts';

const MIGRATE_OPTIONS = [
  INDEX_OPTION,
  { name: 'from-data', arg: 'DIR', key: false, help: 'also copy this single-node data folder\'s SQLite index and work stores into the\nPostgreSQL index (idempotent); then start a node with --index and --data DIR' },
] as const;

export const MIGRATE_USAGE = `kestrel migrate --index postgres://user@host:5432/db
  Creates or upgrades the PostgreSQL index schema (versioned migrations; serve also runs them at start)
  and prints the versions it applied. Safe to run from several places at once.
kestrel migrate --index postgres://… --from-data ./data
  Also moves an existing single-node data folder into the cluster's index: streams (same ids),
  fragments, users, keys, sessions, events, jobs, outbox, detection settings and secrets. Media stays
  in the folder: start the node that serves it with --index … --data ./data. Every node of the
  cluster must then use this folder's server key (KESTREL_SERVER_KEY = the hex in DIR/server.key).
${optionsUsage(MIGRATE_OPTIONS, '    ')}`;

export async function migrate(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, out: (line: string) => void = (l) => process.stdout.write(l + '\n')): Promise<void> {
  const opts = resolveOptions(MIGRATE_OPTIONS, argv, env);
  if (opts.positionals.length) throw new UsageError(`unexpected argument "${opts.positionals[0]}"`);
  const url = opts.string('index');
  if (!url) throw new UsageError('give the database: --index postgres://… (or KESTREL_INDEX_URL)');
  const pool = openPgPool(url, { max: 1 });
  try {
    const { applied, current } = await applyMigrations(pool);
    for (const m of applied) out(`applied ${String(m.version).padStart(4, '0')} ${m.name}`);
    out(`${redactedUrl(url)}: schema version ${current}${applied.length === 0 ? ' (already up to date)' : ''}`);
    const fromData = opts.string('from-data');
    if (fromData) await importDataFolder(path.resolve(fromData), pool, env, out);
  } finally {
    await pool.end();
  }
}

async function importDataFolder(dataDir: string, pool: pg.Pool, env: NodeJS.ProcessEnv, out: (line: string) => void): Promise<void> {
  const file = path.join(dataDir, 'index.sqlite');
  if (!fs.existsSync(file)) throw new UsageError(`${dataDir} has no index.sqlite: is it a Kestrel data folder?`);
  // Access-key secrets are encrypted under the folder's server key: the cluster must share it.
  await checkSharedServerKey(pool, loadOrCreateServerKey(dataDir, env.KESTREL_SERVER_KEY));
  const db = new Database(file);
  try {
    const index = await importIndex({ db, pool, onProgress: (line) => out(`  ${line}`) });
    const work = await importWorkStores({ db, dataDir, pool });
    const rows = { ...index.rows, ...work.rows };
    out(`imported from ${dataDir}: ${Object.entries(rows).map(([t, n]) => `${t} ${n}`).join(', ')}`);
    out(`secrets: ${Object.entries(work.secrets).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    if (index.conflicts.length) {
      out(`not imported (the cluster already has a stream of that name with another id): ${index.conflicts.join(', ')}`);
      process.exitCode = 1;
    }
  } finally {
    db.close();
  }
}
