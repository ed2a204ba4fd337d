/**
 * SigV4 verification, pure: parse the Authorization header or the presigned X-Amz-* query, check
 * the credential scope and the clock, and compare the signature we compute with the one sent.
 * Errors carry the AWS exception names and messages real endpoints answer with.
 */
import { timingSafeEqual } from 'node:crypto';
import { ALGORITHM, canonicalRequest, parseAmzDate, signature, stringToSign, amzDate } from './sigv4.ts';

export type SigV4ErrorCode = 'IncompleteSignatureException' | 'InvalidSignatureException' | 'UnrecognizedClientException';

export class SigV4Error extends Error {
  constructor(
    readonly code: SigV4ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface WireRequest {
  method: string;
  path: string;
  query: string;
  headers: ReadonlyArray<readonly [string, string]>;
}

export interface ParsedAuth {
  form: 'header' | 'query';
  accessKeyId: string;
  scopeDate: string;
  region: string;
  service: string;
  amzDate: string;
  signedHeaders: string[];
  signature: string;
  /** Presigned form: validity in seconds from amzDate. */
  expiresSec?: number;
}

export const MAX_SKEW_MS = 15 * 60_000;
const MAX_PRESIGN_EXPIRES_SEC = 7 * 24 * 3600;
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

function header(headers: WireRequest['headers'], name: string): string | undefined {
  for (const [k, v] of headers) if (k.toLowerCase() === name) return v;
  return undefined;
}

function queryParams(query: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    try {
      out.set(decodeURIComponent(part.slice(0, eq)), decodeURIComponent(part.slice(eq + 1).replace(/\+/g, '%20')));
    } catch {
      // malformed escapes: not a parameter we can read
    }
  }
  return out;
}

const incomplete = (m: string) => new SigV4Error('IncompleteSignatureException', m);

function parseCredential(credential: string): Pick<ParsedAuth, 'accessKeyId' | 'scopeDate' | 'region' | 'service'> {
  const parts = credential.split('/');
  if (parts.length !== 5 || !parts[0]) throw incomplete(`Credential should have exactly 5 slash-delimited elements, e.g. keyID/date/region/service/term, got '${credential}'.`);
  if (parts[4] !== 'aws4_request') throw new SigV4Error('InvalidSignatureException', "Credential should be scoped with a valid terminator: 'aws4_request', not '" + parts[4] + "'.");
  return { accessKeyId: parts[0], scopeDate: parts[1]!, region: parts[2]!, service: parts[3]! };
}

/** The request's SigV4 parameters; undefined when it carries no SigV4 at all (no header, no X-Amz-Algorithm). */
export function parseSigV4(req: Pick<WireRequest, 'headers' | 'query'>): ParsedAuth | undefined {
  const auth = header(req.headers, 'authorization');
  if (auth !== undefined && auth.startsWith('AWS4-')) {
    const space = auth.indexOf(' ');
    if (auth.slice(0, space) !== ALGORITHM) throw incomplete(`Unsupported AWS 'algorithm': '${auth.slice(0, space)}'.`);
    const fields = new Map<string, string>();
    for (const f of auth.slice(space + 1).split(',')) {
      const eq = f.indexOf('=');
      if (eq > 0) fields.set(f.slice(0, eq).trim(), f.slice(eq + 1).trim());
    }
    for (const need of ['Credential', 'SignedHeaders', 'Signature']) {
      if (!fields.get(need)) throw incomplete(`Authorization header requires '${need}' parameter. Authorization=${auth.replace(/Signature=\w+/, 'Signature=...')}`);
    }
    const date = header(req.headers, 'x-amz-date');
    if (!date) throw incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
    return {
      form: 'header',
      ...parseCredential(fields.get('Credential')!),
      amzDate: date,
      signedHeaders: fields.get('SignedHeaders')!.split(';'),
      signature: fields.get('Signature')!,
    };
  }
  if (!/(^|&)X-Amz-Algorithm=/i.test(req.query)) return undefined;
  const q = queryParams(req.query);
  if (q.get('X-Amz-Algorithm') !== ALGORITHM) throw incomplete(`Unsupported AWS 'algorithm': '${q.get('X-Amz-Algorithm')}'.`);
  for (const need of ['X-Amz-Credential', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Signature', 'X-Amz-Expires']) {
    if (!q.get(need)) throw incomplete(`AWS query-string parameters must include '${need}'. Re-examine the query-string parameters.`);
  }
  const expires = Number(q.get('X-Amz-Expires'));
  if (!Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGN_EXPIRES_SEC) {
    throw new SigV4Error('InvalidSignatureException', `X-Amz-Expires must be between 1 and ${MAX_PRESIGN_EXPIRES_SEC} seconds.`);
  }
  return {
    form: 'query',
    ...parseCredential(q.get('X-Amz-Credential')!),
    amzDate: q.get('X-Amz-Date')!,
    signedHeaders: q.get('X-Amz-SignedHeaders')!.split(';'),
    signature: q.get('X-Amz-Signature')!,
    expiresSec: expires,
  };
}

/** Region/service scope, date format, ±15 min skew (header form) or expiry (presigned form). */
export function checkScopeAndTime(auth: ParsedAuth, opts: { region: string; service: string; nowMs: number }): void {
  if (auth.service !== opts.service) throw new SigV4Error('InvalidSignatureException', `Credential should be scoped to correct service: '${opts.service}'.`);
  if (auth.region !== opts.region) throw new SigV4Error('InvalidSignatureException', `Credential should be scoped to a valid region, not '${auth.region}'.`);
  const at = parseAmzDate(auth.amzDate);
  if (Number.isNaN(at)) throw incomplete(`Date must be in ISO-8601 'basic format'. Got '${auth.amzDate}'. See http://en.wikipedia.org/wiki/ISO_8601`);
  if (auth.scopeDate !== auth.amzDate.slice(0, 8)) {
    throw new SigV4Error('InvalidSignatureException', `Credential should be scoped to a valid date: '${auth.amzDate.slice(0, 8)}', not '${auth.scopeDate}'.`);
  }
  const now = opts.nowMs;
  if (auth.form === 'query') {
    if (at - MAX_SKEW_MS > now) throw new SigV4Error('InvalidSignatureException', `Signature not yet current: ${auth.amzDate} is still later than ${amzDate(now + MAX_SKEW_MS)} (${amzDate(now)} + 15 min.)`);
    if (at + auth.expiresSec! * 1000 < now) throw new SigV4Error('InvalidSignatureException', `Signature expired: ${amzDate(at + auth.expiresSec! * 1000)} is now earlier than ${amzDate(now)}`);
    return;
  }
  if (at < now - MAX_SKEW_MS) throw new SigV4Error('InvalidSignatureException', `Signature expired: ${auth.amzDate} is now earlier than ${amzDate(now - MAX_SKEW_MS)} (${amzDate(now)} - 15 min.)`);
  if (at > now + MAX_SKEW_MS) throw new SigV4Error('InvalidSignatureException', `Signature not yet current: ${auth.amzDate} is still later than ${amzDate(now + MAX_SKEW_MS)} (${amzDate(now)} + 15 min.)`);
}

/**
 * Recomputes the signature for each acceptable payload hash (one for ordinary requests; PutMedia
 * accepts the empty-body hash and UNSIGNED-PAYLOAD) and throws unless one matches.
 */
export function verifySignature(auth: ParsedAuth, req: WireRequest, secret: string, payloadHashes: readonly string[]): void {
  if (!auth.signedHeaders.includes('host')) throw new SigV4Error('InvalidSignatureException', "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  for (const h of auth.signedHeaders) {
    if (header(req.headers, h) === undefined) throw new SigV4Error('InvalidSignatureException', `The signed header '${h}' is missing from the request.`);
  }
  const scope = `${auth.scopeDate}/${auth.region}/${auth.service}/aws4_request`;
  const sent = Buffer.from(auth.signature, 'utf8');
  for (const payloadHash of payloadHashes) {
    const canonical = canonicalRequest({ ...req, signedHeaders: auth.signedHeaders, payloadHash }, auth.form === 'query' ? 'X-Amz-Signature' : undefined);
    const expected = Buffer.from(signature(secret, auth.scopeDate, auth.region, auth.service, stringToSign(auth.amzDate, scope, canonical)), 'utf8');
    if (expected.length === sent.length && timingSafeEqual(expected, sent)) return;
  }
  throw new SigV4Error('InvalidSignatureException', MISMATCH);
}
