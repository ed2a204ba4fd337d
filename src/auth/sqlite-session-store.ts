import type Database from 'better-sqlite3';
import type { SessionRecord, SessionStore } from './session-store.ts';

interface Row {
  id_hash: string;
  user: string;
  csrf_token: string;
  created_at: number;
  last_seen_at: number;
}

/** SessionStore on the index database (table `kestrel_sessions`): sessions survive restarts. */
export class SqliteSessionStore implements SessionStore {
  private readonly stmts;

  constructor(db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS kestrel_sessions (
        id_hash TEXT PRIMARY KEY,
        user TEXT NOT NULL,
        csrf_token TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS kestrel_sessions_user ON kestrel_sessions (user, last_seen_at);
      CREATE INDEX IF NOT EXISTS kestrel_sessions_seen ON kestrel_sessions (last_seen_at);
    `);
    this.stmts = {
      insert: db.prepare('INSERT INTO kestrel_sessions (id_hash, user, csrf_token, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)'),
      get: db.prepare<[string], Row>('SELECT * FROM kestrel_sessions WHERE id_hash = ?'),
      touch: db.prepare('UPDATE kestrel_sessions SET last_seen_at = ? WHERE id_hash = ?'),
      delete: db.prepare('DELETE FROM kestrel_sessions WHERE id_hash = ?'),
      deleteUser: db.prepare('DELETE FROM kestrel_sessions WHERE user = ?'),
      deleteExpired: db.prepare('DELETE FROM kestrel_sessions WHERE last_seen_at < ? OR created_at < ?'),
      countAll: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM kestrel_sessions'),
      countUser: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM kestrel_sessions WHERE user = ?'),
      deleteOldestAll: db.prepare('DELETE FROM kestrel_sessions WHERE id_hash IN (SELECT id_hash FROM kestrel_sessions ORDER BY last_seen_at LIMIT ?)'),
      deleteOldestUser: db.prepare(
        'DELETE FROM kestrel_sessions WHERE id_hash IN (SELECT id_hash FROM kestrel_sessions WHERE user = ? ORDER BY last_seen_at LIMIT ?)',
      ),
    };
  }

  async insert(s: SessionRecord): Promise<void> {
    this.stmts.insert.run(s.idHash, s.user, s.csrfToken, s.createdAt, s.lastSeenAt);
  }

  async get(idHash: string): Promise<SessionRecord | undefined> {
    const r = this.stmts.get.get(idHash);
    return r && { idHash: r.id_hash, user: r.user, csrfToken: r.csrf_token, createdAt: r.created_at, lastSeenAt: r.last_seen_at };
  }

  async touch(idHash: string, at: number): Promise<void> {
    this.stmts.touch.run(at, idHash);
  }

  async delete(idHash: string): Promise<void> {
    this.stmts.delete.run(idHash);
  }

  async deleteUser(user: string): Promise<number> {
    return this.stmts.deleteUser.run(user).changes;
  }

  async deleteExpired(idleBefore: number, createdBefore: number): Promise<number> {
    return this.stmts.deleteExpired.run(idleBefore, createdBefore).changes;
  }

  async count(user?: string): Promise<number> {
    return (user === undefined ? this.stmts.countAll.get() : this.stmts.countUser.get(user))?.n ?? 0;
  }

  async deleteLeastRecent(n: number, user?: string): Promise<number> {
    if (n <= 0) return 0;
    return (user === undefined ? this.stmts.deleteOldestAll.run(n) : this.stmts.deleteOldestUser.run(user, n)).changes;
  }
}
