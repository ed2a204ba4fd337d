/**
 * `kestrel ingest`: the camera path. ffmpeg pulls the source with -c copy and writes MKV with one
 * Cluster per frame; GopClusterStream turns that into one streaming (unknown-size) Cluster per
 * GOP, frame by frame, as the KVS producer SDK writes it, so the server has each frame at once.
 * Whenever either side drops, both are torn down and the pair is restarted with exponential
 * backoff, until SIGINT/SIGTERM.
 */
import { parseArgs, stringFlag, UsageError } from './args.ts';
import { DEFAULT_ENDPOINT, withCreateHint } from './push.ts';
import {
  KvsClientError,
  isEndpointMoved,
  putMedia,
  StreamNotFoundError,
  type PutMediaSummary,
} from '../client/put-media-client.ts';
import { dataEndpoint, ensureStream } from '../client/control-plane.ts';
import type { Credentials } from '../auth/sigv4.ts';
import { clientCredentials, clientRegion, CREDENTIAL_FLAGS, CREDENTIAL_USAGE } from './credentials.ts';
import { GopClusterStream } from '../client/gop-clusters.ts';
import { describeFailure, liveInputOptions, remuxToMkvArgs, spawnFfmpeg, type FfmpegExit } from '../media-tools/ffmpeg.ts';
import { checkMediaTools } from '../media-tools/preflight.ts';

export const INGEST_USAGE = `ingest <source-url> --stream NAME [--endpoint URL] [--create] [--max-runtime SECONDS] [--verbose]
  Pull a camera (rtsp://... or any ffmpeg input, copied without re-encoding) into a stream and keep
  it flowing: reconnects with backoff when the camera or the server drops; stops on SIGINT/SIGTERM.
  --endpoint URL        server (default $KESTREL_ENDPOINT or ${DEFAULT_ENDPOINT})
  --create              create the stream (24 h retention) if it does not exist
  --max-runtime SECS    stop cleanly after this long
  --verbose             also print ffmpeg's error output
${CREDENTIAL_USAGE}`;

/** Exponential reconnect delays: 0.5 s doubling to 30 s; reset once a connection stayed healthy for a minute. */
export class Backoff {
  private attempt = 0;
  constructor(
    readonly initialMs = 500,
    readonly maxMs = 30_000,
    readonly resetAfterHealthyMs = 60_000,
  ) {}

  /** Delay before the next attempt; `healthyForMs` is how long the connection that just ended worked. */
  next(healthyForMs = 0): number {
    if (healthyForMs >= this.resetAfterHealthyMs) this.attempt = 0;
    const delay = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt);
    if (delay < this.maxMs) this.attempt++;
    return delay;
  }
}

export type IngestLog = (message: string) => void;

export interface IngestOptions {
  source: string;
  stream: string;
  endpoint: string;
  credentials: Credentials;
  create: boolean;
  signal: AbortSignal;
  log: IngestLog;
  verbose?: boolean;
  /** No media bytes for this long means a hung camera: restart it. */
  stallTimeoutMs?: number;
}

