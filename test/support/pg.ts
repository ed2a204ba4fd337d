/**
 * A fresh PostgreSQL database per test file on the machine's server (127.0.0.1:5432, trust auth),
 * migrated to the current schema, and dropped afterwards.
 */
import crypto from 'node:crypto';
import pg from 'pg';
import { openPgPool } from '../../src/store/pg/pg-pool.ts';
import { migrate } from '../../src/store/pg/migrate.ts';

const ADMIN_URL = process.env.KESTREL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

export function databaseUrl(name: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Creates an empty database; `migrated` (default true) applies every migration. */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const name = `kestrel_test_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(name);
  const pool = openPgPool(url, { max: 5 });
  if (options.migrated !== false) await migrate(pool);
  return {
    url,
    pool,
    drop: async () => {
      await pool.end();
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
