/**
 * Session tokens: the signed, URL-safe form of SessionClaims. Like KVS's, a token alone authorizes
 * every playlist and segment GET of its session (no SigV4 on those requests).
 *
 * Format: `1.<base64url(JSON claims)>.<base64url(HMAC-SHA256)>` — only unreserved URL characters,
 * so the token goes into query strings and relative playlist URIs without escaping. The secret
 * comes from the caller; src/hls does no I/O.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  CONTAINER_FORMATS,
  DISCONTINUITY_MODES,
  DISPLAY_MODES,
  PLAYBACK_MODES,
  SELECTOR_KINDS,
  type SessionClaims,
} from './types.ts';

export type SessionTokenProblem = 'malformed' | 'signature' | 'expired' | 'wrong-stream';

export class SessionTokenError extends Error {
  constructor(
    readonly problem: SessionTokenProblem,
    message: string,
  ) {
    super(message);
    this.name = 'SessionTokenError';
  }
}

const VERSION = '1';
/** Domain separation: a MAC made for something else with the same secret never verifies here. */
const MAC_CONTEXT = 'kestrel-playback-session';

/** Compact wire keys keep tokens short (they appear in every segment URI). */
interface WireClaims {
  p: SessionClaims['protocol'];
  i: number;
  n: string;
  m: SessionClaims['mode'];
  c: SessionClaims['container'];
  k: SessionClaims['selector']['kind'];
  s?: number;
  e?: number;
  d: SessionClaims['discontinuity'];
  t: SessionClaims['displayTimestamp'];
  f: SessionClaims['displayFragmentNumber'];
  r: number;
  a: string;
  l?: 1;
  ia: number;
  x: number;
}

export function encodeSessionToken(claims: SessionClaims, secret: Buffer): string {
  const wire: WireClaims = {
    p: claims.protocol,
    i: claims.streamId,
    n: claims.streamName,
    m: claims.mode,
    c: claims.container,
    k: claims.selector.kind,
    ...(claims.selector.startMs !== undefined ? { s: claims.selector.startMs } : {}),
    ...(claims.selector.endMs !== undefined ? { e: claims.selector.endMs } : {}),
    d: claims.discontinuity,
    t: claims.displayTimestamp,
    f: claims.displayFragmentNumber,
    r: claims.maxResults,
    a: claims.anchor,
    ...(claims.lowLatency ? { l: 1 as const } : {}),
    ia: claims.issuedAtMs,
    x: claims.expiresAtMs,
  };
  const payload = Buffer.from(JSON.stringify(wire)).toString('base64url');
  return `${VERSION}.${payload}.${mac(payload, secret).toString('base64url')}`;
}

export interface DecodeOptions {
  nowMs: number;
  /** When set, a token minted for any other stream id is refused. */
  streamId?: number;
}

/** Verifies signature, expiry and (optionally) the stream; throws SessionTokenError. */
export function decodeSessionToken(token: unknown, secret: Buffer, opts: DecodeOptions): SessionClaims {
  if (typeof token !== 'string' || token.length === 0) throw new SessionTokenError('malformed', 'SessionToken is required.');
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION || !/^[A-Za-z0-9_-]+$/.test(parts[1]!) || !/^[A-Za-z0-9_-]+$/.test(parts[2]!)) {
    throw new SessionTokenError('malformed', 'SessionToken is not a valid session token.');
  }
  const payload = parts[1]!;
  const given = Buffer.from(parts[2]!, 'base64url');
  const expected = mac(payload, secret);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new SessionTokenError('signature', 'SessionToken is not valid: its signature does not match.');
  }
  const claims = fromWire(payload);
  if (opts.streamId !== undefined && claims.streamId !== opts.streamId) {
    throw new SessionTokenError('wrong-stream', 'SessionToken was issued for another stream.');
  }
  if (opts.nowMs >= claims.expiresAtMs) {
    throw new SessionTokenError('expired', `SessionToken expired at ${new Date(claims.expiresAtMs).toISOString()}.`);
  }
  return claims;
}

function mac(payload: string, secret: Buffer): Buffer {
  return createHmac('sha256', secret).update(MAC_CONTEXT).update('\0').update(payload).digest();
}

/** Signed payloads are ours, but a secret shared across versions must not crash on shape drift. */
function fromWire(payload: string): SessionClaims {
  let w: Partial<WireClaims>;
  try {
    w = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<WireClaims>;
  } catch {
    throw new SessionTokenError('malformed', 'SessionToken payload is not readable.');
  }
  const ok =
    (w.p === 'HLS' || w.p === 'DASH') &&
    Number.isInteger(w.i) &&
    typeof w.n === 'string' &&
    PLAYBACK_MODES.includes(w.m!) &&
    CONTAINER_FORMATS.includes(w.c!) &&
    SELECTOR_KINDS.includes(w.k!) &&
    DISCONTINUITY_MODES.includes(w.d!) &&
    DISPLAY_MODES.includes(w.t!) &&
    DISPLAY_MODES.includes(w.f!) &&
    Number.isInteger(w.r) &&
    typeof w.a === 'string' &&
    Number.isFinite(w.ia) &&
    Number.isFinite(w.x);
  if (!ok) throw new SessionTokenError('malformed', 'SessionToken payload is incomplete.');
  return {
    protocol: w.p!,
    streamId: w.i!,
    streamName: w.n!,
    mode: w.m!,
    container: w.c!,
    selector: { kind: w.k!, ...(w.s !== undefined ? { startMs: w.s } : {}), ...(w.e !== undefined ? { endMs: w.e } : {}) },
    discontinuity: w.d!,
    displayTimestamp: w.t!,
    displayFragmentNumber: w.f!,
    maxResults: w.r!,
    anchor: w.a!,
    lowLatency: w.l === 1,
    issuedAtMs: w.ia!,
    expiresAtMs: w.x!,
  };
}
