/**
 * Credentials every test server is started with, and a fetch that signs with them.
 * Tests that call the server over raw HTTP use `signedFetch` so they keep working with
 * authentication on (the default).
 */
import { EMPTY_SHA256, presignUrl, sha256Hex, signHeaders, UNSIGNED_PAYLOAD, type Credentials } from '../../src/auth/sigv4.ts';

export const TEST_ACCESS_KEY_ID = 'AKIDKESTRELTEST00001';
export const TEST_SECRET_ACCESS_KEY = 'kestrel-test-secret-0123456789abcdefghij';
export const TEST_ADMIN_PASSWORD = 'kestrel-test-admin-password';
export const TEST_REGION = 'us-east-1';

export const testCredentials = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };

/** What subprocesses (kestrel push/ingest/analyze/worker, kestrel serve) need in their env. */
export const testAuthEnv: Record<string, string> = {
  KESTREL_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
  KESTREL_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
  KESTREL_ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
};

function bodyBytes(body: RequestInit['body']): Buffer {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (body instanceof URLSearchParams) return Buffer.from(body.toString(), 'utf8');
  throw new Error('signedFetch signs string and byte bodies only');
}

/** Headers of `init` as a plain lower-case record. */
function plainHeaders(headers: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(headers).forEach((v, k) => {
    out[k] = v;
  });
  return out;
}

/** SigV4 headers for a request (the KVS JS SDK way: real body hash, no x-amz-content-sha256). */
export function signedHeaders(method: string, url: string | URL, headers: Record<string, string> = {}, body: Buffer = Buffer.alloc(0), credentials: Credentials = testCredentials, region = TEST_REGION): Record<string, string> {
  return signHeaders({ method, url, headers, payloadHash: body.length ? sha256Hex(body) : EMPTY_SHA256, credentials, region });
}

/** PutMedia headers signed the way the KVS producer SDK signs them (empty-body hash, no content-sha256 header). */
export function signedPutMediaHeaders(url: string | URL, headers: Record<string, string>, credentials: Credentials = testCredentials): Record<string, string> {
  return signHeaders({ method: 'POST', url, headers, payloadHash: EMPTY_SHA256, credentials, region: TEST_REGION });
}

/** A presigned PutMedia URL (UNSIGNED-PAYLOAD), as `kestrel presign put-media` prints it. */
export function presignedPutMediaUrl(base: string, stream: string, expiresSec = 3600, credentials: Credentials = testCredentials): string {
  const url = new URL('/putMedia', base);
  url.searchParams.set('x-amzn-stream-name', stream);
  return presignUrl({ method: 'POST', url, payloadHash: UNSIGNED_PAYLOAD, credentials, region: TEST_REGION, expiresSec });
}

/** `fetch` signed with the test root key (SigV4, service kinesisvideo), or with `credentials`. */
export async function signedFetch(url: string | URL, init: RequestInit = {}, credentials: Credentials = testCredentials): Promise<Response> {
  const method = (init.method ?? 'GET').toUpperCase();
  const body = bodyBytes(init.body);
  const plain = plainHeaders(init.headers);
  // As the AWS SDKs do: a JSON body is declared as such (the server refuses other types).
  if (body.length && plain['content-type'] === undefined) plain['content-type'] = 'application/json';
  const headers = signedHeaders(method, url, plain, body, credentials);
  return fetch(url, { ...init, method, headers });
}
