/**
 * IdentityStore on the index database. Tables `kestrel_users` and `kestrel_access_keys` (keys are
 * deleted with their user). Key secrets are stored AES-256-GCM-encrypted under the server key.
 */
import type Database from 'better-sqlite3';
import { checkNewUser, checkPatch, checkUserName } from './identity-rules.ts';
import { checkPassword, decryptSecret, encryptSecret, hashPassword, newAccessKeyId, newSecretAccessKey } from './secrets.ts';
import { IdentityError, type AccessKeyInfo, type AccessKeyPair, type IdentityStore, type NewUser, type Role, type User, type UserPatch } from './types.ts';

interface UserRow {
  name: string;
  role: Role;
  producer_scope: string | null;
  password_hash: string | null;
  created_at: number;
}

interface KeyRow {
  access_key_id: string;
  user_name: string;
  secret_enc: string;
  created_at: number;
}

const toUser = (r: UserRow): User => ({
  name: r.name,
  role: r.role,
  ...(r.producer_scope ? { producerScope: JSON.parse(r.producer_scope) as string[] } : {}),
  hasPassword: r.password_hash !== null,
  createdAt: r.created_at,
});

const toKey = (r: KeyRow): AccessKeyInfo => ({ accessKeyId: r.access_key_id, user: r.user_name, createdAt: r.created_at });

type FoundKey = { key: AccessKeyInfo; secretAccessKey: string; user: User };

/** Decrypted keys kept for SigV4 (every signed request looks one up); cleared on every write. */
const KEY_CACHE_MAX = 1024;

export class SqliteIdentityStore implements IdentityStore {
  private readonly stmts;
  private readonly keyCache = new Map<string, FoundKey>();

