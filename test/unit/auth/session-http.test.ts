/**
 * The viewer's session over HTTP on a small express app built from the real parts (SQLite identity
 * and session stores, the auth middleware and policy): sign-in, the cookie's attributes, CSRF and
 * Origin checks on state-changing calls, sign-out, the rate limit, and roles.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authMiddleware, principalOf } from '../../../src/auth/http-auth.ts';
import { SqliteIdentityStore } from '../../../src/auth/sqlite-identity-store.ts';
import { SqliteSessionStore } from '../../../src/auth/sqlite-session-store.ts';
import { createViewerSessions, type ViewerSessions } from '../../../src/app-sessions.ts';
import { sessionRouter } from '../../../src/auth/session-http.ts';
import { silentLogger } from '../../../src/shared/logger.ts';
import { openSqlite } from '../../../src/store/sqlite-db.ts';
import { systemClock } from '../../../src/shared/clock.ts';

let server: http.Server;
let base: string;
let vs: ViewerSessions;
const deleted: string[] = [];

beforeAll(async () => {
  const db = openSqlite(':memory:');
  const identities = new SqliteIdentityStore(db, randomBytes(32));
  await identities.createUser({ name: 'admin', role: 'admin', password: 'admin-password-1' });
  await identities.createUser({ name: 'vic', role: 'viewer', password: 'viewer-password-1' });
  await identities.createUser({ name: 'limited', role: 'viewer', password: 'limited-password-1' });
  vs = createViewerSessions({ store: new SqliteSessionStore(db), identities, clock: systemClock, settings: { login: { maxFailuresPerUser: 3, maxFailuresPerAddress: 50, windowMs: 60_000 } } });
  const app = express();
  app.use(vs.router);
  app.use(authMiddleware({ authenticators: [vs.authenticator], insecureNoAuth: false, log: silentLogger() }));
  app.post('/deleteStream', express.json(), (req, res) => {
    deleted.push(`${principalOf(req).user}:${(req.body as { StreamARN: string }).StreamARN}`);
    res.json({});
  });
  app.get('/api/v1/streams', (_req, res) => void res.json({ streams: [] }));
  await new Promise<void>((resolve) => {
    server = app.listen(0, '127.0.0.1', () => resolve());
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  vs?.stop();
  await new Promise((r) => server?.close(r));
});

async function signIn(username: string, password: string) {
  const res = await fetch(`${base}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: base }, body: JSON.stringify({ username, password }) });
  const setCookie = res.headers.get('set-cookie') ?? '';
  const body = (await res.json()) as { csrfToken?: string; role?: string; message?: string };
  return { res, body, setCookie, cookie: setCookie.split(';')[0]! };
}

const del = (cookie: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/deleteStream`, { method: 'POST', headers: { 'content-type': 'application/json', cookie, ...headers }, body: JSON.stringify({ StreamARN: 'arn:x' }) });

describe('viewer session over HTTP', () => {
  it('refuses a wrong password and signs in with the right one: HttpOnly, SameSite=Strict cookie, not Secure over http', async () => {
    const bad = await signIn('admin', 'nope');
    expect(bad.res.status).toBe(401);
    expect(bad.setCookie).toBe('');
    const ok = await signIn('admin', 'admin-password-1');
    expect(ok.res.status).toBe(200);
    expect(ok.body).toMatchObject({ role: 'admin' });
    expect(ok.body.csrfToken).toMatch(/^[\w-]{43}$/);
    expect(ok.setCookie).toMatch(/^kestrel_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
    const me = await fetch(`${base}/api/v1/session`, { headers: { cookie: ok.cookie } });
    expect(await me.json()).toMatchObject({ user: 'admin', role: 'admin', csrfToken: ok.body.csrfToken });
  });

  it('data needs a session', async () => {
    expect((await fetch(`${base}/api/v1/streams`)).status).toBe(401);
    expect((await fetch(`${base}/api/v1/session`)).status).toBe(401);
    const { cookie } = await signIn('vic', 'viewer-password-1');
    expect((await fetch(`${base}/api/v1/streams`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${base}/api/v1/streams`, { headers: { cookie: 'kestrel_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } })).status).toBe(401);
  });

  it('a state-changing call with the cookie needs the CSRF header and, when it has one, our Origin', async () => {
    const { cookie, body } = await signIn('admin', 'admin-password-1');
    const csrf = body.csrfToken!;
    const noToken = await del(cookie, { origin: base });
    expect(noToken.status).toBe(403);
    expect(noToken.headers.get('x-amzn-errortype')).toMatch(/^AccessDeniedException/);
    expect((await del(cookie, { origin: base, 'x-kestrel-csrf': 'x'.repeat(43) })).status).toBe(403);
    expect((await del(cookie, { origin: 'http://127.0.0.1:1', 'x-kestrel-csrf': csrf })).status).toBe(403);
    expect((await del(cookie, { origin: 'null', 'x-kestrel-csrf': csrf })).status).toBe(403);
    expect(deleted).toEqual([]);
    expect((await del(cookie, { origin: base, 'x-kestrel-csrf': csrf })).status).toBe(200);
    expect((await del(cookie, { 'x-kestrel-csrf': csrf })).status).toBe(200);
    expect(deleted).toEqual(['admin:arn:x', 'admin:arn:x']);
  });

  it('signing in again replaces the browser\'s previous session', async () => {
    const first = await signIn('vic', 'viewer-password-1');
    const res = await fetch(`${base}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: first.cookie }, body: JSON.stringify({ username: 'vic', password: 'viewer-password-1' }) });
    expect(res.status).toBe(200);
    const second = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
    expect(second).not.toBe(first.cookie);
    expect((await fetch(`${base}/api/v1/streams`, { headers: { cookie: first.cookie } })).status).toBe(401);
    expect((await fetch(`${base}/api/v1/streams`, { headers: { cookie: second } })).status).toBe(200);
  });

  it('another session\'s CSRF token does not work', async () => {
    const a = await signIn('admin', 'admin-password-1');
    const b = await signIn('admin', 'admin-password-1');
    expect((await del(a.cookie, { 'x-kestrel-csrf': b.body.csrfToken! })).status).toBe(403);
  });

  it('a viewer is refused DeleteStream even with a valid CSRF token', async () => {
    const { cookie, body } = await signIn('vic', 'viewer-password-1');
    const res = await del(cookie, { origin: base, 'x-kestrel-csrf': body.csrfToken! });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toMatch(/^AccessDeniedException/);
  });

  it('refuses sign-in from another origin and in any other content type', async () => {
    const cross = await fetch(`${base}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://evil.example' }, body: JSON.stringify({ username: 'admin', password: 'admin-password-1' }) });
    expect(cross.status).toBe(403);
    expect(cross.headers.get('set-cookie')).toBeNull();
    const form = await fetch(`${base}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ username: 'admin', password: 'admin-password-1' }) });
    expect(form.status).toBe(415);
  });

  it('signs out only with the CSRF header, and the session is gone on the server', async () => {
    const { cookie, body } = await signIn('vic', 'viewer-password-1');
    expect((await fetch(`${base}/api/v1/session`, { method: 'DELETE', headers: { cookie } })).status).toBe(403);
    const out = await fetch(`${base}/api/v1/session`, { method: 'DELETE', headers: { cookie, 'x-kestrel-csrf': body.csrfToken! } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^kestrel_session=;.*Expires=Thu, 01 Jan 1970/);
    expect((await fetch(`${base}/api/v1/streams`, { headers: { cookie } })).status).toBe(401);
  });

  it('a password reset through the users API store ends that user\'s sessions', async () => {
    const { cookie } = await signIn('limited', 'limited-password-1');
    expect((await fetch(`${base}/api/v1/streams`, { headers: { cookie } })).status).toBe(200);
    await vs.identities.updateUser('limited', { password: 'limited-password-2' });
    expect((await fetch(`${base}/api/v1/streams`, { headers: { cookie } })).status).toBe(401);
  });

  it('rate-limits failed sign-ins per user with 429 and Retry-After, even for the right password', async () => {
    for (let i = 0; i < 3; i++) expect((await signIn('limited', `guess-${i}`)).res.status).toBe(401);
    const limited = await signIn('limited', 'limited-password-2');
    expect(limited.res.status).toBe(429);
    expect(Number(limited.res.headers.get('retry-after'))).toBeGreaterThan(50);
    expect(limited.setCookie).toBe('');
    expect((await signIn('vic', 'viewer-password-1')).res.status).toBe(200);
  });

  it('under --insecure-no-auth the viewer is told it is an admin without signing in', async () => {
    const app = express();
    app.use(sessionRouter(vs.sessions, { insecureNoAuth: true }));
    const srv2 = await new Promise<http.Server>((resolve) => {
      const s2 = app.listen(0, '127.0.0.1', () => resolve(s2));
    });
    try {
      const res = await fetch(`http://127.0.0.1:${(srv2.address() as AddressInfo).port}/api/v1/session`);
      expect(await res.json()).toEqual({ user: 'insecure-no-auth', role: 'admin', csrfToken: '', insecureNoAuth: true });
    } finally {
      await new Promise((r) => srv2.close(r));
    }
  });
});
