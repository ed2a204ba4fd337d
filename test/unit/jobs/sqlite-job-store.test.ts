import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { SqliteEventStore } from '../../../src/events/sqlite-event-store.ts';
import { SqliteJobStore } from '../../../src/jobs/job-store.ts';
import { jobStoreContract } from '../../support/job-store-contract.ts';

jobStoreContract('sqlite', async () => {
  const db = new Database(':memory:');
  const events = new SqliteEventStore(db);
  return { jobs: new SqliteJobStore(db, events), events, close: () => void db.close() };
});

describe('SqliteJobStore', () => {
  it('adds the lease columns to a jobs table of an older version, keeping its jobs', async () => {
    const db = new Database(':memory:');
    db.exec(`CREATE TABLE kestrel_jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL, stream TEXT NOT NULL, start_ms INTEGER NOT NULL,
      end_ms INTEGER NOT NULL, created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER, error TEXT, request TEXT NOT NULL,
      config TEXT NOT NULL, fragments TEXT, position INTEGER NOT NULL DEFAULT 0, open TEXT NOT NULL DEFAULT '[]',
      replay_from INTEGER NOT NULL DEFAULT 0, frames_done INTEGER NOT NULL DEFAULT 0, events INTEGER NOT NULL DEFAULT 0)`);
    db.prepare(`INSERT INTO kestrel_jobs (id, status, stream, start_ms, end_ms, created_at, request, config)
      VALUES ('old', 'running', 'cam', 0, 1, 5, '{"stream":"cam","startMs":0,"endMs":1}', '{"sampling":2}')`).run();
    const store = new SqliteJobStore(db, new SqliteEventStore(db));
    expect((await store.unfinished()).map((s) => s.job.id)).toEqual(['old']);
    expect(await store.claim('old', 'node-a', 10, 100)).toBe(true);
  });
});
