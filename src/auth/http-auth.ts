/**
 * The authentication hook every request passes (app.ts mounts it before all routes): run the
 * authenticator chain, set the principal, authorize the operation, or answer the AWS-style error.
 */
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { KvsError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { authorize, operationOf, streamNameOf, type Operation } from './policy.ts';
import { EMPTY_SHA256, SERVICE, sha256Hex, UNSIGNED_PAYLOAD } from './sigv4.ts';
import { checkScopeAndTime, parseSigV4, SigV4Error, verifySignature, type WireRequest } from './sigv4-verify.ts';
import { ANONYMOUS, type IdentityStore, type Principal } from './types.ts';

export interface Authenticator {
  /** undefined: no credentials of this kind (next one). A Principal: verified. Throw AuthError: present but bad. */
  authenticate(req: Request): Promise<Principal | undefined>;
}

/** Credentials were presented but are not good: an AWS exception name, HTTP status and message. */
export class AuthError extends Error {
  constructor(
    readonly kvsName: 'MissingAuthenticationTokenException' | 'UnrecognizedClientException' | 'InvalidSignatureException' | 'IncompleteSignatureException' | 'AccessDeniedException',
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const PRINCIPAL = Symbol('kestrel.principal');

/** The principal the auth middleware set (ANONYMOUS before it ran or in front of public routes). */
export function principalOf(req: IncomingMessage): Principal {
  return (req as { [PRINCIPAL]?: Principal })[PRINCIPAL] ?? ANONYMOUS;
}

/** JSON request bodies are read here (to hash them) and handed on as req.body; KVS caps them at 1 MB. */
const MAX_SIGNED_BODY = 1024 * 1024;

function wireRequest(req: Request): WireRequest {
  const url = req.originalUrl;
  const q = url.indexOf('?');
  const headers: Array<[string, string]> = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
  return { method: req.method, path: q < 0 ? url : url.slice(0, q), query: q < 0 ? '' : url.slice(q + 1), headers };
}

const TOO_LARGE = Object.freeze({ type: 'entity.too.large', status: 413, message: 'Request body is larger than 1 MB.' });

const hasBody = (req: IncomingMessage): boolean => req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  // A declared length over the cap is refused before reading (the route's jsonBody would, but auth reads first).
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.reject(TOO_LARGE);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (err: object) => {
      req.removeListener('data', onData);
      reject(err);
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) fail(TOO_LARGE);
      else chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/**
 * SigV4 (header or presigned query). JSON bodies are read and hashed here; PutMedia's streamed body
 * is not: it is signed with the empty-body hash (KVS producer SDK) or UNSIGNED-PAYLOAD (ffmpeg via
 * a presigned URL), kvs-api.md §3.1.
 */
export function sigv4Authenticator(opts: { identities: IdentityStore; region: string; now?: () => number }): Authenticator {
  const now = opts.now ?? Date.now;
  return {
    async authenticate(req) {
      const wire = wireRequest(req);
      let auth;
      try {
        auth = parseSigV4(wire);
        if (!auth) return undefined;
        checkScopeAndTime(auth, { region: opts.region, service: SERVICE, nowMs: now() });
      } catch (err) {
        if (err instanceof SigV4Error) throw new AuthError(err.code, KvsStatus[err.code], err.message);
        throw err;
      }
      const found = await opts.identities.lookupAccessKey(auth.accessKeyId);
      if (!found) throw new AuthError('UnrecognizedClientException', 403, 'The security token included in the request is invalid.');
      const sentHash = req.headers['x-amz-content-sha256'];
      let hashes: string[];
      if (wire.path === '/putMedia') {
        if (sentHash !== undefined && sentHash !== UNSIGNED_PAYLOAD && sentHash !== EMPTY_SHA256) {
          throw new AuthError('InvalidSignatureException', 403, "PutMedia streams its body: sign it with x-amz-content-sha256 UNSIGNED-PAYLOAD or the empty-body hash.");
        }
        hashes = typeof sentHash === 'string' ? [sentHash] : auth.form === 'query' ? [UNSIGNED_PAYLOAD, EMPTY_SHA256] : [EMPTY_SHA256, UNSIGNED_PAYLOAD];
      } else {
        const body = hasBody(req) ? await readBody(req, MAX_SIGNED_BODY) : Buffer.alloc(0);
        const actual = body.length ? sha256Hex(body) : EMPTY_SHA256;
        if (sentHash !== undefined && sentHash !== actual) {
          throw new AuthError('InvalidSignatureException', 403, "The provided 'x-amz-content-sha256' header does not match what was computed.");
        }
        hashes = [actual];
        if (body.length) setJsonBody(req, body);
      }
      try {
        verifySignature(auth, wire, found.secretAccessKey, hashes);
      } catch (err) {
        if (err instanceof SigV4Error) throw new AuthError(err.code, KvsStatus[err.code], err.message);
        throw err;
      }
      const u = found.user;
      return { user: u.name, role: u.role, ...(u.producerScope ? { producerScope: u.producerScope } : {}), via: 'sigv4' };
    },
  };
}

const KvsStatus = { IncompleteSignatureException: 400, InvalidSignatureException: 403, UnrecognizedClientException: 403 } as const;

/** The body is consumed; downstream JSON parsers see a finished request and keep this req.body. */
function setJsonBody(req: Request, body: Buffer): void {
  try {
    req.body = JSON.parse(body.toString('utf8')) as unknown;
  } catch (err) {
    throw Object.assign(new Error(`Request body is not valid JSON: ${(err as Error).message}`), { type: 'entity.parse.failed', status: 400, expose: true });
  }
}

export interface AuthMiddlewareOptions {
  authenticators: readonly Authenticator[];
  /** `--insecure-no-auth`: every request is an admin (loopback-only development mode). */
  insecureNoAuth: boolean;
  log: Logger;
}

const INSECURE: Principal = Object.freeze({ user: 'insecure-no-auth', role: 'admin', via: 'none' });

export function authMiddleware(opts: AuthMiddlewareOptions): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    void run(req, res).then(next, (err: unknown) => {
      const op = operationOf(req.method, req.path);
      if (err instanceof AuthError) refuse(req, res, op, err, opts.log);
      else if (op.kind === 'api' && isBodyError(err)) {
        // What jsonBodyErrors (api/respond.ts) answers for Kestrel's own JSON APIs.
        res.status(err.status === 413 ? 413 : 400).json({ message: `request body must be JSON: ${err.message}` });
      } else if (op.kind === 'aws' && isBodyError(err) && err.status === 413) {
        // As jsonBody (api/json-body.ts) answers; close, so the unread rest is not taken for the next request.
        res.set('connection', 'close');
        next(new KvsError('RequestEntityTooLargeException', `Request body is larger than ${MAX_SIGNED_BODY} bytes.`));
      } else next(err);
    });
  };

  async function run(req: Request, _res: Response): Promise<void> {
    const op = operationOf(req.method, req.path);
    let principal = ANONYMOUS;
    if (opts.insecureNoAuth) principal = INSECURE;
    else if (op.need !== 'public') {
      for (const a of opts.authenticators) {
        const p = await a.authenticate(req);
        if (p) {
          principal = p;
          break;
        }
      }
    }
    (req as { [PRINCIPAL]?: Principal })[PRINCIPAL] = principal;
    if (op.need === 'public') return;
    if (!principal.role) {
      throw op.kind === 'aws'
        ? new AuthError('MissingAuthenticationTokenException', 403, 'Missing Authentication Token')
        : new AuthError('MissingAuthenticationTokenException', 401, 'Authentication required: sign in, or sign the request (SigV4).');
    }
    const stream = op.kind === 'aws' ? targetStream(req, op) : undefined;
    const decision = authorize(principal, op, stream);
    if (!decision.allowed) {
      const action = op.kind === 'aws' ? `kinesisvideo:${op.name.charAt(0).toUpperCase()}${op.name.slice(1)}` : op.name;
      throw new AuthError('AccessDeniedException', 403, `User: ${principal.user} is not authorized to perform: ${action}${stream ? ` on stream ${stream}` : ''} (${decision.reason}).`);
    }
  }
}

function isBodyError(err: unknown): err is { status: number; message: string } {
  const type = (err as { type?: unknown } | null)?.type;
  return type === 'entity.parse.failed' || type === 'entity.too.large';
}

function targetStream(req: Request, op: Operation): string | undefined {
  if (op.name === 'putMedia') {
    // Header first, else the query (presigned URLs); data-routes.ts reads them in the same order.
    const pick = (name: string) => {
      const h = req.headers[name];
      const q = req.query[name];
      if (typeof h === 'string' && typeof q === 'string' && h !== q) {
        throw new AuthError('AccessDeniedException', 403, `The ${name} header (${h}) differs from the one the URL was signed for (${q}).`);
      }
      return typeof h === 'string' ? h : typeof q === 'string' ? q : undefined;
    };
    return streamNameOf({ StreamName: pick('x-amzn-stream-name'), StreamARN: pick('x-amzn-stream-arn') });
  }
  const body: unknown = req.body;
  return body && typeof body === 'object' ? streamNameOf(body as Record<string, unknown>) : undefined;
}

function refuse(req: Request, res: Response, op: Operation, err: AuthError, log: Logger): void {
  log.debug({ op: op.name, error: err.kvsName, reason: err.message }, 'request refused');
  // An unread body (PutMedia, or one we stopped reading) must not be left on a pooled connection.
  if (!req.complete) res.set('connection', 'close');
  if (op.kind === 'api') {
    res.status(err.status).set('cache-control', 'no-store').json({ message: err.message, error: err.kvsName });
    return;
  }
  const kvs = new KvsError(err.kvsName, err.message, err.status);
  res
    .status(kvs.status)
    .set('x-amzn-ErrorType', `${kvs.kvsName}:http://internal.amazon.com/coral/com.amazonaws.kinesisvideo/`)
    .type('application/json')
    .send(JSON.stringify({ Message: kvs.message }));
}