export async function ingest(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv, ['create', 'verbose'], ['stream', 'endpoint', 'max-runtime', ...CREDENTIAL_FLAGS]);
  const [source, ...extra] = args.positionals;
  if (!source) throw new UsageError('missing the source URL (e.g. rtsp://camera/stream)');
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const stream = stringFlag(args, 'stream');
  if (!stream) throw new UsageError('--stream NAME is required');
  const endpoint = stringFlag(args, 'endpoint', 'KESTREL_ENDPOINT', DEFAULT_ENDPOINT)!;
  const credentials = clientCredentials(args);
  const maxRuntime = stringFlag(args, 'max-runtime');
  const maxRuntimeSec = maxRuntime === undefined ? undefined : Number(maxRuntime);
  if (maxRuntimeSec !== undefined && !(maxRuntimeSec > 0)) throw new UsageError('--max-runtime must be a positive number of seconds');

  // Without a usable ffmpeg every reconnect attempt would fail the same way: say so once and exit.
  await checkMediaTools(['ffmpeg']);
  const log: IngestLog = (m) => process.stderr.write(`${new Date().toISOString()} ingest ${stream}: ${m}\n`);
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (!stop.signal.aborted) log(`${sig} received, stopping`);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const timer = maxRuntimeSec
    ? setTimeout(() => {
        log(`max runtime of ${maxRuntimeSec}s reached, stopping`);
        stop.abort();
      }, maxRuntimeSec * 1000)
    : undefined;
  try {
    const create = args.flags.has('create');
    await withCreateHint(runIngest({ source, stream, endpoint, credentials, create, signal: stop.signal, log, verbose: args.flags.has('verbose') }));
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The reconnect loop; resolves when `signal` aborts, rejects only on errors retrying cannot fix. */
export async function runIngest(o: IngestOptions): Promise<void> {
  const backoff = new Backoff();
  let streamReady = false;
  let movedInARow = 0;
  for (let attempt = 1; !o.signal.aborted; attempt++) {
    let outcome: SessionOutcome;
    try {
      if (!streamReady) {
        const ensured = await ensureStream(o.endpoint, o.stream, o.create, o.credentials);
        if (ensured.created) o.log('created stream (24 h retention)');
        streamReady = true;
      }
      const putEndpoint = await dataEndpoint(o.endpoint, o.stream, 'PUT_MEDIA', o.credentials);
      o.log(`connecting to ${redact(o.source)}${attempt > 1 ? ` (attempt ${attempt})` : ''}`);
      outcome = await runSession(o, putEndpoint);
    } catch (err) {
      if (isFatal(err)) throw err;
      outcome = { reason: `control-plane request failed (${describe(err)})`, healthyMs: 0 };
    }
    if (outcome.streamGone) streamReady = false;
    if (o.signal.aborted) break;
    // Refused by a node that does not own the stream: GetDataEndpoint (next attempt) names the right
    // one, so the first such retry goes at once; repeated ones back off like any failure.
    movedInARow = outcome.endpointMoved ? movedInARow + 1 : 0;
    const delay = movedInARow === 1 ? 0 : backoff.next(outcome.healthyMs);
    o.log(`${outcome.reason}, retrying in ${seconds(delay)}`);
    await sleep(delay, o.signal);
  }
  o.log('stopped');
}

interface SessionOutcome {
  /** Why the session ended, phrased for the log line ("camera disconnected (...)"). */
  reason: string;
  /** How long fragments were being persisted (0 if never). */
  healthyMs: number;
  /** PutMedia said the stream no longer exists: run ensureStream again. */
  streamGone?: boolean;
  /** PutMedia was refused by a node that does not own the stream (InvalidEndpointException). */
  endpointMoved?: boolean;
}

type FirstEvent =
  | { kind: 'camera'; exit: FfmpegExit }
  | { kind: 'server-ended'; summary: PutMediaSummary }
  | { kind: 'server-failed'; err: unknown }
  | { kind: 'stalled' }
  | { kind: 'stop' };

/** One ffmpeg + one PutMedia request, until one of them ends or we are told to stop. */
async function runSession(o: IngestOptions, putEndpoint: string): Promise<SessionOutcome> {
  const startedAt = Date.now();
  const ffmpeg = spawnFfmpeg(remuxToMkvArgs(o.source, { inputOptions: liveInputOptions(o.source), clusterPerFrame: true }), {
    onStderrLine: o.verbose ? (line) => o.log(`ffmpeg: ${line}`) : undefined,
  });
  // A parse error fails this stream, so PutMedia fails and the session restarts like any other drop.
  const body = ffmpeg.stdout!.pipe(new GopClusterStream());
  const requestAbort = new AbortController();
  let firstPersistedAt: number | undefined;
  let lastDataAt = Date.now();
  let persisted = 0;

  const request = putMedia({
    endpoint: putEndpoint,
    streamName: o.stream,
    body,
    credentials: o.credentials,
    region: clientRegion(),
    // Cluster timecodes restart near 0 with every ffmpeg run; anchoring them to this session's
    // wall-clock start gives absolute producer timestamps that keep increasing across reconnects.
    producerStartMs: startedAt,
    signal: requestAbort.signal,
    drainTimeoutMs: 15_000,
    onBytesSent: () => (lastDataAt = Date.now()),
    onAck: (ack) => {
      if (ack.EventType === 'PERSISTED') persisted++;
      if (ack.EventType === 'PERSISTED' && firstPersistedAt === undefined) {
        firstPersistedAt = Date.now();
        o.log(`connected, first fragment persisted (${((firstPersistedAt - startedAt) / 1000).toFixed(1)}s after connecting)`);
      }
      if (ack.EventType === 'ERROR') o.log(`fragment rejected: ERROR ${ack.ErrorId ?? '?'} ${ack.ErrorCode ?? ''}`);
    },
  });
  request.catch(() => {}); // settled below; never left unhandled

  const stallMs = o.stallTimeoutMs ?? 30_000;
  let watchdog: NodeJS.Timeout | undefined;
  let onStop: (() => void) | undefined;
  let first = await Promise.race<FirstEvent>([
    ffmpeg.exited.then((exit) => ({ kind: 'camera', exit })),
    request.then(
      (summary) => ({ kind: 'server-ended', summary }),
      (err: unknown) => ({ kind: 'server-failed', err }),
    ),
    new Promise<FirstEvent>((resolve) => {
      watchdog = setInterval(() => Date.now() - lastDataAt > stallMs && resolve({ kind: 'stalled' }), 1000);
    }),
    new Promise<FirstEvent>((resolve) => {
      onStop = () => resolve({ kind: 'stop' });
      if (o.signal.aborted) onStop();
      else o.signal.addEventListener('abort', onStop, { once: true });
    }),
  ]);
  clearInterval(watchdog);
  if (onStop) o.signal.removeEventListener('abort', onStop);
  // The whole body went out and the server then closed the ACK stream: ffmpeg's output ended first,
  // so this is the camera side going away (its exit may simply not have been reported yet).
  if (first.kind === 'server-ended' && first.summary.bodyComplete) {
    const exit = await settleWithin(ffmpeg.exited, 3000, () => ffmpeg.child.kill('SIGKILL'));
    first = { kind: 'camera', exit: 'value' in exit ? exit.value : { code: -1, signal: null } };
  }

  // Tear down whichever side is still up. ffmpeg ending (or SIGINT, which flushes its last cluster)
  // ends the request body, so the server can persist the tail and close the ACK stream.
  if (first.kind === 'server-ended' || first.kind === 'server-failed') {
    body.resume();
    ffmpeg.stdout?.resume();
    await ffmpeg.stop(2000);
  } else if (first.kind === 'stalled') {
    ffmpeg.child.kill('SIGKILL');
  } else if (first.kind === 'stop') {
    await ffmpeg.stop(5000);
  }
  const exit = await ffmpeg.exited;
  const settled = await settleWithin(request, 15_000, () => requestAbort.abort(new Error('gave up waiting for the server')));
  const healthyMs = firstPersistedAt === undefined ? 0 : Date.now() - firstPersistedAt;

  switch (first.kind) {
    case 'stop':
      return { reason: 'stopped', healthyMs };
    case 'stalled':
      return { reason: `camera stalled (no media for ${stallMs / 1000}s)`, healthyMs };
    case 'camera': {
      // ffmpeg exits 0 when the source closes (RTSP teardown, end of file) and even after a read
      // timeout, which it reports on stderr.
      const detail = exit.code === 0 ? lastLine(ffmpeg.stderrTail()) || 'stream ended' : describeFailure(exit, ffmpeg.stderrTail());
      const err = 'err' in settled ? `; server: ${describe(settled.err)}` : '';
      return { reason: `camera disconnected (${detail}${err})${after(persisted)}`, healthyMs };
    }
    case 'server-ended': {
      const e = first.summary.errors[0];
      const why = e ? `after ERROR ${e.ErrorId ?? '?'} ${e.ErrorCode ?? ''}` : 'without an error';
      return { reason: `server ended the session ${why}${after(persisted)}`, healthyMs };
    }
    case 'server-failed': {
      if (first.err instanceof KvsClientError) {
        // Refused before any media: fatal for bad requests; a second producer or a deleted stream may pass.
        if (isFatal(first.err)) throw first.err;
        const streamGone = first.err.errorType === 'ResourceNotFoundException';
        const endpointMoved = isEndpointMoved(first.err);
        return { reason: endpointMoved ? 'stream is served by another node, asking GetDataEndpoint again' : `server refused PutMedia (${first.err.message})`, healthyMs, streamGone, endpointMoved };
      }
      return { reason: `server connection lost (${describe(first.err)})${after(persisted)}`, healthyMs };
    }
  }
}

/** Errors that retrying cannot fix: bad requests and a missing stream we may not create. */
function isFatal(err: unknown): boolean {
  if (err instanceof StreamNotFoundError) return true;
  if (!(err instanceof KvsClientError)) return false;
  return ['InvalidArgumentException', 'NotAuthorizedException', 'AccessDeniedException', 'UnknownOperationException'].includes(
    err.errorType,
  );
}

async function settleWithin<T>(p: Promise<T>, ms: number, onTimeout: () => void): Promise<{ value: T } | { err: unknown }> {
  const timer = setTimeout(onTimeout, ms);
  try {
    return { value: await p };
  } catch (err) {
    return { err };
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  // Node's happy-eyeballs AggregateError has an empty message and only a code.
  if (!err.message) return typeof code === 'string' ? code : err.name;
  return typeof code === 'string' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}

function lastLine(lines: readonly string[]): string {
  return lines.filter((l) => l.trim()).at(-1)?.trim() ?? '';
}

function after(persisted: number): string {
  return persisted ? ` after ${persisted} fragment(s)` : '';
}

/** "0.5s", "2s", "30s". */
export function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))}s`;
}

/** Hides camera passwords (rtsp://user:pass@host) in log lines. */
function redact(url: string): string {
  return url.replace(/\/\/([^/@:]+):[^/@]*@/, '//$1:***@');
}
