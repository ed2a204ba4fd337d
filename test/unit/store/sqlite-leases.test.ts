import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqlite } from '../../../src/store/sqlite-db.ts';
import { SqliteStreamLeaseStore } from '../../../src/store/sqlite-leases.ts';
import { leaseStoreContract } from '../../support/lease-store-contract.ts';

leaseStoreContract('sqlite (two connections on one file)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-leases-'));
  const file = path.join(dir, 'index.sqlite');
  let now = Date.now();
  const clock = { now: () => now };
  const dbA = openSqlite(file);
  const dbB = openSqlite(file);
  const a = new SqliteStreamLeaseStore(dbA, { clock });
  const b = new SqliteStreamLeaseStore(dbB, { clock });
  return {
    a,
    b,
    // Time passes for everyone: the fake clock moves past the lease's expiry, then a little back
    // so that the other leases stay live (they were acquired after the expired one).
    expire: async (streamId) => {
      dbA.prepare('UPDATE stream_leases SET expires_at = ? WHERE stream_id = ?').run(now - 1, streamId);
      now += 1;
    },
    close: async () => {
      dbA.close();
      dbB.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});
