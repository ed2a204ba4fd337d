import Database from 'better-sqlite3';
import { MemoryDetectConfigStore, SqliteDetectConfigStore } from '../../../src/detect/detect-config-store.ts';
import { detectConfigStoreContract } from '../../support/detect-config-store-contract.ts';

detectConfigStoreContract('sqlite', async () => {
  const db = new Database(':memory:');
  return { store: new SqliteDetectConfigStore(db), close: () => void db.close() };
});

detectConfigStoreContract('memory', async () => ({ store: new MemoryDetectConfigStore(), close: () => {} }));
