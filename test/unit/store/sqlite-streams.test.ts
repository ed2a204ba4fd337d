import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KvsError } from '../../../src/shared/errors.ts';
import { openSqlite, type SqliteDb } from '../../../src/store/sqlite-db.ts';
import { SqliteStreamRepository } from '../../../src/store/sqlite-streams.ts';
import type { StreamRecord } from '../../../src/store/types.ts';
import { streamRecord } from '../../support/stream-record.ts';

const record = (name: string, extra: Partial<StreamRecord> = {}) =>
  streamRecord(name, { arn: `arn:aws:kinesisvideo:us-east-1:000000000000:stream/${name}/1700000000000`, ...extra });

let db: SqliteDb;
let repo: SqliteStreamRepository;
beforeEach(() => {
  db = openSqlite(':memory:');
  repo = new SqliteStreamRepository(db);
});
afterEach(() => db.close());

describe('SqliteStreamRepository', () => {
  it('round-trips every field, JSON columns included', async () => {
    const full = record('s1', {
      mediaType: 'video/h264',
      deviceName: 'dev',
      tags: JSON.parse('{"a":"b","__proto__":"x"}') as Record<string, string>,
      storageTier: 'WARM',
      imageGenerationConfig: { Status: 'ENABLED', SamplingInterval: 3000 },
      notificationConfig: { Status: 'DISABLED', DestinationConfig: { Uri: 'arn:aws:sns:x' } },
    });
    const created = await repo.create(full);
    expect(await repo.getById(created.id)).toEqual(created);
    expect(await repo.getByName('s1')).toEqual(created);
    expect(await repo.getByArn(full.arn)).toEqual(created);
    expect(await repo.getByName('nope')).toBeUndefined();
  });

  it('refuses a duplicate name with ResourceInUseException', async () => {
    await repo.create(record('dup'));
    const err = await repo.create(record('dup', { arn: 'other' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KvsError);
    expect((err as KvsError).kvsName).toBe('ResourceInUseException');
  });

  it('never reuses an id, even for the same name after deletion', async () => {
    const a = await repo.create(record('a'));
    await repo.remove(a.id);
    const again = await repo.create(record('a'));
    expect(again.id).toBeGreaterThan(a.id);
    expect(await repo.getById(a.id)).toBeUndefined();
  });

  it('lists in name order with prefix, cursor and limit; "_" is not a wildcard', async () => {
    for (const n of ['cam_2', 'cam_1', 'camX1', 'door', 'cam.1']) await repo.create(record(n, { arn: `arn-${n}` }));
    expect((await repo.list({ limit: 10 })).map((s) => s.name)).toEqual(['cam.1', 'camX1', 'cam_1', 'cam_2', 'door']);
    expect((await repo.list({ prefix: 'cam_', limit: 10 })).map((s) => s.name)).toEqual(['cam_1', 'cam_2']);
    expect((await repo.list({ prefix: 'cam', afterName: 'camX1', limit: 1 })).map((s) => s.name)).toEqual(['cam_1']);
    expect(await repo.count()).toBe(5);
  });

  it('saves changes by id', async () => {
    const s = await repo.create(record('s'));
    await repo.save({ ...s, version: 'v2', tags: { k: 'v' }, imageGenerationConfig: null, dataRetentionInHours: 5 });
    expect(await repo.getById(s.id)).toMatchObject({ version: 'v2', tags: { k: 'v' }, dataRetentionInHours: 5 });
  });

  it('keeps its data across reopening the table (CREATE TABLE IF NOT EXISTS)', async () => {
    await repo.create(record('keep'));
    const reopened = new SqliteStreamRepository(db);
    expect((await reopened.getByName('keep'))?.name).toBe('keep');
  });
});
