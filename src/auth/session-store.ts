/**
 * Where viewer sessions live: an async port with `SqliteSessionStore` (embedded) and
 * `PgSessionStore` (shared index, so a session signed in on one node works on every node); one
 * contract suite, test/support/session-store-contract.ts. Only the SHA-256 of a session token is stored:
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
  insert(session: SessionRecord): Promise<void>;
  get(idHash: string): Promise<SessionRecord | undefined>;
  touch(idHash: string, at: number): Promise<void>;
  delete(idHash: string): Promise<void>;
  /** Ends every session of a user (password reset, user removed); returns how many. */
  deleteUser(user: string): Promise<number>;
  /** Removes sessions idle since before `idleBefore` or created before `createdBefore`; returns how many. */
  deleteExpired(idleBefore: number, createdBefore: number): Promise<number>;
  count(user?: string): Promise<number>;
  /** Removes the `n` least recently used sessions (of `user`, or of anyone); returns how many. */
  deleteLeastRecent(n: number, user?: string): Promise<number>;
}
