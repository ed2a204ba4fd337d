/**
 * Client side of KVS ingest: PutMedia over plain HTTP (there is no PutMedia in the JS SDK).
 * The control-plane calls a producer makes first are in control-plane.ts.
 * Works against Kestrel and, modulo SigV4 on PutMedia, against the real service.
 */
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { EMPTY_SHA256, signHeaders, type Credentials } from '../auth/sigv4.ts';

/** One PutMedia acknowledgement, flat as on the wire (kvs-api.md §3.3). */
export interface Ack {
  EventType: 'BUFFERING' | 'RECEIVED' | 'PERSISTED' | 'ERROR' | 'IDLE' | (string & {});
  FragmentTimecode?: number;
  FragmentNumber?: string;
  ErrorId?: number;
  ErrorCode?: string;
}

/** A request the service refused: the KVS error name (x-amzn-ErrorType) and its message. */
export class KvsClientError extends Error {
  constructor(
    readonly errorType: string,
    readonly statusCode: number | undefined,
    readonly serverMessage: string,
  ) {
    super(`${errorType}: ${serverMessage}${statusCode ? ` (HTTP ${statusCode})` : ''}`);
    this.name = errorType;
  }
}

/**
 * The stream is served by another node (a Kestrel cluster, or KVS's own routing): ask
 * GetDataEndpoint (PUT_MEDIA) again and reconnect there. KVS answers InvalidEndpointException
 * (HTTP 400) for PutMedia on the wrong endpoint; the KVS producer SDK's state machine reacts to any
 * such refusal by re-running DescribeStream → GetDataEndpoint (src/ingest/README.md, "Stream ownership").
 */
export function isEndpointMoved(err: unknown): boolean {
  return err instanceof KvsClientError && err.errorType === 'InvalidEndpointException';
}

/** ensureStream without `create` found no such stream. */
export class StreamNotFoundError extends KvsClientError {
  constructor(
    readonly streamName: string,
    endpoint: string,
  ) {
    super('ResourceNotFoundException', 404, `stream "${streamName}" does not exist at ${endpoint}`);
  }
}

/** The connection failed or broke (refused, reset, timed out); `summary` holds what happened so far. */
export class PutMediaConnectionError extends Error {
  constructor(
    message: string,
    readonly summary: PutMediaSummary,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PutMediaConnectionError';
  }
}

/**
 * Incremental ACK-stream parser. KVS writes one JSON object per event, normally newline-terminated,
 * but chunk boundaries fall anywhere and some consumers see objects back to back, so this scans
 * for balanced top-level objects instead of trusting newlines.
 */
export class AckStreamParser {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private junk = '';
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(
    private readonly onMalformed: (text: string) => void = () => {},
    private readonly maxObjectChars = 64 * 1024,
  ) {}

  push(chunk: Buffer | string): Ack[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const acks: Ack[] = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (this.depth === 0) {
        if (c === '{') {
          this.flushJunk();
          this.depth = 1;
          start = i;
        } else if (c === '\n') this.flushJunk();
        else if (c !== ' ' && c !== '\r' && c !== '\t') this.junk += c;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
      } else if (c === '"') this.inString = true;
      else if (c === '{') this.depth++;
      else if (c === '}' && --this.depth === 0) {
        const ack = this.parse(this.pending + text.slice(start, i + 1));
        this.pending = '';
        if (ack) acks.push(ack);
      }
    }
    if (this.depth > 0) {
      this.pending += text.slice(start);
      if (this.pending.length > this.maxObjectChars) this.reset(this.pending);
    }
    return acks;
  }

  /** Call when the stream ends; a half-received object is reported as malformed. */
  end(): Ack[] {
    const acks = this.push(this.decoder.end());
    if (this.depth > 0) this.reset(this.pending);
    this.flushJunk();
    return acks;
  }

  private parse(text: string): Ack | undefined {
    try {
      const v: unknown = JSON.parse(text);
      if (v && typeof v === 'object' && typeof (v as Ack).EventType === 'string') return v as Ack;
    } catch {
      // fall through: reported below
    }
    this.onMalformed(text);
    return undefined;
  }

  private reset(text: string): void {
    this.onMalformed(text);
    this.pending = '';
    this.depth = 0;
    this.inString = this.escaped = false;
  }

  private flushJunk(): void {
    if (this.junk) this.onMalformed(this.junk);
    this.junk = '';
  }
}

