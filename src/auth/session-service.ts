/**
 * Viewer sessions: sign-in with a user name and password, the session behind the cookie, CSRF
 * tokens, sign-out and expiry. Pure policy over two ports (SessionStore, IdentityStore) and a
 * Clock; HTTP lives in session-http.ts.
 *
 * Tokens are 256 random bits; the store keeps only their SHA-256. A session ends after
 * `idleTimeoutMs` without requests or `maxAgeMs` after sign-in, whichever comes first. The number
 * of sessions is capped in total and per user: signing in past a cap ends the least recently used.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../shared/clock.ts';
import type { LoginLimiter } from './login-limiter.ts';
import type { SessionRecord, SessionStore } from './session-store.ts';
import type { IdentityStore, User } from './types.ts';

export interface SessionSettings {
  idleTimeoutMs: number;
  maxAgeMs: number;
  maxSessions: number;
  maxSessionsPerUser: number;
  /** last_seen_at is written at most this often per session (not one write per request). */
  touchEveryMs: number;
}

export const DEFAULT_SESSION_SETTINGS: SessionSettings = {
  idleTimeoutMs: 12 * 3_600_000,
  maxAgeMs: 7 * 86_400_000,
  maxSessions: 10_000,
  maxSessionsPerUser: 20,
  touchEveryMs: 60_000,
};

export interface ActiveSession {
  record: SessionRecord;
  user: User;
}

export type SignInResult =
  | { ok: true; token: string; session: ActiveSession }
  | { ok: false; reason: 'bad-credentials' }
  | { ok: false; reason: 'rate-limited'; retryAfterSec: number };

export class SessionService {
  /** Sessions ended by the caps (`maxSessions`, `maxSessionsPerUser`) and by expiry. */
  readonly stats = { evictedByCap: 0, expired: 0 };

  constructor(
    private readonly deps: {
      store: SessionStore;
      identities: Pick<IdentityStore, 'verifyPassword' | 'getUser'>;
      limiter: LoginLimiter;
      clock: Clock;
      settings: SessionSettings;
    },
  ) {}

  async signIn(userName: string, password: string, address: string): Promise<SignInResult> {
    const { limiter, identities, store, clock, settings } = this.deps;
    const verdict = limiter.check(address, userName);
    if (!verdict.allowed) return { ok: false, reason: 'rate-limited', retryAfterSec: verdict.retryAfterSec };
    const user = await identities.verifyPassword(userName, password);
    if (!user) {
      limiter.recordFailure(address, userName);
      return { ok: false, reason: 'bad-credentials' };
    }
    limiter.recordSuccess(userName);
    // Make room under both caps (one slot for the new session).
    const overUser = (await store.count(user.name)) - settings.maxSessionsPerUser + 1;
    if (overUser > 0) this.stats.evictedByCap += await store.deleteLeastRecent(overUser, user.name);
    const overAll = (await store.count()) - settings.maxSessions + 1;
    if (overAll > 0) this.stats.evictedByCap += await store.deleteLeastRecent(overAll);
    const token = randomToken();
    const now = clock.now();
    const record: SessionRecord = { idHash: hashToken(token), user: user.name, csrfToken: randomToken(), createdAt: now, lastSeenAt: now };
    await store.insert(record);
    return { ok: true, token, session: { record, user } };
  }

  /**
   * The live session behind a cookie token, with the user as it is now (a changed role applies at
   * once; a deleted user has no session). Expired sessions are removed when met.
   */
  async resolve(token: string): Promise<ActiveSession | undefined> {
    if (!TOKEN_SHAPE.test(token)) return undefined;
    const { store, clock, settings, identities } = this.deps;
    const idHash = hashToken(token);
    const record = await store.get(idHash);
    if (!record) return undefined;
    const now = clock.now();
    if (now - record.lastSeenAt >= settings.idleTimeoutMs || now - record.createdAt >= settings.maxAgeMs) {
      await store.delete(idHash);
      this.stats.expired++;
      return undefined;
    }
    const user = await identities.getUser(record.user);
    if (!user) {
      await store.delete(idHash);
      return undefined;
    }
    if (now - record.lastSeenAt >= settings.touchEveryMs) {
      await store.touch(idHash, now);
      record.lastSeenAt = now;
    }
    return { record, user };
  }

  async signOut(token: string): Promise<void> {
    if (TOKEN_SHAPE.test(token)) await this.deps.store.delete(hashToken(token));
  }

  /** Ends every session of `user` (password changed, user deleted). */
  endUserSessions(user: string): Promise<number> {
    return this.deps.store.deleteUser(user);
  }

  /** Removes expired sessions (run periodically; `resolve` also drops the ones it meets). */
  async sweep(): Promise<number> {
    const { store, clock, settings } = this.deps;
    const now = clock.now();
    const n = await store.deleteExpired(now - settings.idleTimeoutMs, now - settings.maxAgeMs);
    this.stats.expired += n;
    return n;
  }

  /** Constant-time comparison of the `x-kestrel-csrf` header with the session's token. */
  static csrfMatches(session: SessionRecord, sent: string | undefined): boolean {
    if (!sent) return false;
    const a = Buffer.from(sent);
    const b = Buffer.from(session.csrfToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** When a session created or seen at `lastSeenAt` ends if left idle (for the viewer). */
  expiresAt(record: SessionRecord): number {
    const { settings } = this.deps;
    return Math.min(record.lastSeenAt + settings.idleTimeoutMs, record.createdAt + settings.maxAgeMs);
  }
}

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const randomToken = () => randomBytes(32).toString('base64url');
const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
