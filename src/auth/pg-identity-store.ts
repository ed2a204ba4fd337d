/**
 * IdentityStore in the shared PostgreSQL index (tables `kestrel_users`, `kestrel_access_keys`,
 * migration 0003). Same contract as SqliteIdentityStore (test/support/identity-store-contract.ts).
 *
 * Key secrets are encrypted under the server key, which every node must share: `checkSharedServerKey`
 * refuses to start a node whose key differs from the one the index was written with. Decrypted keys
 * are cached for KEY_CACHE_TTL_MS (every signed request looks one up): a revocation or role change
 * made on another node applies here within that time; on this node, at once.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import { checkNewUser, checkPatch, checkUserName } from './identity-rules.ts';
import { checkPassword, decryptSecret, encryptSecret, hashPassword, newAccessKeyId, newSecretAccessKey } from './secrets.ts';
import { IdentityError, type AccessKeyInfo, type AccessKeyPair, type IdentityStore, type NewUser, type Role, type User, type UserPatch } from './types.ts';

interface UserRow {
  name: string;
  role: Role;
  producer_scope: string[] | null;
  password_hash: string | null;
  created_at: string;
}

interface KeyRow {
  access_key_id: string;
  user_name: string;
  secret_enc: string;
  created_at: string;
}

type FoundKey = { key: AccessKeyInfo; secretAccessKey: string; user: User };

const KEY_CACHE_MAX = 1024;
export const KEY_CACHE_TTL_MS = 2_000;
const UNIQUE_VIOLATION = '23505';

const toUser = (r: UserRow): User => ({
  name: r.name,
  role: r.role,
  ...(r.producer_scope ? { producerScope: r.producer_scope } : {}),
  hasPassword: r.password_hash !== null,
  createdAt: Number(r.created_at),
});

const toKey = (r: KeyRow): AccessKeyInfo => ({ accessKeyId: r.access_key_id, user: r.user_name, createdAt: Number(r.created_at) });

export class PgIdentityStore implements IdentityStore {
  private readonly keyCache = new Map<string, { found: FoundKey; at: number }>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly serverKey: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  async listUsers(): Promise<User[]> {
    return (await this.pool.query<UserRow>('SELECT * FROM kestrel_users ORDER BY name COLLATE "C"')).rows.map(toUser);
  }

  async getUser(name: string): Promise<User | undefined> {
    const row = await this.userRow(name);
    return row && toUser(row);
  }

  async createUser(input: NewUser): Promise<User> {
    checkNewUser(input);
    const hash = input.password !== undefined ? await hashPassword(input.password) : null;
    const scope = input.role === 'producer' && input.producerScope ? JSON.stringify(input.producerScope) : null;
    this.keyCache.clear();
    try {
      const { rows } = await this.pool.query<UserRow>(
        'INSERT INTO kestrel_users (name, role, producer_scope, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING *',
        [input.name, input.role, scope, hash, this.now()],
      );
      return toUser(rows[0]!);
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) throw new IdentityError('exists', `User ${input.name} already exists.`);
      throw err;
    }
  }

  async updateUser(name: string, patch: UserPatch): Promise<User> {
    checkPatch(patch);
    const hash = patch.password !== undefined ? await hashPassword(patch.password) : undefined;
    const row = await this.userRow(name);
    if (!row) throw new IdentityError('not-found', `User ${name} does not exist.`);
    const role = patch.role ?? row.role;
    let scope = patch.producerScope === undefined ? row.producer_scope : patch.producerScope;
    if (role !== 'producer') scope = null;
    else if (!scope) throw new IdentityError('invalid', 'A producer needs a producerScope (stream names or prefixes ending in *).');
    this.keyCache.clear();
    // Only the fields this patch sets are written: a concurrent patch of other fields is not undone.
    const { rows } = await this.pool.query<UserRow>(
      `UPDATE kestrel_users SET role = $1, producer_scope = $2, password_hash = COALESCE($3, password_hash)
       WHERE name = $4 RETURNING *`,
      [role, scope === null ? null : JSON.stringify(scope), hash ?? null, name],
    );
    if (!rows[0]) throw new IdentityError('not-found', `User ${name} does not exist.`);
    return toUser(rows[0]);
  }

  async deleteUser(name: string): Promise<boolean> {
    this.keyCache.clear();
    return ((await this.pool.query('DELETE FROM kestrel_users WHERE name = $1', [name])).rowCount ?? 0) > 0;
  }

  async verifyPassword(name: string, password: string): Promise<User | undefined> {
    const row = await this.userRow(name);
    if (!row?.password_hash) return undefined;
    return (await checkPassword(password, row.password_hash)) ? toUser(row) : undefined;
  }

  async createAccessKey(user: string, explicit?: AccessKeyPair): Promise<AccessKeyPair> {
    checkUserName(user);
    if (!(await this.userRow(user))) throw new IdentityError('not-found', `User ${user} does not exist.`);
    const pair = explicit ?? { accessKeyId: newAccessKeyId(), secretAccessKey: newSecretAccessKey() };
    if (!/^[A-Za-z0-9_.+=@-]{4,128}$/.test(pair.accessKeyId)) throw new IdentityError('invalid', 'Access key ids are 4-128 characters: letters, digits, _ . + = @ -.');
    if (pair.secretAccessKey.length < 8 || pair.secretAccessKey.length > 256) throw new IdentityError('invalid', 'Secret access keys are 8-256 characters.');
    this.keyCache.clear();
    try {
      await this.pool.query(
        `INSERT INTO kestrel_access_keys (access_key_id, user_name, secret_enc, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (access_key_id) DO UPDATE SET user_name = excluded.user_name, secret_enc = excluded.secret_enc`,
        [pair.accessKeyId, user, encryptSecret(this.serverKey, pair.secretAccessKey, pair.accessKeyId), this.now()],
      );
    } catch (err) {
      // The user was deleted between the check and the insert (foreign key).
      if ((err as { code?: string }).code === '23503') throw new IdentityError('not-found', `User ${user} does not exist.`);
      throw err;
    }
    return pair;
  }

  async listAccessKeys(user?: string): Promise<AccessKeyInfo[]> {
    const { rows } =
      user === undefined
        ? await this.pool.query<KeyRow>('SELECT * FROM kestrel_access_keys ORDER BY user_name COLLATE "C", created_at, access_key_id COLLATE "C"')
        : await this.pool.query<KeyRow>('SELECT * FROM kestrel_access_keys WHERE user_name = $1 ORDER BY created_at, access_key_id COLLATE "C"', [user]);
    return rows.map(toKey);
  }

  async revokeAccessKey(accessKeyId: string): Promise<boolean> {
    this.keyCache.clear();
    return ((await this.pool.query('DELETE FROM kestrel_access_keys WHERE access_key_id = $1', [accessKeyId])).rowCount ?? 0) > 0;
  }

  async lookupAccessKey(accessKeyId: string): Promise<FoundKey | undefined> {
    const cached = this.keyCache.get(accessKeyId);
    if (cached && Date.now() - cached.at < KEY_CACHE_TTL_MS) return cached.found;
    this.keyCache.delete(accessKeyId);
    const { rows } = await this.pool.query<KeyRow & { u_name: string; u_role: Role; u_scope: string[] | null; u_hash: string | null; u_created: string }>(
      `SELECT k.*, u.name AS u_name, u.role AS u_role, u.producer_scope AS u_scope, u.password_hash AS u_hash, u.created_at AS u_created
       FROM kestrel_access_keys k JOIN kestrel_users u ON u.name = k.user_name WHERE k.access_key_id = $1`,
      [accessKeyId],
    );
    const row = rows[0];
    if (!row) return undefined;
    const user = toUser({ name: row.u_name, role: row.u_role, producer_scope: row.u_scope, password_hash: row.u_hash, created_at: row.u_created });
    const found = { key: toKey(row), secretAccessKey: decryptSecret(this.serverKey, row.secret_enc, row.access_key_id), user };
    if (this.keyCache.size >= KEY_CACHE_MAX) this.keyCache.delete(this.keyCache.keys().next().value!);
    this.keyCache.set(accessKeyId, { found, at: Date.now() });
    return found;
  }

  private async userRow(name: string): Promise<UserRow | undefined> {
    return (await this.pool.query<UserRow>('SELECT * FROM kestrel_users WHERE name = $1', [name])).rows[0];
  }
}

/**
 * Records an HMAC of the server key in the index on first use, and throws when this node's key
 * differs: access-key secrets written by one node must be readable by every other.
 */
export async function checkSharedServerKey(pool: pg.Pool, serverKey: Buffer): Promise<void> {
  const mine = createHmac('sha256', serverKey).update('kestrel server key check v1').digest('hex');
  await pool.query("INSERT INTO kestrel_info (key, value) VALUES ('server_key_check', $1) ON CONFLICT (key) DO NOTHING", [mine]);
  const stored = (await pool.query<{ value: string }>("SELECT value FROM kestrel_info WHERE key = 'server_key_check'")).rows[0]!.value;
  if (stored.length !== mine.length || !timingSafeEqual(Buffer.from(stored), Buffer.from(mine))) {
    throw new Error('this node\'s server key differs from the one the PostgreSQL index was written with: give every node the same KESTREL_SERVER_KEY');
  }
}