export interface PutMediaOptions {
  /** Data endpoint (GetDataEndpoint PUT_MEDIA), e.g. http://127.0.0.1:8080; a path prefix is kept. */
  endpoint: string;
  streamName: string;
  /** MKV (or fragmented MP4) bytes; piped into the chunked request body. */
  body: Readable;
  /** Default: RELATIVE when producerStartMs is given, else ABSOLUTE. */
  timecodeType?: 'ABSOLUTE' | 'RELATIVE';
  /** Sent as x-amzn-producer-start-timestamp (decimal seconds, 3 fraction digits). */
  producerStartMs?: number;
  onAck?: (ack: Ack) => void;
  /** The service accepted the request (HTTP 200); ACKs follow. */
  onAccepted?: () => void;
  /** Total request-body bytes handed to the socket so far. */
  onBytesSent?: (total: number) => void;
  /** Aborting destroys the request and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** How long to wait for the ACK stream to end after the body has been sent. */
  drainTimeoutMs?: number;
  headers?: Record<string, string>;
  /** Signs the request (SigV4) as the KVS producer SDK does: empty-body payload hash, the body streams unsigned. */
  credentials?: Credentials;
  /** Signing region (default us-east-1); must be the server's region. */
  region?: string;
}

export interface PutMediaSummary {
  acks: number;
  buffering: number;
  received: number;
  persisted: number;
  idle: number;
  errors: Ack[];
  /** Pieces of the response that were not ACK objects. */
  malformed: number;
  bytesSent: number;
  /** False when the service ended the response before the body was fully sent (e.g. after an ERROR). */
  bodyComplete: boolean;
}

/**
 * Streams `body` to `${endpoint}/putMedia` and reads ACKs as they arrive. Resolves when the
 * service ends the ACK stream; rejects with KvsClientError when it refuses the request (e.g.
 * ResourceNotFoundException) and PutMediaConnectionError when the connection fails. If the
 * response ends first, the body is unpiped but not destroyed: the caller owns its producer.
 */
export function putMedia(opts: PutMediaOptions): Promise<PutMediaSummary> {
  const summary: PutMediaSummary = {
    acks: 0, buffering: 0, received: 0, persisted: 0, idle: 0, errors: [], malformed: 0, bytesSent: 0, bodyComplete: false,
  };
  const url = new URL(joinUrl(opts.endpoint, 'putMedia'));
  const timecodeType = opts.timecodeType ?? (opts.producerStartMs !== undefined ? 'RELATIVE' : 'ABSOLUTE');
  const headers: Record<string, string> = {
    // The C producer sends this content-type with its MKV body; services ignore it, so mirror the producer.
    'content-type': 'application/json',
    // As the producer does. With "close" (Node's default without an agent) a server may shut the
    // socket right after an early ERROR response; our next write then draws a RST that can discard
    // the unread ACKs. Keep-alive makes servers drain the rest of the body instead.
    connection: 'keep-alive',
    'x-amzn-stream-name': opts.streamName,
    'x-amzn-fragment-timecode-type': timecodeType,
    'x-amzn-fragment-acknowledgment-required': '1',
    ...(opts.producerStartMs !== undefined ? { 'x-amzn-producer-start-timestamp': formatSeconds(opts.producerStartMs) } : {}),
    ...opts.headers,
  };
  if (opts.credentials) Object.assign(headers, signHeaders({ method: 'POST', url, headers, payloadHash: EMPTY_SHA256, credentials: opts.credentials, region: opts.region ?? 'us-east-1' }));
  const { body } = opts;

  return new Promise<PutMediaSummary>((resolve, reject) => {
    let settled = false;
    let drainTimer: NodeJS.Timeout | undefined;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(drainTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      body.off('data', countBytes);
      body.unpipe(req);
      if (err) reject(err);
      else resolve(summary);
      if (!req.destroyed && !req.writableFinished) req.destroy();
    };
    const connectionError = (what: string, cause?: unknown): PutMediaConnectionError => {
      // Node's happy-eyeballs AggregateError carries only a code.
      const detail = cause instanceof Error ? `: ${cause.message || (cause as { code?: string }).code || cause.name}` : '';
      return new PutMediaConnectionError(`PutMedia to ${url.origin}: ${what}${detail}`, summary, { cause });
    };
    const onAbort = (): void => {
      const reason: unknown = opts.signal?.reason;
      finish(reason instanceof Error ? reason : new Error('PutMedia aborted'));
    };
    const countBytes = (chunk: Buffer): void => {
      summary.bytesSent += chunk.length;
      opts.onBytesSent?.(summary.bytesSent);
    };

    const transport = url.protocol === 'https:' ? https : http;
    // No keep-alive agent: one PutMedia is one long-lived connection, and idle pooled sockets keep CLIs alive.
    const req = transport.request(url, { method: 'POST', headers, agent: false });
    req.setNoDelay(true);
    let responded = false;
    // Once a response is being read, a write error (EPIPE: the service stopped reading, e.g. after an
    // ERROR ACK) is expected; whether the response itself completed decides the outcome.
    req.on('error', (err) => responded || finish(connectionError('request failed', err)));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    req.on('finish', () => {
      summary.bodyComplete = true;
      const ms = opts.drainTimeoutMs ?? 60_000;
      drainTimer = setTimeout(() => finish(connectionError(`no end of the ACK stream ${ms / 1000}s after the body ended`)), ms);
    });
    body.on('error', (err) => finish(connectionError('reading the media body failed', err)));
    body.on('data', countBytes);
    body.pipe(req);
    // Send the headers now: refusals (unknown stream, second producer) arrive before any media is ready.
    req.flushHeaders();

    req.on('response', (res) => {
      responded = true;
      if (res.statusCode !== 200) {
        body.unpipe(req);
        return readErrorResponse(res).then((e) => finish(e));
      }
      opts.onAccepted?.();
      const parser = new AckStreamParser(() => summary.malformed++);
      const deliver = (acks: Ack[]): void => {
        for (const ack of acks) {
          tally(summary, ack);
          opts.onAck?.(ack);
        }
      };
      res.on('data', (chunk: Buffer) => deliver(parser.push(chunk)));
      res.on('error', () => {}); // 'close' below reports it
      res.on('close', () => {
        if (!res.complete) return finish(connectionError('connection closed before the ACK stream ended'));
        deliver(parser.end());
        finish();
      });
    });
  });
}

