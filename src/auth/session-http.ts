/**
 * The viewer's sessions over HTTP: the sign-in routes (`/api/v1/session`), the session-cookie
 * authenticator for the chain, and the CSRF rule.
 *
 *   POST   /api/v1/session  {"username","password"} → 200 {user, role, csrfToken, expiresAt} + cookie
 *                           (401 wrong credentials, 429 + Retry-After when rate-limited)
 *   GET    /api/v1/session  → 200 {user, role, csrfToken, expiresAt} | 401
 *   DELETE /api/v1/session  (CSRF header) → 204, session ended, cookie cleared
 *
 * CSRF: a request authenticated by the cookie with any method but GET/HEAD/OPTIONS must carry the
 * session's token in `x-kestrel-csrf` and, when it has an Origin header, come from this server's
 * own origin. SameSite=Strict alone is not enough: pages on another port of the same host are
 * "same-site" and get the cookie. Requests signed with SigV4 never look at the cookie.
 */
import express, { type Request, type Response } from 'express';
import { AuthError, type Authenticator } from './http-auth.ts';
import { SessionService, type ActiveSession } from './session-service.ts';
import type { Principal } from './types.ts';

export const SESSION_COOKIE = 'kestrel_session';
export const CSRF_HEADER = 'x-kestrel-csrf';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface SessionHttpOptions {
  /** Origins besides the request's own (`<protocol>://<Host>`) whose pages may use a session (e.g. the public URL). */
  extraOrigins?: () => string[];
  /** `--insecure-no-auth`: GET /api/v1/session answers as an admin, so the viewer needs no sign-in. */
  insecureNoAuth?: boolean;
}

/** The session cookie's value, if the request has one. */
export function readSessionCookie(req: Request): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Chain member: a live session cookie → Principal (via 'session'); no or stale cookie → not mine. */
export function sessionAuthenticator(sessions: SessionService, opts: SessionHttpOptions = {}): Authenticator {
  return {
    async authenticate(req: Request): Promise<Principal | undefined> {
      const token = readSessionCookie(req);
      if (!token) return undefined;
      const active = await sessions.resolve(token);
      if (!active) return undefined;
      const refusal = csrfRefusal(req, active, opts);
      if (refusal) throw new AuthError('AccessDeniedException', 403, refusal);
      return {
        user: active.user.name,
        role: active.user.role,
        ...(active.user.producerScope ? { producerScope: active.user.producerScope } : {}),
        via: 'session',
      };
    },
  };
}

/** Why a cookie-authenticated request must be refused as a possible cross-site request, or undefined. */
export function csrfRefusal(req: Request, active: ActiveSession, opts: SessionHttpOptions): string | undefined {
  if (SAFE_METHODS.has(req.method)) return undefined;
  if (!originAllowed(req, opts)) return 'Cross-origin request refused: the Origin is not this server.';
  if (!SessionService.csrfMatches(active.record, req.get(CSRF_HEADER))) return `Missing or wrong CSRF token (${CSRF_HEADER}).`;
  return undefined;
}

/** No Origin header (old browsers, non-browser clients) passes; the CSRF token is still required. */
function originAllowed(req: Request, opts: SessionHttpOptions): boolean {
  const origin = req.get('origin');
  if (origin === undefined) return true;
  if (origin === `${req.protocol}://${req.get('host') ?? ''}`) return true;
  return (opts.extraOrigins?.() ?? []).some((o) => o === origin);
}

const msg = (res: Response, status: number, message: string) => void res.status(status).set('cache-control', 'no-store').json({ message });

export function sessionRouter(sessions: SessionService, opts: SessionHttpOptions = {}): express.Router {
  const router = express.Router({ caseSensitive: true });
  const json = express.json({ limit: '8kb', strict: true, type: 'application/json' });

  const describe = (res: Response, active: ActiveSession) =>
    res.set('cache-control', 'no-store').json({
      user: active.user.name,
      role: active.user.role,
      csrfToken: active.record.csrfToken,
      expiresAt: sessions.expiresAt(active.record),
    });

  router.post('/api/v1/session', json, async (req, res, next) => {
    try {
      // Login CSRF: another site must not sign the browser in as the attacker.
      if (!originAllowed(req, opts)) return msg(res, 403, 'Cross-origin sign-in refused.');
      if (!req.is('application/json')) return msg(res, 415, 'Send the credentials as application/json.');
      const body = (req.body ?? {}) as { username?: unknown; password?: unknown };
      if (typeof body.username !== 'string' || typeof body.password !== 'string' || !body.username || body.username.length > 128 || body.password.length > 1024) {
        return msg(res, 400, 'username and password are required.');
      }
      const result = await sessions.signIn(body.username, body.password, req.socket.remoteAddress ?? 'unknown');
      if (!result.ok && result.reason === 'rate-limited') {
        res.set('retry-after', String(result.retryAfterSec));
        return msg(res, 429, `Too many failed sign-in attempts. Try again in ${result.retryAfterSec} s.`);
      }
      if (!result.ok) return msg(res, 401, 'Wrong user name or password.');
      // A sign-in replaces the session this browser had (no stale second session left behind).
      const previous = readSessionCookie(req);
      if (previous) await sessions.signOut(previous);
      res.cookie(SESSION_COOKIE, result.token, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/' });
      describe(res, result.session);
    } catch (err) {
      next(err);
    }
  });

  router.get('/api/v1/session', async (req, res, next) => {
    try {
      const token = readSessionCookie(req);
      const active = token ? await sessions.resolve(token) : undefined;
      if (active) return describe(res, active);
      if (opts.insecureNoAuth) return void res.set('cache-control', 'no-store').json({ user: 'insecure-no-auth', role: 'admin', csrfToken: '', insecureNoAuth: true });
      msg(res, 401, 'Not signed in.');
    } catch (err) {
      next(err);
    }
  });

  router.delete('/api/v1/session', async (req, res, next) => {
    try {
      const token = readSessionCookie(req);
      const active = token ? await sessions.resolve(token) : undefined;
      if (token && active) {
        const refusal = csrfRefusal(req, active, opts);
        if (refusal) return msg(res, 403, refusal);
        await sessions.signOut(token);
      }
      res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/' });
      res.status(204).end();
    } catch (err) {
      next(err);
    }
  });

  // express.json errors (bad JSON, too large) → 400 {message} rather than the KVS shape.
  router.use('/api/v1/session', (err: unknown, _req: Request, res: Response, next: express.NextFunction) => {
    const e = err as { type?: string; status?: number } | undefined;
    if (e?.type === 'entity.parse.failed' || e?.type === 'entity.too.large') return msg(res, e.status ?? 400, 'The body must be JSON {"username","password"}.');
    next(err);
  });

  return router;
}
