import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../../src/events/event-store.ts';
import { startEvent } from '../../../src/events/lifecycle.ts';
import { SqliteEventStore } from '../../../src/events/sqlite-event-store.ts';
import { eventStoreContract, observation } from '../../support/event-store-contract.ts';

eventStoreContract('sqlite', async () => {
  const db = new Database(':memory:');
  return { store: new SqliteEventStore(db), close: () => void db.close() };
});

describe('SqliteEventStore', () => {
  it('survives reopening the database and rejects bad cursors', async () => {
    const db = new Database(':memory:');
    const ev = startEvent({ name: 'cam', arn: 'arn:cam' }, observation(1, 0.8));
    await new SqliteEventStore(db).record(ev);
    expect((await new SqliteEventStore(db).get(ev.id))?.topScore).toBe(0.8);
    expect(decodeCursor(encodeCursor(5, 'x'))).toEqual({ startTime: 5, id: 'x' });
    expect(() => decodeCursor('garbage')).toThrow(/nextToken/);
  });
});