const COUNTERS = { BUFFERING: 'buffering', RECEIVED: 'received', PERSISTED: 'persisted', IDLE: 'idle' } as const;

function tally(s: PutMediaSummary, ack: Ack): void {
  s.acks++;
  if (ack.EventType === 'ERROR') s.errors.push(ack);
  else if (Object.hasOwn(COUNTERS, ack.EventType)) s[COUNTERS[ack.EventType as keyof typeof COUNTERS]]++;
}

/** Reads a non-200 PutMedia answer into a KvsClientError ({"Message": ...} body, x-amzn-ErrorType header). */
async function readErrorResponse(res: http.IncomingMessage): Promise<KvsClientError> {
  const chunks: Buffer[] = [];
  try {
    for await (const c of res as AsyncIterable<Buffer>) {
      chunks.push(c);
      if (chunks.length > 64) break;
    }
  } catch {
    // the connection may drop right after the error; the header alone is enough
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const body = parseObject(text);
  const header = res.headers['x-amzn-errortype'];
  const rawType = (Array.isArray(header) ? header[0] : header) ?? stringField(body, 'code') ?? stringField(body, '__type');
  const message = stringField(body, 'message') ?? stringField(body, 'Message') ?? (text.trim() || res.statusMessage || 'no message');
  return new KvsClientError(sanitizeErrorType(rawType) ?? `HTTP${res.statusCode}`, res.statusCode, message);
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {}; // not JSON: the message falls back to the raw text
  }
}

function stringField(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}

/** The SDK's rule: cut at ',' then ':' and keep what follows '#'. */
export function sanitizeErrorType(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const name = value.split(',')[0]!.split(':')[0]!.split('#').at(-1)!.trim();
  return name || undefined;
}

/** Decimal seconds with zero-padded millis ("1704164645.005"), never the C producer's ambiguous "…645.5". */
export function formatSeconds(ms: number): string {
  const whole = Math.floor(ms);
  return `${Math.floor(whole / 1000)}.${String(whole % 1000).padStart(3, '0')}`;
}

function joinUrl(base: string, op: string): string {
  return `${base.replace(/\/+$/, '')}/${op}`;
}
