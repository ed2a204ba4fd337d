/**
 * Data-plane HTTP edge: PutMedia (streaming body in, ACK chunks out), GetMedia and
 * GetMediaForFragmentList (streaming MKV out), ListFragments (JSON).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Request, type Response } from 'express';
import type { FragmentReader, ChunkSink } from '../archive/fragment-reader.ts';
import { parseStartSelector } from '../archive/selectors.ts';
import type { StreamService } from '../control/stream-service.ts';
import type { IngestService } from '../ingest/ingest-service.ts';
import { producerClock } from '../ingest/producer-time.ts';
import { invalidArgument } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { sendJson, wrap } from './respond.ts';
import { jsonBody } from './json-body.ts';
import type { CallLimiter } from './admission.ts';

export interface DataPlaneDeps {
  streams: StreamService;
  ingest: IngestService;
  reader: FragmentReader;
  log: Logger;
  /** Per-stream call quotas (KVS: 5 TPS for PutMedia and GetMedia). */
  calls?: CallLimiter;
  /** A streamed response whose client reads nothing for this long is dropped. */
  stalledWriteTimeoutMs?: number;
}

export function dataPlaneRouter(deps: DataPlaneDeps): express.Router {
  const router = express.Router({ caseSensitive: true });
  router.post('/putMedia', wrap((req, res) => putMedia(deps, req, res)));
  router.post('/getMedia', jsonBody(), wrap((req, res) => getMedia(deps, req, res)));
  router.post('/getMediaForFragmentList', jsonBody(), wrap((req, res) => getMediaForFragmentList(deps, req, res)));
  router.post('/listFragments', jsonBody(), wrap(async (req, res) => {
    const stream = await deps.streams.resolve(bodyOf(req));
    sendJson(res, await deps.reader.listFragments(stream, bodyOf(req)));
  }));
  return router;
}

async function putMedia(deps: DataPlaneDeps, req: Request, res: Response): Promise<void> {
  const name = putMediaParam(req, 'x-amzn-stream-name');
  const arn = putMediaParam(req, 'x-amzn-stream-arn');
  if (name !== undefined && arn !== undefined) throw invalidArgument('Send x-amzn-stream-name or x-amzn-stream-arn, not both.');
  const stream = await deps.streams.resolve(name !== undefined ? { StreamName: name } : { StreamARN: arn });
  deps.calls?.check('PutMedia', stream.name);
  const params = producerClock(putMediaParam(req, 'x-amzn-fragment-timecode-type'), putMediaParam(req, 'x-amzn-producer-start-timestamp'));
  const acksWanted = wantsAcks(req);
  let backlogLogged = false;
  const session = await deps.ingest.open(stream, params, {
    write: (ack) => {
      if (!acksWanted || res.writableEnded || res.destroyed) return;
      // A producer that never reads its ACKs must not make us buffer them without bound.
      if (res.writableLength > MAX_ACK_BACKLOG) {
        if (!backlogLogged) deps.log.warn({ stream: stream.name }, 'producer is not reading ACKs; dropping them');
        backlogLogged = true;
        return;
      }
      res.write(ack);
    },
    end: () => endAfterBody(req, res),
  });
  // Connection: close because a session can end (ERROR, idle, too slow) with the body still
  // arriving; a pooled connection must never carry that unread body into its next request.
  res.status(200).set('content-type', 'application/json').set('transfer-encoding', 'chunked').set('connection', 'close');
  // A producer that reads no ACKs gets its response only at the end: any unread byte in its
  // socket would turn its close() into a TCP reset, and a reset discards what we have not read yet.
  if (acksWanted) res.flushHeaders();
  res.socket?.setNoDelay(true);
  await deps.ingest.run(stream, session, req);
}

const MAX_ACK_BACKLOG = 256 * 1024;

/**
 * ACKs are skipped when the producer says it does not want them, and for ffmpeg (user agent
 * Lavf/...), which never reads the response while uploading: unread ACKs in its socket make its
 * final close() a TCP reset, and a reset can discard the last fragment's bytes before we read them.
 */
function wantsAcks(req: IncomingMessage): boolean {
  if (header(req, 'x-amzn-fragment-acknowledgment-required') === '0') return false;
  return !/^Lavf\//.test(header(req, 'user-agent') ?? '');
}

/**
 * Ends the ACK stream. When the session stopped with the body still arriving (ERROR, idle, too
 * slow), what is still coming is read and discarded for at most DRAIN_MS / DRAIN_MAX_BYTES, so a
 * producer can finish writing and read its last ACKs; then the response ends and, as it says
 * Connection: close, node closes the socket. Nothing unread is ever left for a next request.
 */