  constructor(
    private readonly db: Database.Database,
    private readonly serverKey: Buffer,
    private readonly now: () => number = Date.now,
  ) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS kestrel_users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        producer_scope TEXT,
        password_hash TEXT,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS kestrel_access_keys (
        access_key_id TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES kestrel_users(name) ON DELETE CASCADE,
        secret_enc TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS kestrel_access_keys_user ON kestrel_access_keys (user_name);
    `);
    this.stmts = {
      listUsers: db.prepare<[], UserRow>('SELECT * FROM kestrel_users ORDER BY name'),
      getUser: db.prepare<[string], UserRow>('SELECT * FROM kestrel_users WHERE name = ?'),
      insertUser: db.prepare('INSERT INTO kestrel_users (name, role, producer_scope, password_hash, created_at) VALUES (?, ?, ?, ?, ?)'),
      updateUser: db.prepare('UPDATE kestrel_users SET role = ?, producer_scope = ?, password_hash = ? WHERE name = ?'),
      deleteUser: db.prepare('DELETE FROM kestrel_users WHERE name = ?'),
      upsertKey: db.prepare(
        `INSERT INTO kestrel_access_keys (access_key_id, user_name, secret_enc, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(access_key_id) DO UPDATE SET user_name = excluded.user_name, secret_enc = excluded.secret_enc`,
      ),
      listKeys: db.prepare<[], KeyRow>('SELECT * FROM kestrel_access_keys ORDER BY user_name, created_at, access_key_id'),
      listUserKeys: db.prepare<[string], KeyRow>('SELECT * FROM kestrel_access_keys WHERE user_name = ? ORDER BY created_at, access_key_id'),
      getKey: db.prepare<[string], KeyRow>('SELECT * FROM kestrel_access_keys WHERE access_key_id = ?'),
      deleteKey: db.prepare('DELETE FROM kestrel_access_keys WHERE access_key_id = ?'),
    };
  }

  async listUsers(): Promise<User[]> {
    return this.stmts.listUsers.all().map(toUser);
  }

  async getUser(name: string): Promise<User | undefined> {
    const row = this.stmts.getUser.get(name);
    return row ? toUser(row) : undefined;
  }

  async createUser(input: NewUser): Promise<User> {
    checkNewUser(input);
    const hash = input.password !== undefined ? await hashPassword(input.password) : null;
    if (this.stmts.getUser.get(input.name)) throw new IdentityError('exists', `User ${input.name} already exists.`);
    const scope = input.role === 'producer' && input.producerScope ? JSON.stringify(input.producerScope) : null;
    this.keyCache.clear();
    this.stmts.insertUser.run(input.name, input.role, scope, hash, this.now());
    return toUser(this.stmts.getUser.get(input.name)!);
  }

  async updateUser(name: string, patch: UserPatch): Promise<User> {
    checkPatch(patch);
    const hash = patch.password !== undefined ? await hashPassword(patch.password) : undefined;
    const row = this.stmts.getUser.get(name);
    if (!row) throw new IdentityError('not-found', `User ${name} does not exist.`);
    const role = patch.role ?? row.role;
    let scope = patch.producerScope === undefined ? row.producer_scope : patch.producerScope === null ? null : JSON.stringify(patch.producerScope);
    if (role !== 'producer') scope = null;
    else if (!scope) throw new IdentityError('invalid', 'A producer needs a producerScope (stream names or prefixes ending in *).');
    this.keyCache.clear();
    this.stmts.updateUser.run(role, scope, hash ?? row.password_hash, name);
    return toUser(this.stmts.getUser.get(name)!);
  }

  async deleteUser(name: string): Promise<boolean> {
    this.keyCache.clear();
    return this.stmts.deleteUser.run(name).changes > 0;
  }

  async verifyPassword(name: string, password: string): Promise<User | undefined> {
    const row = this.stmts.getUser.get(name);
    if (!row?.password_hash) return undefined;
    return (await checkPassword(password, row.password_hash)) ? toUser(row) : undefined;
  }

  async createAccessKey(user: string, explicit?: AccessKeyPair): Promise<AccessKeyPair> {
    checkUserName(user);
    if (!this.stmts.getUser.get(user)) throw new IdentityError('not-found', `User ${user} does not exist.`);
    const pair = explicit ?? { accessKeyId: newAccessKeyId(), secretAccessKey: newSecretAccessKey() };
    if (!/^[A-Za-z0-9_.+=@-]{4,128}$/.test(pair.accessKeyId)) throw new IdentityError('invalid', 'Access key ids are 4-128 characters: letters, digits, _ . + = @ -.');
    if (pair.secretAccessKey.length < 8 || pair.secretAccessKey.length > 256) throw new IdentityError('invalid', 'Secret access keys are 8-256 characters.');
    this.keyCache.clear();
    this.stmts.upsertKey.run(pair.accessKeyId, user, encryptSecret(this.serverKey, pair.secretAccessKey, pair.accessKeyId), this.now());
    return pair;
  }

  async listAccessKeys(user?: string): Promise<AccessKeyInfo[]> {
    return (user === undefined ? this.stmts.listKeys.all() : this.stmts.listUserKeys.all(user)).map(toKey);
  }

  async revokeAccessKey(accessKeyId: string): Promise<boolean> {
    this.keyCache.clear();
    return this.stmts.deleteKey.run(accessKeyId).changes > 0;
  }

  async lookupAccessKey(accessKeyId: string): Promise<FoundKey | undefined> {
    const cached = this.keyCache.get(accessKeyId);
    if (cached) return cached;
    const row = this.stmts.getKey.get(accessKeyId);
    if (!row) return undefined;
    const user = this.stmts.getUser.get(row.user_name);
    if (!user) return undefined;
    const found = { key: toKey(row), secretAccessKey: decryptSecret(this.serverKey, row.secret_enc, row.access_key_id), user: toUser(user) };
    if (this.keyCache.size >= KEY_CACHE_MAX) this.keyCache.delete(this.keyCache.keys().next().value!);
    this.keyCache.set(accessKeyId, found);
    return found;
  }
}
