import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteIdentityStore } from '../../../src/auth/sqlite-identity-store.ts';
import { loadOrCreateServerKey, parseServerKey } from '../../../src/auth/server-key.ts';
import { openSqlite } from '../../../src/store/sqlite-db.ts';
import { identityStoreContract } from '../../support/identity-store-contract.ts';

identityStoreContract('sqlite', async () => {
  const db = openSqlite(':memory:');
  return { store: new SqliteIdentityStore(db, randomBytes(32)), close: () => void db.close() };
});

describe('SqliteIdentityStore at rest', () => {
  it('stores no secret or password in clear, and needs the same server key to read a secret', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-ids-'));
    try {
      const file = path.join(dir, 'index.sqlite');
      const key = loadOrCreateServerKey(dir, undefined);
      expect(fs.statSync(path.join(dir, 'server.key')).mode & 0o777).toBe(0o600);
      expect(loadOrCreateServerKey(dir, undefined).equals(key)).toBe(true);
      let db = openSqlite(file);
      const store = new SqliteIdentityStore(db, key);
      await store.createUser({ name: 'admin', role: 'admin', password: 'admin-password-123' });
      const pair = await store.createAccessKey('admin');
      db.close();
      const bytes = fs.readFileSync(file).toString('latin1') + (fs.existsSync(file + '-wal') ? fs.readFileSync(file + '-wal').toString('latin1') : '');
      expect(bytes).not.toContain(pair.secretAccessKey);
      expect(bytes).not.toContain('admin-password-123');
      db = openSqlite(file);
      expect((await new SqliteIdentityStore(db, key).lookupAccessKey(pair.accessKeyId))?.secretAccessKey).toBe(pair.secretAccessKey);
      await expect(new SqliteIdentityStore(db, randomBytes(32)).lookupAccessKey(pair.accessKeyId)).rejects.toThrow();
      db.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes the server key from KESTREL_SERVER_KEY as hex or base64', () => {
    const raw = randomBytes(32);
    expect(parseServerKey(raw.toString('hex')).equals(raw)).toBe(true);
    expect(parseServerKey(raw.toString('base64')).equals(raw)).toBe(true);
    expect(() => parseServerKey('too-short')).toThrow(/32 bytes/);
  });
});
