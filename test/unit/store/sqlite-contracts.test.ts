/** The store contracts on the embedded SQLite implementations (the PostgreSQL run: test/integration/pg-stores.test.ts). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqlite } from '../../../src/store/sqlite-db.ts';
import { SqliteStreamRepository } from '../../../src/store/sqlite-streams.ts';
import { SqliteFragmentIndex } from '../../../src/store/sqlite-fragments.ts';
import { SqliteSessionStore } from '../../../src/auth/sqlite-session-store.ts';
import { streamRepositoryContract } from '../../support/stream-repository-contract.ts';
import { fragmentIndexContract } from '../../support/fragment-index-contract.ts';
import { sessionStoreContract } from '../../support/session-store-contract.ts';

streamRepositoryContract('sqlite', async () => {
  const db = openSqlite(':memory:');
  return { repo: new SqliteStreamRepository(db), another: () => new SqliteStreamRepository(db), close: () => void db.close() };
});

fragmentIndexContract('sqlite in memory (inline writes)', async () => {
  const db = openSqlite(':memory:');
  const index = new SqliteFragmentIndex(db);
  return {
    index,
    close: async () => {
      await index.close();
      db.close();
    },
  };
});

fragmentIndexContract('sqlite file (writer thread)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-fragments-'));
  const file = path.join(dir, 'index.sqlite');
  const db = openSqlite(file);
  const index = new SqliteFragmentIndex(db, file);
  return {
    index,
    close: async () => {
      await index.close();
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

sessionStoreContract('sqlite', async () => {
  const db = openSqlite(':memory:');
  return { store: new SqliteSessionStore(db), close: () => void db.close() };
});
