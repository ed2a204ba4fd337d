/**
 * SessionStore in the shared PostgreSQL index (table `kestrel_sessions`, migration 0003): a viewer
 * signed in through one node is signed in on every node. Same contract as SqliteSessionStore
 * (test/support/session-store-contract.ts); only token hashes are stored.
 */
import type pg from 'pg';
import type { SessionRecord, SessionStore } from './session-store.ts';

interface Row {
  id_hash: string;
  user_name: string;
  csrf_token: string;
  created_at: string;
  last_seen_at: string;
}

const toRecord = (r: Row): SessionRecord => ({
  idHash: r.id_hash,
  user: r.user_name,
  csrfToken: r.csrf_token,
  createdAt: Number(r.created_at),
  lastSeenAt: Number(r.last_seen_at),
});

export class PgSessionStore implements SessionStore {
  constructor(private readonly pool: pg.Pool) {}

  async insert(s: SessionRecord): Promise<void> {
    await this.pool.query('INSERT INTO kestrel_sessions (id_hash, user_name, csrf_token, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5)', [
      s.idHash,
      s.user,
      s.csrfToken,
      s.createdAt,
      s.lastSeenAt,
    ]);
  }

  async get(idHash: string): Promise<SessionRecord | undefined> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM kestrel_sessions WHERE id_hash = $1', [idHash]);
    return rows[0] && toRecord(rows[0]);
  }

  async touch(idHash: string, at: number): Promise<void> {
    // GREATEST: two nodes touching at once never move last_seen_at backwards.
    await this.pool.query('UPDATE kestrel_sessions SET last_seen_at = GREATEST(last_seen_at, $1) WHERE id_hash = $2', [at, idHash]);
  }

  async delete(idHash: string): Promise<void> {
    await this.pool.query('DELETE FROM kestrel_sessions WHERE id_hash = $1', [idHash]);
  }

  async deleteUser(user: string): Promise<number> {
    return (await this.pool.query('DELETE FROM kestrel_sessions WHERE user_name = $1', [user])).rowCount ?? 0;
  }

  async deleteExpired(idleBefore: number, createdBefore: number): Promise<number> {
    return (await this.pool.query('DELETE FROM kestrel_sessions WHERE last_seen_at < $1 OR created_at < $2', [idleBefore, createdBefore])).rowCount ?? 0;
  }

  async count(user?: string): Promise<number> {
    const { rows } =
      user === undefined
        ? await this.pool.query<{ n: string }>('SELECT COUNT(*) AS n FROM kestrel_sessions')
        : await this.pool.query<{ n: string }>('SELECT COUNT(*) AS n FROM kestrel_sessions WHERE user_name = $1', [user]);
    return Number(rows[0]!.n);
  }

  async deleteLeastRecent(n: number, user?: string): Promise<number> {
    if (n <= 0) return 0;
    const res =
      user === undefined
        ? await this.pool.query('DELETE FROM kestrel_sessions WHERE id_hash IN (SELECT id_hash FROM kestrel_sessions ORDER BY last_seen_at LIMIT $1)', [n])
        : await this.pool.query(
            'DELETE FROM kestrel_sessions WHERE id_hash IN (SELECT id_hash FROM kestrel_sessions WHERE user_name = $1 ORDER BY last_seen_at LIMIT $2)',
            [user, n],
          );
    return res.rowCount ?? 0;
  }
}
