import { PgStreamLeaseStore } from '../../src/store/pg/pg-leases.ts';
import { createTestDatabase } from '../support/pg.ts';
import { leaseStoreContract } from '../support/lease-store-contract.ts';

leaseStoreContract('postgresql', async () => {
  const db = await createTestDatabase();
  const a = new PgStreamLeaseStore(db.pool);
  const b = new PgStreamLeaseStore(db.pool);
  return {
    a,
    b,
    // As if the TTL had passed for this lease (judged by the database clock, as in production).
    expire: async (streamId) => {
      await db.pool.query("UPDATE stream_leases SET expires_at = now() - interval '1 millisecond' WHERE stream_id = $1", [streamId]);
    },
    close: () => db.drop(),
  };
});
