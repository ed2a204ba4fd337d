/**
 * Stream ownership for the composition root: the lease store (embedded: tables in the SQLite index
 * file; with a PostgreSQL index: PgStreamLeaseStore on the index's pool, so leases, fences and
 * fragment rows share one database) and this node's StreamOwnership.
 */
import os from 'node:os';
import type pg from 'pg';
import type { KestrelConfig } from './config.ts';
import { StreamOwnership } from './ingest/stream-ownership.ts';
import type { Clock } from './shared/clock.ts';
import type { Logger } from './shared/logger.ts';
import type { StreamLeaseStore } from './store/leases.ts';
import { PgStreamLeaseStore } from './store/pg/pg-leases.ts';
import type { SqliteDb } from './store/sqlite-db.ts';
import { SqliteStreamLeaseStore } from './store/sqlite-leases.ts';
import type { FragmentIndex } from './store/types.ts';

export function createOwnership(o: {
  config: Pick<KestrelConfig, 'cluster'>;
  /** The embedded index database (leases go there unless `pgPool` is given). */
  db: SqliteDb;
  /** The PostgreSQL index's pool, when the index is PostgreSQL. */
  pgPool?: pg.Pool;
  index: FragmentIndex;
  /** This node's public base URL, known after listen. */
  publicUrl: () => string;
  clock: Clock;
  log: Logger;
}): StreamOwnership {
  const ttl = o.config.cluster?.leaseTtlMs ? { ttlMs: o.config.cluster.leaseTtlMs } : {};
  const leases: StreamLeaseStore = o.pgPool ? new PgStreamLeaseStore(o.pgPool, ttl) : new SqliteStreamLeaseStore(o.db, ttl);
  return new StreamOwnership({
    leases,
    nodeId: o.config.cluster?.nodeId ?? os.hostname(),
    publicUrl: o.publicUrl,
    latestFragmentNumber: async (id) => (await o.index.latest(id))?.fragmentNumber,
    clock: o.clock,
    log: o.log,
  });
}
