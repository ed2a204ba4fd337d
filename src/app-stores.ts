/**
 * The index stores the server runs on: streams, fragments and headers, identities and viewer
 * sessions. Embedded (default): SQLite in `<data>/index.sqlite`, exactly as before. With
 * `--index postgres://…` (KESTREL_INDEX_URL): the shared PostgreSQL index, migrated at start.
 * Other stores (events, jobs, outbox, detection) still live in the SQLite database either way.
 */
import type pg from 'pg';
import type { KestrelConfig } from './config.ts';
import type { Logger } from './shared/logger.ts';
import type { SqliteDb } from './store/sqlite-db.ts';
import type { FragmentIndex, MediaLocationIndex, StreamRepository } from './store/types.ts';
import type { IdentityStore } from './auth/types.ts';
import type { SessionStore } from './auth/session-store.ts';
import { SqliteStreamRepository } from './store/sqlite-streams.ts';
import { SqliteFragmentIndex } from './store/sqlite-fragments.ts';
import { SqliteIdentityStore } from './auth/sqlite-identity-store.ts';
import { SqliteSessionStore } from './auth/sqlite-session-store.ts';
import { openPgPool, redactedUrl } from './store/pg/pg-pool.ts';
import { migrate } from './store/pg/migrate.ts';
import { PgStreamRepository } from './store/pg/pg-streams.ts';
import { PgFragmentIndex } from './store/pg/pg-fragments.ts';
import { PgIdentityStore, checkSharedServerKey } from './auth/pg-identity-store.ts';
import { PgSessionStore } from './auth/pg-session-store.ts';
import { pgWritable, sqliteWritable, type ReadinessCheck } from './ops/readiness.ts';

export interface IndexStores {
  kind: 'sqlite' | 'postgres';
  streams: StreamRepository;
  index: FragmentIndex & MediaLocationIndex;
  identities: IdentityStore;
  sessions: SessionStore;
  /** /readyz "index": the index takes a write. */
  readiness: ReadinessCheck;
  /** Other nodes may share this index: recovery must not touch rows it cannot attribute. */
  shared: boolean;
  /** The PostgreSQL index's pool (leases and work stores share it); absent on the embedded index. */
  pool?: pg.Pool;
  /** Waits for queued index writes and closes the index (not the SQLite handle, which app.ts owns). */
  close(): Promise<void>;
}

export async function createIndexStores(o: {
  config: Pick<KestrelConfig, 'indexUrl'>;
  /** The embedded database and its file (the fragment index's writer thread opens its own connection). */
  db: SqliteDb;
  dbFile: string;
  serverKey: Buffer;
  log: Logger;
}): Promise<IndexStores> {
  if (!o.config.indexUrl) {
    const index = new SqliteFragmentIndex(o.db, o.dbFile);
    return {
      kind: 'sqlite',
      streams: new SqliteStreamRepository(o.db),
      index,
      identities: new SqliteIdentityStore(o.db, o.serverKey),
      sessions: new SqliteSessionStore(o.db),
      readiness: sqliteWritable(o.db),
      shared: false,
      close: () => index.close(),
    };
  }
  const pool = openPgPool(o.config.indexUrl);
  try {
    const { applied, current } = await migrate(pool);
    o.log.info({ applied: applied.map((m) => m.version), schemaVersion: current }, 'PostgreSQL index ready');
    await checkSharedServerKey(pool, o.serverKey);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new Error(`PostgreSQL index ${redactedUrl(o.config.indexUrl)}: ${(err as Error).message}`);
  }
  const index = new PgFragmentIndex(pool);
  return {
    kind: 'postgres',
    streams: new PgStreamRepository(pool),
    index,
    identities: new PgIdentityStore(pool, o.serverKey),
    sessions: new PgSessionStore(pool),
    readiness: pgWritable(pool),
    shared: true,
    pool,
    close: async () => {
      await index.close();
      await pool.end();
    },
  };
}
