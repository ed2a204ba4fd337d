import express, { type NextFunction, type Request, type Response } from 'express';
import { KvsError } from '../shared/errors.ts';
import { sendKvsError } from './respond.ts';

/**
 * JSON body parser for KVS operations. KVS clients (SDKs, the C producer) send
 * `application/json`; anything else is refused, because text/plain and form bodies are what a
 * page on another site can send without a CORS preflight. No body (or an empty one) without a
 * content type is {}. Bodies over `maxBytes` get 413 and the connection is closed, so the
 * excess is neither buffered nor drained.
 */
export function jsonBody(maxBytes = DEFAULT_MAX_JSON_BYTES): express.RequestHandler {
  const parse = express.json({ type: () => true, limit: maxBytes, strict: true });
  return (req, res, next) => {
    const refusal = jsonRefusal(req, maxBytes);
    if (refusal) return refuse(req, res, refusal);
    parse(req, res, (err?: unknown) => {
      if ((err as { type?: string } | undefined)?.type === 'entity.too.large') return refuse(req, res, tooLarge(maxBytes));
      next(err);
    });
  };
}

export const DEFAULT_MAX_JSON_BYTES = 1024 * 1024;

/** Why a request may not carry a JSON body here, or undefined when it may. */
export function jsonRefusal(req: Request, maxBytes: number): KvsError | undefined {
  const length = req.headers['content-length'];
  if (length !== undefined && Number(length) > maxBytes) return tooLarge(maxBytes);
  const type = req.headers['content-type'];
  const hasBody = (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
  if (type === undefined) return hasBody ? unsupported('none') : undefined;
  if (!isJsonType(type)) return unsupported(type);
  return undefined;
}

/** application/json, application/x-amz-json-1.x, anything/*+json; parameters ignored. */
export function isJsonType(contentType: string): boolean {
  const essence = contentType.split(';')[0]!.trim().toLowerCase();
  return essence === 'application/json' || /^application\/x-amz-json-1\.[01]$/.test(essence) || /^application\/[a-z0-9.+-]+\+json$/.test(essence);
}

const tooLarge = (maxBytes: number) => new KvsError('RequestEntityTooLargeException', `Request body is larger than ${maxBytes} bytes.`);
const unsupported = (type: string) =>
  new KvsError('UnsupportedMediaTypeException', `Content-Type ${JSON.stringify(type)} is not accepted; send application/json.`);

/** Answers and closes: the unread body must not be parsed as the next request on this connection. */
function refuse(_req: Request, res: Response, err: KvsError): void {
  res.set('connection', 'close');
  sendKvsError(res, err);
}

/** For Kestrel's own JSON APIs (/api/v1): the same rules, answered as `{message}`. */
export function requireJsonBody(maxBytes: number) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    const refusal = jsonRefusal(req, maxBytes);
    if (!refusal) return next();
    res.set('connection', 'close');
    res.status(refusal.status).json({ message: refusal.message });
  };
}
