/** SQLite-only behaviour of the stream repository; the shared contract runs in sqlite-contracts.test.ts. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqlite, type SqliteDb } from '../../../src/store/sqlite-db.ts';
import { SqliteStreamRepository } from '../../../src/store/sqlite-streams.ts';
import { StaleStreamError } from '../../../src/store/types.ts';
import { streamRecord } from '../../support/stream-record.ts';

let db: SqliteDb;
beforeEach(() => {
  db = openSqlite(':memory:');
});
afterEach(() => db.close());

describe('SqliteStreamRepository', () => {
  it('keeps its data across reopening the table (CREATE TABLE IF NOT EXISTS)', async () => {
    await new SqliteStreamRepository(db).create(streamRecord('keep'));
    const reopened = new SqliteStreamRepository(db);
    expect((await reopened.getByName('keep'))?.name).toBe('keep');
  });

  it('adds the revision column to a database made before optimistic concurrency', async () => {
    db.exec(`CREATE TABLE streams (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, arn TEXT NOT NULL UNIQUE,
      version TEXT NOT NULL, status TEXT NOT NULL, creation_time_ms INTEGER NOT NULL, data_retention_hours INTEGER NOT NULL,
      media_type TEXT, device_name TEXT, kms_key_id TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '{}',
      storage_tier TEXT NOT NULL DEFAULT 'HOT', image_generation_config TEXT, notification_config TEXT)`);
    db.prepare(`INSERT INTO streams (name, arn, version, status, creation_time_ms, data_retention_hours, kms_key_id)
      VALUES ('old', 'arn-old', 'v1', 'ACTIVE', 1, 0, 'k')`).run();
    const repo = new SqliteStreamRepository(db);
    const old = (await repo.getByName('old'))!;
    expect(old.revision).toBe(0);
    const saved = await repo.save({ ...old, tags: { a: 'b' } });
    expect(saved.revision).toBe(1);
    await expect(repo.save(old)).rejects.toBeInstanceOf(StaleStreamError);
  });
});
