import Database from 'better-sqlite3';
import { SqliteEventStore } from '../../../src/events/sqlite-event-store.ts';
import { SqliteJobStore } from '../../../src/jobs/job-store.ts';
import { jobStoreContract } from '../../support/job-store-contract.ts';

jobStoreContract('sqlite', async () => {
  const db = new Database(':memory:');
  const events = new SqliteEventStore(db);
  return { jobs: new SqliteJobStore(db, events), events, close: () => void db.close() };
});
