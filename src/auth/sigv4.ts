/**
 * AWS Signature Version 4, pure (no I/O): canonical request, string to sign, signing key, and a
 * signer for the header and presigned-query forms. The verifier (sigv4-verify.ts) rebuilds the same
 * canonical request from what arrived on the wire. Reference: the AWS SigV4 documentation and the
 * SigV4 test suite (`get-vanilla` is in test/unit/auth/sigv4.test.ts).
 */
import { createHash, createHmac } from 'node:crypto';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const SERVICE = 'kinesisvideo';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** A request as the signature sees it: the path and query exactly as sent on the wire. */
export interface CanonicalInput {
  method: string;
  /** Wire path (already percent-encoded once), without the query. */
  path: string;
  /** Raw query string without '?'. */
  query: string;
  /** Header name/value pairs; names in any case, repeated names allowed. */
  headers: ReadonlyArray<readonly [string, string]>;
  signedHeaders: readonly string[];
  payloadHash: string;
}

export const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ is %XX (uppercase). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Non-S3 services: normalise the path (drop `.`/`..`/empty segments) and encode each segment again. */
export function canonicalPath(wirePath: string): string {
  const segments: string[] = [];
  for (const seg of wirePath.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segments.pop();
    else segments.push(seg);
  }
  const trailing = wirePath.endsWith('/') && segments.length > 0 ? '/' : '';
  return '/' + segments.map(uriEncode).join('/') + trailing;
}

function decodeQueryPart(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Query parameters sorted by encoded name then value; `omit` drops one (X-Amz-Signature). */
export function canonicalQuery(query: string, omit?: string): string {
  if (!query) return '';
  const pairs: Array<[string, string]> = [];
  for (const part of query.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = decodeQueryPart(eq < 0 ? part : part.slice(0, eq));
    if (name === omit) continue;
    pairs.push([uriEncode(name), uriEncode(decodeQueryPart(eq < 0 ? '' : part.slice(eq + 1)))]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** `name:value` lines for the signed headers (values trimmed, inner runs of spaces collapsed, repeats joined by ','). */
export function canonicalHeaders(headers: CanonicalInput['headers'], signedHeaders: readonly string[]): string {
  const wanted = new Map<string, string[]>(signedHeaders.map((h) => [h, []]));
  for (const [name, value] of headers) wanted.get(name.toLowerCase())?.push(value.trim().replace(/\s+/g, ' '));
  return signedHeaders.map((h) => `${h}:${wanted.get(h)!.join(',')}\n`).join('');
}

export function canonicalRequest(input: CanonicalInput, omitQuery?: string): string {
  return [
    input.method.toUpperCase(),
    canonicalPath(input.path),
    canonicalQuery(input.query, omitQuery),
    canonicalHeaders(input.headers, input.signedHeaders),
    input.signedHeaders.join(';'),
    input.payloadHash,
  ].join('\n');
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return [ALGORITHM, amzDate, scope, sha256Hex(canonical)].join('\n');
}

const keyCache = new Map<string, Buffer>();
const KEY_CACHE_MAX = 256;

/** kSigning = HMAC chain over date/region/service/"aws4_request"; cached (it changes once a day per key). */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const cacheKey = `${date}\n${region}\n${service}\n${secret}`;
  const hit = keyCache.get(cacheKey);
  if (hit) return hit;
  const key = hmac(hmac(hmac(hmac('AWS4' + secret, date), region), service), 'aws4_request');
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(cacheKey, key);
  return key;
}

export function signature(secret: string, date: string, region: string, service: string, toSign: string): string {
  return createHmac('sha256', signingKey(secret, date, region, service)).update(toSign, 'utf8').digest('hex');
}

/** 20240102T030405Z */
export function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** Milliseconds since the epoch for an X-Amz-Date value; NaN when malformed. */
export function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : NaN;
}

export interface SignOptions {
  method: string;
  url: string | URL;
  headers?: Record<string, string>;
  /** The body's SHA-256 hex, EMPTY_SHA256 or UNSIGNED_PAYLOAD. */
  payloadHash: string;
  /** Also send `x-amz-content-sha256` (the JS SDK does; the KVS producer does not for PutMedia). */
  sendContentSha256?: boolean;
  credentials: Credentials;
  region: string;
  service?: string;
  nowMs?: number;
}

/** Hop-by-hop and framing headers proxies may change: never signed. */
const UNSIGNED_HEADERS = new Set(['authorization', 'content-length', 'transfer-encoding', 'connection', 'expect', 'user-agent']);

function hostOf(url: URL): string {
  return url.host; // includes a non-default port, as HTTP clients send it
}

/** Header form: returns the headers to send (the given ones plus host, x-amz-date, authorization). */
export function signHeaders(opts: SignOptions): Record<string, string> {
  const url = new URL(opts.url);
  const service = opts.service ?? SERVICE;
  const when = amzDate(opts.nowMs ?? Date.now());
  const headers: Record<string, string> = { ...opts.headers, host: hostOf(url), 'x-amz-date': when };
  if (opts.sendContentSha256) headers['x-amz-content-sha256'] = opts.payloadHash;
  const lower = Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)] as const);
  const signedHeaders = [...new Set(lower.map(([k]) => k))].filter((k) => !UNSIGNED_HEADERS.has(k)).sort();
  const scope = `${when.slice(0, 8)}/${opts.region}/${service}/aws4_request`;
  const canonical = canonicalRequest({ method: opts.method, path: url.pathname, query: url.search.slice(1), headers: lower, signedHeaders, payloadHash: opts.payloadHash });
  const sig = signature(opts.credentials.secretAccessKey, when.slice(0, 8), opts.region, service, stringToSign(when, scope, canonical));
  headers.authorization = `${ALGORITHM} Credential=${opts.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${sig}`;
  delete headers.host; // the HTTP client sets the same value itself
  return headers;
}

/** Presigned-query form (only `host` signed): the URL with X-Amz-* parameters. */
export function presignUrl(opts: Omit<SignOptions, 'headers' | 'sendContentSha256'> & { expiresSec: number }): string {
  const url = new URL(opts.url);
  const service = opts.service ?? SERVICE;
  const when = amzDate(opts.nowMs ?? Date.now());
  const scope = `${when.slice(0, 8)}/${opts.region}/${service}/aws4_request`;
  url.searchParams.set('X-Amz-Algorithm', ALGORITHM);
  url.searchParams.set('X-Amz-Credential', `${opts.credentials.accessKeyId}/${scope}`);
  url.searchParams.set('X-Amz-Date', when);
  url.searchParams.set('X-Amz-Expires', String(opts.expiresSec));
  url.searchParams.set('X-Amz-SignedHeaders', 'host');
  const query = url.search.slice(1).replace(/\+/g, '%20');
  const canonical = canonicalRequest({ method: opts.method, path: url.pathname, query, headers: [['host', hostOf(url)]], signedHeaders: ['host'], payloadHash: opts.payloadHash });
  const sig = signature(opts.credentials.secretAccessKey, when.slice(0, 8), opts.region, service, stringToSign(when, scope, canonical));
  return `${url.origin}${url.pathname}?${query}&X-Amz-Signature=${sig}`;
}
