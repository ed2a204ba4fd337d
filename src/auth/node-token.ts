/**
 * Node-to-node authentication for internal HTTP calls (edge-pull of unsealed fragments). Nodes
 * of one cluster share KESTREL_SERVER_KEY; the token is an HMAC-SHA256 of method, path and an
 * expiry under a key derived from it (so the server key itself never signs anything on the
 * wire). Short-lived: a captured token is useless after `NODE_TOKEN_TTL_MS`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const NODE_TOKEN_HEADER = 'x-kestrel-node-token';
export const NODE_TOKEN_TTL_MS = 30_000;

export function deriveInternalKey(serverKey: Buffer): Buffer {
  return createHmac('sha256', serverKey).update('kestrel internal node-to-node v1').digest();
}

function mac(key: Buffer, method: string, path: string, expiresMs: number): string {
  return createHmac('sha256', key).update(`${method.toUpperCase()}\n${path}\n${expiresMs}`).digest('base64url');
}

export function mintNodeToken(key: Buffer, method: string, path: string, nowMs: number): string {
  const expires = nowMs + NODE_TOKEN_TTL_MS;
  return `${expires}.${mac(key, method, path, expires)}`;
}

/** Undefined when the token is valid; otherwise why not (for the log, never the whole token). */
export function nodeTokenProblem(key: Buffer, method: string, path: string, token: string | undefined, nowMs: number): string | undefined {
  if (!token) return 'no node token';
  const m = /^(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return 'malformed node token';
  const expires = Number(m[1]);
  if (expires < nowMs) return 'node token expired';
  if (expires > nowMs + 2 * NODE_TOKEN_TTL_MS) return 'node token expires too far ahead';
  const want = Buffer.from(mac(key, method, path, expires));
  const got = Buffer.from(m[2]!);
  return want.length === got.length && timingSafeEqual(want, got) ? undefined : 'bad node token';
}
