/**
 * Bench servers run with authentication on (the default) and this root key; the load generators
 * sign with it like real clients (SigV4; PutMedia with the empty-body hash, as the KVS producer does).
 * `KESTREL_BENCH_NO_AUTH=1` in a child's env starts it with --insecure-no-auth (the auth bench's baseline).
 */
import { EMPTY_SHA256, sha256Hex, signHeaders } from '../../src/auth/sigv4.ts';
import type { AuthSettings } from '../../src/auth/types.ts';

export const BENCH_CREDENTIALS = { accessKeyId: 'AKIDKESTRELBENCH0001', secretAccessKey: 'kestrel-bench-secret-0123456789abcdefgh' };
const REGION = 'us-east-1';

/** The `auth` part of a bench child's config. */
export function benchAuth(env: NodeJS.ProcessEnv = process.env): AuthSettings {
  if (env.KESTREL_BENCH_NO_AUTH === '1') return { insecureNoAuth: true };
  return { rootAccessKeyId: BENCH_CREDENTIALS.accessKeyId, rootSecretAccessKey: BENCH_CREDENTIALS.secretAccessKey };
}

/** `headers` plus SigV4 for a request with `body` (PutMedia: pass no body, it is signed as empty). */
export function sign(method: string, url: string, headers: Record<string, string>, body?: Buffer): Record<string, string> {
  return signHeaders({ method, url, headers, payloadHash: body?.length ? sha256Hex(body) : EMPTY_SHA256, credentials: BENCH_CREDENTIALS, region: REGION });
}

/** `fetch` signed with the bench key (string bodies). */
export function signedFetch(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Response> {
  const method = init.method ?? 'GET';
  const headers = sign(method, url, init.headers ?? {}, init.body !== undefined ? Buffer.from(init.body) : undefined);
  return fetch(url, { ...init, method, headers });
}
