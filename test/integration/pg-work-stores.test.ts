/**
 * Every work-store contract against PostgreSQL: one fresh migrated database for the file, tables
 * emptied before each test.
 */
import { afterAll, beforeAll } from 'vitest';
import { createWorkStores } from '../../src/app-work-stores.ts';
import { PgSecretStore } from '../../src/store/pg/pg-secret-store.ts';
import { checkpointStoreContract } from '../support/checkpoint-store-contract.ts';
import { detectConfigStoreContract } from '../support/detect-config-store-contract.ts';
import { eventStoreContract } from '../support/event-store-contract.ts';
import { jobStoreContract } from '../support/job-store-contract.ts';
import { outboxContract } from '../support/outbox-contract.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';
import { secretStoreContract } from '../support/secret-store-contract.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const TABLES = [
  'kestrel_events', 'kestrel_event_messages', 'kestrel_jobs', 'kestrel_job_frames', 'kestrel_webhook_outbox',
  'kestrel_webhook_dead_letters', 'kestrel_detect_config', 'kestrel_detect_checkpoints', 'kestrel_secrets',
];

async function fresh() {
  await db.pool.query(`TRUNCATE ${TABLES.join(', ')} RESTART IDENTITY`);
  return { ...createWorkStores({ kind: 'postgres', pool: db.pool }), close: () => {} };
}

eventStoreContract('postgres', async () => {
  const s = await fresh();
  return { store: s.events, close: s.close };
});
jobStoreContract('postgres', async () => {
  const s = await fresh();
  return { jobs: s.jobs, events: s.events, close: s.close };
});
outboxContract('postgres', async () => {
  const s = await fresh();
  return { outbox: s.outbox, close: s.close };
});
detectConfigStoreContract('postgres', async () => {
  const s = await fresh();
  return { store: s.detectConfig, close: s.close };
});
checkpointStoreContract('postgres', async () => {
  const s = await fresh();
  return { store: s.checkpoints, close: s.close };
});
secretStoreContract('postgres', async () => {
  const s = await fresh();
  return { store: s.secrets, another: () => new PgSecretStore(db.pool), close: s.close };
});
