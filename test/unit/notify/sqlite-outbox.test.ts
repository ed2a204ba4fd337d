import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteOutbox } from '../../../src/notify/outbox.ts';
import { outboxContract } from '../../support/outbox-contract.ts';

outboxContract('sqlite', async () => {
  const db = new Database(':memory:');
  return { outbox: new SqliteOutbox(db), close: () => void db.close() };
});

describe('SqliteOutbox', () => {
  it('adds the lease columns to an outbox table of an older version, keeping its entries', async () => {
    const db = new Database(':memory:');
    db.exec(`CREATE TABLE kestrel_webhook_outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, stream TEXT NOT NULL, event_id TEXT NOT NULL, body TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, last_error TEXT, created_at INTEGER NOT NULL)`);
    db.prepare("INSERT INTO kestrel_webhook_outbox (target, stream, event_id, body, next_attempt_at, created_at) VALUES ('w', 's', 'e', '{}', 1, 1)").run();
    const ob = new SqliteOutbox(db);
    expect((await ob.claimHeads('w', 'me', 5, 100)).map((e) => e.eventId)).toEqual(['e']);
  });
});
