/**
 * The work stores of one node — detection events, analysis jobs, the webhook outbox, detection config
 * overrides and checkpoints, shared secrets — on the embedded SQLite index (single node, the default)
 * or on the PostgreSQL index (`--index postgres://…`, several nodes). Each is a port with both
 * implementations side by side; nothing else in src/ picks an implementation.
 */
import path from 'node:path';
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { PgCheckpointStore } from './detect/pg-checkpoints.ts';
import { SqliteCheckpointStore, type CheckpointStore } from './detect/checkpoints.ts';
import { PgDetectConfigStore } from './detect/pg-detect-config-store.ts';
import { SqliteDetectConfigStore, type DetectConfigOverrides } from './detect/detect-config-store.ts';
import type { EventStore } from './events/event-store.ts';
import { PgEventStore } from './events/pg-event-store.ts';
import { SqliteEventStore } from './events/sqlite-event-store.ts';
import { SqliteJobStore, type JobStore } from './jobs/job-store.ts';
import { PgJobStore } from './jobs/pg-job-store.ts';
import { SqliteOutbox, type Outbox } from './notify/outbox.ts';
import { PgOutbox } from './notify/pg-outbox.ts';
import { PgSecretStore } from './store/pg/pg-secret-store.ts';
import { FileSecretStore, type SecretStore } from './store/secret-store.ts';

export type WorkStoresBackend =
  | {
      kind: 'sqlite';
      db: Database.Database;
      /** Secrets (`session-secret`, `webhook-secret`) and the pre-SQLite checkpoint file live here. */
      dataDir: string;
      /** File name of the old JSON checkpoints in `dataDir`, imported once (default `detect-checkpoints.json`). */
      legacyCheckpointsFile?: string;
      onLog?: (line: string) => void;
    }
  | { kind: 'postgres'; pool: pg.Pool };

export interface WorkStores {
  events: EventStore;
  jobs: JobStore;
  outbox: Outbox;
  detectConfig: DetectConfigOverrides;
  checkpoints: CheckpointStore;
  secrets: SecretStore;
}

export function createWorkStores(backend: WorkStoresBackend): WorkStores {
  if (backend.kind === 'postgres') {
    // Tables come from migration 0004_work.sql / 0005_secrets.sql (`kestrel migrate`, also run at start).
    const events = new PgEventStore(backend.pool);
    return {
      events,
      jobs: new PgJobStore(backend.pool, events),
      outbox: new PgOutbox(backend.pool),
      detectConfig: new PgDetectConfigStore(backend.pool),
      checkpoints: new PgCheckpointStore(backend.pool),
      secrets: new PgSecretStore(backend.pool),
    };
  }
  const { db, dataDir } = backend;
  const events = new SqliteEventStore(db);
  return {
    events,
    jobs: new SqliteJobStore(db, events),
    outbox: new SqliteOutbox(db),
    detectConfig: new SqliteDetectConfigStore(db),
    checkpoints: new SqliteCheckpointStore(db, {
      legacyFile: path.join(dataDir, backend.legacyCheckpointsFile ?? 'detect-checkpoints.json'),
      ...(backend.onLog ? { onLog: backend.onLog } : {}),
    }),
    secrets: new FileSecretStore(dataDir),
  };
}
