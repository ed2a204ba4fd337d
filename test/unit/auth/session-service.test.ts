import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { LoginLimiter } from '../../../src/auth/login-limiter.ts';
import { DEFAULT_SESSION_SETTINGS, SessionService, type SessionSettings } from '../../../src/auth/session-service.ts';
import { SqliteSessionStore } from '../../../src/auth/sqlite-session-store.ts';
import type { Role, User } from '../../../src/auth/types.ts';

/** Users with plain-text passwords: the service only needs verifyPassword and getUser. */
function identities(users: Record<string, { role: Role; password: string }>) {
  const user = (name: string): User | undefined => (users[name] ? { name, role: users[name].role, hasPassword: true, createdAt: 0 } : undefined);
  return {
    getUser: async (name: string) => user(name),
    verifyPassword: async (name: string, password: string) => (users[name]?.password === password ? user(name) : undefined),
  };
}

function setup(settings: Partial<SessionSettings> = {}) {
  const t = { now: 1_700_000_000_000 };
  const clock = { now: () => t.now };
  const db = new Database(':memory:');
  const store = new SqliteSessionStore(db);
  const users = { admin: { role: 'admin' as Role, password: 'pw-admin' }, vic: { role: 'viewer' as Role, password: 'pw-vic' } };
  const svc = new SessionService({
    store,
    identities: identities(users),
    limiter: new LoginLimiter({ windowMs: 60_000, maxFailuresPerAddress: 50, maxFailuresPerUser: 3, maxTracked: 100 }, clock),
    clock,
    settings: { ...DEFAULT_SESSION_SETTINGS, idleTimeoutMs: 3_600_000, maxAgeMs: 10 * 3_600_000, ...settings },
  });
  return { t, db, store, svc, users };
}

async function signIn(svc: SessionService, user: string, password: string) {
  const r = await svc.signIn(user, password, '127.0.0.1');
  if (!r.ok) throw new Error(`sign-in refused: ${r.reason}`);
  return r;
}

describe('SessionService', () => {
  it('signs in with the right password, stores only a hash of the token, and resolves the cookie', async () => {
    const { svc, db } = setup();
    expect(await svc.signIn('admin', 'wrong', '127.0.0.1')).toEqual({ ok: false, reason: 'bad-credentials' });
    expect(await svc.signIn('nobody', 'pw-admin', '127.0.0.1')).toEqual({ ok: false, reason: 'bad-credentials' });
    const r = await signIn(svc, 'admin', 'pw-admin');
    expect(r.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const rows = db.prepare('SELECT * FROM kestrel_sessions').all() as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(r.token);
    const active = await svc.resolve(r.token);
    expect(active?.user).toMatchObject({ name: 'admin', role: 'admin' });
    expect(await svc.resolve(r.token.slice(0, -1) + (r.token.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
    expect(await svc.resolve('not a token')).toBeUndefined();
  });

  it('ends a session after the idle timeout, and requests keep it alive', async () => {
    const { svc, t } = setup({ touchEveryMs: 60_000 });
    const { token } = await signIn(svc, 'vic', 'pw-vic');
    t.now += 3_000_000;
    expect(await svc.resolve(token)).toBeDefined();
    t.now += 3_000_000; // 6000 s after sign-in, 3000 s after the last request
    expect(await svc.resolve(token)).toBeDefined();
    t.now += 3_600_000;
    expect(await svc.resolve(token)).toBeUndefined();
    expect(svc.stats.expired).toBe(1);
  });

  it('ends a session at its maximum age even when in use', async () => {
    const { svc, t } = setup();
    const { token } = await signIn(svc, 'vic', 'pw-vic');
    // A request every 30 min (idle timeout 1 h); the maximum age is 10 h.
    for (let elapsed = 1_800_000; elapsed < 36_000_000; elapsed += 1_800_000) {
      t.now += 1_800_000;
      expect(await svc.resolve(token)).toBeDefined();
    }
    t.now += 1_800_000;
    expect(await svc.resolve(token)).toBeUndefined();
  });

  it('signs out, and ends all sessions of a user', async () => {
    const { svc } = setup();
    const a = await signIn(svc, 'vic', 'pw-vic');
    const b = await signIn(svc, 'vic', 'pw-vic');
    const c = await signIn(svc, 'admin', 'pw-admin');
    await svc.signOut(a.token);
    expect(await svc.resolve(a.token)).toBeUndefined();
    expect(await svc.resolve(b.token)).toBeDefined();
    expect(await svc.endUserSessions('vic')).toBe(1);
    expect(await svc.resolve(b.token)).toBeUndefined();
    expect(await svc.resolve(c.token)).toBeDefined();
  });

  it('keeps at most maxSessionsPerUser and maxSessions, ending the least recently used', async () => {
    const { svc, t, store } = setup({ maxSessionsPerUser: 2, maxSessions: 3, touchEveryMs: 0 });
    const v1 = await signIn(svc, 'vic', 'pw-vic');
    t.now += 1000;
    const v2 = await signIn(svc, 'vic', 'pw-vic');
    t.now += 1000;
    await svc.resolve(v1.token); // v1 is now more recent than v2
    t.now += 1000;
    const v3 = await signIn(svc, 'vic', 'pw-vic');
    expect(await svc.resolve(v2.token)).toBeUndefined();
    expect(await svc.resolve(v1.token)).toBeDefined();
    expect(await svc.resolve(v3.token)).toBeDefined();
    t.now += 1000;
    await signIn(svc, 'admin', 'pw-admin');
    await signIn(svc, 'admin', 'pw-admin');
    expect(await store.count()).toBe(3);
    expect(svc.stats.evictedByCap).toBe(2);
  });

  it('a deleted user has no session, and a changed role applies at once', async () => {
    const { svc, users } = setup();
    const { token } = await signIn(svc, 'vic', 'pw-vic');
    users.vic.role = 'operator';
    expect((await svc.resolve(token))?.user.role).toBe('operator');
    delete (users as Record<string, unknown>).vic;
    expect(await svc.resolve(token)).toBeUndefined();
  });

  it('refuses sign-in without checking the password once the user is rate-limited', async () => {
    const { svc } = setup();
    for (let i = 0; i < 3; i++) await svc.signIn('admin', `guess${i}`, `10.0.0.${i}`);
    expect(await svc.signIn('admin', 'pw-admin', '10.0.0.99')).toEqual({ ok: false, reason: 'rate-limited', retryAfterSec: 60 });
  });

  it('sweeps expired sessions', async () => {
    const { svc, t, store } = setup();
    await signIn(svc, 'vic', 'pw-vic');
    t.now += 1_000_000;
    await signIn(svc, 'admin', 'pw-admin');
    t.now += 3_000_000;
    expect(await svc.sweep()).toBe(1);
    expect(await store.count()).toBe(1);
  });

  it('compares CSRF tokens exactly', async () => {
    const { svc } = setup();
    const { session } = await signIn(svc, 'vic', 'pw-vic');
    expect(SessionService.csrfMatches(session.record, session.record.csrfToken)).toBe(true);
    expect(SessionService.csrfMatches(session.record, undefined)).toBe(false);
    expect(SessionService.csrfMatches(session.record, session.record.csrfToken.slice(1))).toBe(false);
    expect(SessionService.csrfMatches(session.record, `${session.record.csrfToken.slice(0, -1)}x`)).toBe(session.record.csrfToken.endsWith('x'));
  });
});
