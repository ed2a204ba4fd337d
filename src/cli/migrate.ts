/**
 * `kestrel migrate --index postgres://…`: creates or upgrades the PostgreSQL index schema (the same
 * versioned migrations `serve` runs at start) and prints what it applied.
 */
import { openPgPool, redactedUrl } from '../store/pg/pg-pool.ts';
import { migrate as applyMigrations } from '../store/pg/migrate.ts';
import { UsageError } from './args.ts';
import { optionsUsage, resolveOptions } from './options.ts';
import { INDEX_OPTION } from './serve-options.ts';

const MIGRATE_OPTIONS = [INDEX_OPTION];

export const MIGRATE_USAGE = `kestrel migrate --index postgres://user@host:5432/db
  Creates or upgrades the PostgreSQL index schema (versioned migrations; serve also runs them at start)
  and prints the versions it applied. Safe to run from several places at once.
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
  } finally {
    await pool.end();
  }
}
