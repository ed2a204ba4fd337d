/**
 * Where viewer sessions live. The port is small so another index (PostgreSQL) can hold them; the
 * embedded implementation is `SqliteSessionStore`. Only the SHA-256 of a session token is stored:
 * a copy of the database does not hand out live sessions. Policy (expiry, caps) is SessionService's.
 */
export interface SessionRecord {
  /** hex SHA-256 of the cookie token. */
  idHash: string;
  user: string;
  /** Sent back by the viewer in `x-kestrel-csrf` on every state-changing call. */
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
}

export interface SessionStore {
  insert(session: SessionRecord): void;
  get(idHash: string): SessionRecord | undefined;
  touch(idHash: string, at: number): void;
  delete(idHash: string): void;
  /** Ends every session of a user (password reset, user removed); returns how many. */
  deleteUser(user: string): number;
  /** Removes sessions idle since before `idleBefore` or created before `createdBefore`; returns how many. */
  deleteExpired(idleBefore: number, createdBefore: number): number;
  count(user?: string): number;
  /** Removes the `n` least recently used sessions (of `user`, or of anyone); returns how many. */
  deleteLeastRecent(n: number, user?: string): number;
}
