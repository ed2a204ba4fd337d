/** A single-node StreamOwnership on an in-memory SQLite lease table, for unit tests of ingest. */
import { StreamOwnership } from '../../src/ingest/stream-ownership.ts';
import type { Clock } from '../../src/shared/clock.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { openSqlite } from '../../src/store/sqlite-db.ts';
import { SqliteStreamLeaseStore } from '../../src/store/sqlite-leases.ts';
import type { SqliteDb } from '../../src/store/sqlite-db.ts';

export function embeddedOwnership(options: { db?: SqliteDb; clock?: Clock; nodeId?: string; latest?: (streamId: number) => Promise<string | undefined> } = {}): StreamOwnership {
  const clock = options.clock ?? { now: () => Date.now() };
  const leases = new SqliteStreamLeaseStore(options.db ?? openSqlite(':memory:'), { clock });
  return new StreamOwnership({
    leases,
    nodeId: options.nodeId ?? 'test-node',
    publicUrl: () => 'http://127.0.0.1:0',
    latestFragmentNumber: options.latest ?? (async () => undefined),
    clock,
    log: silentLogger(),
  });
}
