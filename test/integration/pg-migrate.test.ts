import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';
import { loadMigrations, migrate } from '../../src/store/pg/migrate.ts';

describe('PostgreSQL migrations', () => {
  let db: TestDatabase | undefined;
  afterEach(async () => {
    await db?.drop();
    db = undefined;
  });

  it('applies every version once, in order, even when several nodes migrate at the same time', async () => {
    db = await createTestDatabase({ migrated: false });
    const results = await Promise.all([migrate(db.pool), migrate(db.pool), migrate(db.pool)]);
    const all = loadMigrations();
    expect(results.flatMap((r) => r.applied.map((m) => m.version)).sort((a, b) => a - b)).toEqual(all.map((m) => m.version));
    for (const r of results) expect(r.current).toBe(all.at(-1)!.version);
    const rows = await db.pool.query('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.rows.map((r) => r.version)).toEqual(all.map((m) => m.version));
    expect((await migrate(db.pool)).applied).toEqual([]);
  });
});