function endAfterBody(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete || res.writableEnded) {
    if (!res.writableEnded) res.end();
    return;
  }
  // Captured now: once the response has ended, node may have detached req.socket (null).
  const socket = req.socket as IncomingMessage['socket'] | null;
  let discarded = 0;
  const finish = () => {
    clearTimeout(timer);
    req.off('readable', discard);
    if (!res.writableEnded) res.end();
    // A producer that reads nothing may never let the response flush: close regardless.
    setTimeout(() => socket?.destroy(), 2000).unref();
  };
  const discard = () => {
    let chunk: Buffer | null;
    while ((chunk = req.read() as Buffer | null) !== null) discarded += chunk.length;
    if (discarded > DRAIN_MAX_BYTES) finish();
  };
  const timer = setTimeout(finish, DRAIN_MS);
  timer.unref();
  req.on('readable', discard);
  req.once('end', finish);
  req.once('close', finish);
  discard();
}

const DRAIN_MS = 2000;
const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
/** Kestrel addition: how long GetMedia waits at the end of stored data when the stream has no producer (ms). */
export const GET_MEDIA_END_WAIT_HEADER = 'x-kestrel-get-media-end-wait-ms';
const MAX_END_WAIT_MS = 300_000;

function endOfDataWait(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Number(value);
  if (!/^\d{1,6}$/.test(value) || ms > MAX_END_WAIT_MS) throw invalidArgument(`${GET_MEDIA_END_WAIT_HEADER} must be 0-${MAX_END_WAIT_MS} (ms).`);
  return ms;
}

async function getMedia(deps: DataPlaneDeps, req: Request, res: Response): Promise<void> {
  const body = bodyOf(req);
  const stream = await deps.streams.resolve(body);
  const selector = parseStartSelector(body.StartSelector);
  deps.calls?.check('GetMedia', stream.name);
  const endOfDataWaitMs = endOfDataWait(header(req, GET_MEDIA_END_WAIT_HEADER));
  const release = deps.reader.admitGetMedia(stream);
  try {
    startMkvResponse(res);
    await deps.reader.getMedia(stream, selector, responseSink(res, deps.stalledWriteTimeoutMs), endOfDataWaitMs === undefined ? {} : { endOfDataWaitMs });
  } finally {
    release();
    if (!res.writableEnded) res.end();
  }
}

async function getMediaForFragmentList(deps: DataPlaneDeps, req: Request, res: Response): Promise<void> {
  const body = bodyOf(req);
  const stream = await deps.streams.resolve(body);
  await deps.reader.resolveFragmentList(stream, body.Fragments);
  // The response starts once the first fragment is read: a failed read is still a clean KVS error.
  await deps.reader.getMediaForFragmentList(stream, body.Fragments, responseSink(res, deps.stalledWriteTimeoutMs), () => startMkvResponse(res));
  if (!res.writableEnded) res.end();
}

function startMkvResponse(res: Response): void {
  res.status(200).set('content-type', 'video/webm');
  res.flushHeaders();
  res.socket?.setNoDelay(true);
}

/**
 * Adapts an HTTP response to the reader's sink, honouring backpressure. A write resolves when
 * its last part's write callback runs — every byte is in the kernel, so the reader may reuse
 * its buffers — or when the response closes. A client that reads nothing for `stalledMs` is
 * dropped, so a stalled reader holds at most one write's bytes.
 */
export function responseSink(res: ServerResponse, stalledMs = 0): ChunkSink {
  return {
    get closed() {
      return res.destroyed || res.writableEnded;
    },
    onClose: (listener) => res.once('close', listener),
    write: (parts) =>
      new Promise<void>((resolve) => {
        if (res.destroyed || parts.length === 0) return resolve();
        let stalled: NodeJS.Timeout | undefined;
        const done = () => {
          clearTimeout(stalled);
          res.off('close', done);
          resolve();
        };
        res.once('close', done);
        res.cork();
        let ok = true;
        parts.forEach((p, i) => {
          ok = res.write(p, i === parts.length - 1 ? done : undefined) && ok;
        });
        res.uncork();
        if (!ok && stalledMs > 0 && !res.destroyed) stalled = setTimeout(() => res.destroy(), stalledMs);
      }),
  };
}

function bodyOf(req: Request): Record<string, unknown> {
  const b: unknown = req.body ?? {};
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw invalidArgument('Request body must be a JSON object.');
  return b as Record<string, unknown>;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * PutMedia parameters: the header, else the same name in the query (a presigned URL from `kestrel
 * presign put-media` carries them, signed, for producers such as ffmpeg that cannot sign).
 */
function putMediaParam(req: Request, name: string): string | undefined {
  const q = req.query[name];
  return header(req, name) ?? (typeof q === 'string' ? q : undefined);
}
