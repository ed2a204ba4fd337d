/**
 * Composition of the viewer's sign-in (src/auth/session-*): sessions in the index (SessionStore), the
 * login rate limiter, the session-cookie authenticator for the chain, the `/api/v1/session` routes,
 * and the IdentityStore the users API should use (it ends sessions on password reset / delete).
 */
import type express from 'express';
import type { Authenticator } from './auth/http-auth.ts';
import { DEFAULT_LOGIN_LIMITS, LoginLimiter, type LoginLimits } from './auth/login-limiter.ts';
import { sessionAuthenticator, sessionRouter, type SessionHttpOptions } from './auth/session-http.ts';
import { withSessionRevocation } from './auth/session-revocation.ts';
import { DEFAULT_SESSION_SETTINGS, SessionService, type SessionSettings } from './auth/session-service.ts';
import type { SessionStore } from './auth/session-store.ts';
import type { IdentityStore } from './auth/types.ts';
import type { Clock } from './shared/clock.ts';

export interface ViewerSessionSettings {
  session?: Partial<SessionSettings>;
  login?: Partial<LoginLimits>;
  /** How often expired sessions are removed from the database; default 10 min. */
  sweepIntervalMs?: number;
}

export interface ViewerSessions {
  sessions: SessionService;
  limiter: LoginLimiter;
  /** Push into the authenticator chain (after SigV4). */
  authenticator: Authenticator;
  /** Mount before the auth middleware: it does its own checks. */
  router: express.Router;
  /** Hand this to the users/keys API instead of the raw store. */
  identities: IdentityStore;
  stop(): void;
}

export function createViewerSessions(o: {
  store: SessionStore;
  identities: IdentityStore;
  clock: Clock;
  settings?: ViewerSessionSettings;
  /** The server's public URL, if set: its origin may use sessions too (reverse proxies). */
  publicUrl?: string;
  /** `--insecure-no-auth`: the viewer opens without sign-in. */
  insecureNoAuth?: boolean;
}): ViewerSessions {
  const limiter = new LoginLimiter({ ...DEFAULT_LOGIN_LIMITS, ...o.settings?.login }, o.clock);
  const sessions = new SessionService({
    store: o.store,
    identities: o.identities,
    limiter,
    clock: o.clock,
    settings: { ...DEFAULT_SESSION_SETTINGS, ...o.settings?.session },
  });
  const publicOrigin = o.publicUrl ? safeOrigin(o.publicUrl) : undefined;
  const http: SessionHttpOptions = { extraOrigins: () => (publicOrigin ? [publicOrigin] : []), insecureNoAuth: o.insecureNoAuth === true };
  // A failed sweep (index briefly unreachable) is retried at the next interval.
  const sweep = () => void sessions.sweep().catch(() => undefined);
  sweep();
  const timer = setInterval(sweep, o.settings?.sweepIntervalMs ?? 600_000);
  timer.unref();
  return {
    sessions,
    limiter,
    authenticator: sessionAuthenticator(sessions, http),
    router: sessionRouter(sessions, http),
    identities: withSessionRevocation(o.identities, sessions),
    stop: () => clearInterval(timer),
  };
}

function safeOrigin(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
