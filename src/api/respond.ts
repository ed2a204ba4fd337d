import { randomUUID } from 'node:crypto';
import type { Request, Response, NextFunction } from 'express';
import { KvsError } from '../shared/errors.ts';
import { diskFullKvsError, isDiskFullError } from '../shared/disk-full.ts';
import type { Logger } from '../shared/logger.ts';

/** Writes a KVS-style error: status, x-amzn-ErrorType header, {"Message"} body (kvs-api.md §1.1). */
export function sendKvsError(res: Response, err: KvsError): void {
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  res
    .status(err.status)
    .set('x-amzn-ErrorType', `${err.kvsName}:http://internal.amazon.com/coral/com.amazonaws.kinesisvideo/`)
    .type('application/json')
    .send(JSON.stringify({ Message: err.message }));
}

export function sendJson(res: Response, body: unknown): void {
  res.status(200).type('application/json').send(JSON.stringify(body ?? {}));
}

/** Every response carries a request id; the SDK reads it into $metadata.requestId. */
export function requestId(_req: Request, res: Response, next: NextFunction): void {
  res.set('x-amzn-RequestId', randomUUID());
  next();
}

/** Express error handler: KvsErrors are expected (debug log); anything else is a 500 InternalFailure. */
export function errorHandler(log: Logger) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    if (err instanceof KvsError) {
      log.debug({ err: err.message, name: err.kvsName }, 'request failed');
      sendKvsError(res, err);
      return;
    }
    const e = err as { type?: string; status?: number; message?: string };
    if (e?.type === 'entity.parse.failed') {
      sendKvsError(res, new KvsError('InvalidArgumentException', 'Request body is not valid JSON.'));
      return;
    }
    if (e?.type === 'entity.too.large') {
      // The rest of the body stays unread: close rather than parse it as the next request.
      res.set('connection', 'close');
      sendKvsError(res, new KvsError('RequestEntityTooLargeException', e.message ?? 'Request body is too large.'));
      return;
    }
    if (isDiskFullError(err)) {
      log.warn({ err }, 'write failed: disk full');
      sendKvsError(res, diskFullKvsError());
      return;
    }
    log.error({ err }, 'unhandled error');
    sendKvsError(res, new KvsError('InternalFailure', 'Internal server error.'));
  };
}

type RouteHandler = (req: Request, res: Response) => Promise<void> | void;

/** Route adapter: a throw or a rejected promise goes to express's error handlers. */
export const wrap = (h: RouteHandler) => (req: Request, res: Response, next: NextFunction): void => {
  try {
    void Promise.resolve(h(req, res)).catch(next);
  } catch (err) {
    next(err);
  }
};

/** Kestrel's own JSON APIs (not KVS): a body express.json could not parse → 400 `{message}`. */
export function jsonBodyErrors(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  const e = err as { type?: string; message?: string; status?: number } | undefined;
  if (e && (e.type === 'entity.parse.failed' || e.status === 400 || e.status === 413)) {
    res.status(e.status === 413 ? 413 : 400).json({ message: `request body must be JSON: ${e.message ?? ''}`.trim() });
    return;
  }
  next(err);
}
