/**
 * `kestrel push`: upload a media file (or stdin) to a stream through PutMedia. The input is always
 * remuxed by ffmpeg (-c copy, no re-encode) into MKV with one Cluster per GOP, which makes any
 * MKV/MP4 layout a valid fragment sequence and costs little.
 */
import fs from 'node:fs';
import { parseArgs, stringFlag, UsageError } from './args.ts';
import { clientCredentials, clientRegion, CREDENTIAL_FLAGS, CREDENTIAL_USAGE } from './credentials.ts';
import {
  isEndpointMoved,
  putMedia,
  StreamNotFoundError,
  type Ack,
  type PutMediaSummary,
} from '../client/put-media-client.ts';
import { dataEndpoint, ensureStream } from '../client/control-plane.ts';
import { describeFailure, remuxToMkvArgs, spawnFfmpeg, type FfmpegExit } from '../media-tools/ffmpeg.ts';
import type { Credentials } from '../auth/sigv4.ts';
import { checkMediaTools } from '../media-tools/preflight.ts';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8080';

export const PUSH_USAGE = `push <file|-> --stream NAME [--endpoint URL] [--create] [--rate realtime|max] [--quiet] [--json]
  Upload an MKV or MP4 file ("-" = stdin; from stdin use MKV or fragmented MP4) through PutMedia,
  one fragment per GOP (ffmpeg remux, no re-encode). Exits 1 if any fragment is rejected.
  --endpoint URL   server (default $KESTREL_ENDPOINT or ${DEFAULT_ENDPOINT})
  --create         create the stream (24 h retention) if it does not exist
  --rate           realtime: send at the media's own pace, like a camera; max (default): as fast as possible
  --quiet          no per-ACK lines, only the summary
  --json           print each ACK as a raw JSON line on stdout
${CREDENTIAL_USAGE}`;

export async function push(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv, ['create', 'quiet', 'json'], ['stream', 'endpoint', 'rate', ...CREDENTIAL_FLAGS]);
  const [input, ...extra] = args.positionals;
  if (!input) throw new UsageError('missing the file to push (or "-" for stdin)');
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const stream = stringFlag(args, 'stream');
  if (!stream) throw new UsageError('--stream NAME is required');
  const endpoint = stringFlag(args, 'endpoint', 'KESTREL_ENDPOINT', DEFAULT_ENDPOINT)!;
  const rate = stringFlag(args, 'rate', undefined, 'max');
  if (rate !== 'max' && rate !== 'realtime') throw new UsageError('--rate must be realtime or max');
  const credentials = clientCredentials(args);
  const quiet = args.flags.has('quiet');
  const json = args.flags.has('json');

  if (input !== '-') {
    try {
      if (!fs.statSync(input).isFile()) throw new Error('not a regular file');
    } catch (err) {
      throw new Error(`cannot read ${input}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  await checkMediaTools(['ffmpeg']);
  const ensured = await withCreateHint(ensureStream(endpoint, stream, args.flags.has('create'), credentials));
  if (ensured.created) process.stderr.write(`created stream ${stream} (24 h retention)\n`);
  // Another node may own the stream (cluster): it refuses with InvalidEndpointException before
  // reading media, and we ask GetDataEndpoint again, as the KVS producer SDK does. A file can be
  // re-read; stdin cannot, so it gets no second attempt.
  let putEndpoint = await dataEndpoint(endpoint, stream, 'PUT_MEDIA', credentials);
  let upload = await uploadOnce({ input, stream, putEndpoint, credentials, rate, quiet, json });
  for (let moved = 1; isEndpointMoved(upload.failure) && input !== '-' && moved <= MAX_ENDPOINT_MOVES; moved++) {
    process.stderr.write(`stream ${stream} is served by another node; asking GetDataEndpoint again\n`);
    putEndpoint = await dataEndpoint(endpoint, stream, 'PUT_MEDIA', credentials);
    upload = await uploadOnce({ input, stream, putEndpoint, credentials, rate, quiet, json });
  }
  const { summary, failure, exit, stoppedEarly, interrupted, ffmpegTail, progress } = upload;
  if (failure) throw failure;
  if (!stoppedEarly && !interrupted && exit.code !== 0) {
    throw new Error(describeFailure(exit, ffmpegTail));
  }
  const s = summary!;
  process.stderr.write(`${progress.summaryLine(s)}\n`);
  if (s.errors.length) {
    const first = s.errors[0]!;
    throw new Error(
      `${s.errors.length} fragment(s) rejected; first: ERROR ${first.ErrorId ?? '?'} ${first.ErrorCode ?? ''} ` +
        `at fragment timecode ${first.FragmentTimecode ?? '?'}`,
    );
  }
  if (!s.bodyComplete) throw new Error('the server ended the upload before all media was sent');
}

const MAX_ENDPOINT_MOVES = 3;

interface UploadOutcome {
  summary: PutMediaSummary | undefined;
  failure: unknown;
  exit: FfmpegExit;
  stoppedEarly: boolean;
  interrupted: boolean;
  ffmpegTail: string[];
  progress: Progress;
}

/** One ffmpeg remux piped into one PutMedia request. */
async function uploadOnce(o: {
  input: string;
  stream: string;
  putEndpoint: string;
  credentials: Credentials;
  rate: string;
  quiet: boolean;
  json: boolean;
}): Promise<UploadOutcome> {
  const { input, stream, putEndpoint, credentials, rate, quiet, json } = o;
  const progress = new Progress(quiet);
  const ffmpeg = spawnFfmpeg(remuxToMkvArgs(input === '-' ? 'pipe:0' : input, { realtime: rate === 'realtime' }), {
    stdin: input === '-' ? 'pipe' : 'ignore',
    onStderrLine: (line) => progress.line(`ffmpeg: ${line}`),
  });
  if (input === '-' && ffmpeg.stdin) process.stdin.pipe(ffmpeg.stdin);

  // Ctrl-C ends the input early but cleanly: ffmpeg flushes its last cluster and the upload finishes.
  let interrupted = false;
  const onSigint = (): void => {
    interrupted = true;
    void ffmpeg.stop();
  };
  process.once('SIGINT', onSigint);

  let summary: PutMediaSummary | undefined;
  let failure: unknown;
  try {
    summary = await putMedia({
      endpoint: putEndpoint,
      streamName: stream,
      body: ffmpeg.stdout!,
      credentials,
      region: clientRegion(),
      // RELATIVE + start time: file timecodes start at 0, so producer timestamps become "now + offset".
      producerStartMs: Date.now(),
      onBytesSent: (n) => progress.bytes(n),
      onAck: (ack) => {
        if (json) process.stdout.write(JSON.stringify(ack) + '\n');
        progress.ack(ack, !json);
      },
    });
  } catch (err) {
    failure = err;
  }

  let stoppedEarly = false;
  if (failure || !summary?.bodyComplete) {
    // The service is no longer reading: drop the rest of the input.
    stoppedEarly = true;
    ffmpeg.stdout?.resume();
    await ffmpeg.stop(2000);
  }
  const exit = await ffmpeg.exited;
  process.off('SIGINT', onSigint);
  if (input === '-') {
    process.stdin.unpipe();
    process.stdin.destroy();
  }
  progress.finish();
  return { summary, failure, exit, stoppedEarly, interrupted, ffmpegTail: ffmpeg.stderrTail(), progress };
}

/** Adds the CLI remedy to "stream does not exist" (the KVS error name stays first in the message). */
export async function withCreateHint<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof StreamNotFoundError) {
      throw new Error(`${err.message}; pass --create to create it`);
    }
    throw err;
  }
}

/** Progress on stderr: a live status line on a TTY, periodic lines otherwise; ACKs as compact lines. */
class Progress {
  private readonly startedAt = Date.now();
  private sent = 0;
  private persisted = 0;
  private statusShown = false;
  private lastPrintedAt = 0;
  private readonly tty = process.stderr.isTTY === true;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly quiet: boolean) {
    this.timer = setInterval(() => this.tick(), this.tty ? 500 : 5000);
    this.timer.unref();
  }

  bytes(total: number): void {
    this.sent = total;
  }

  ack(ack: Ack, print: boolean): void {
    if (ack.EventType === 'PERSISTED') this.persisted++;
    if (ack.EventType === 'ERROR' || (print && !this.quiet)) this.line(formatAck(ack));
    if (this.tty) this.status();
  }

  /** Prints a full line without mangling the TTY status line. */
  line(text: string): void {
    this.clearStatus();
    process.stderr.write(text + '\n');
    if (this.tty) this.status();
  }

  finish(): void {
    clearInterval(this.timer);
    this.clearStatus();
  }

  summaryLine(s: PutMediaSummary): string {
    const secs = (Date.now() - this.startedAt) / 1000;
    const errors = s.errors.length ? `, ${s.errors.length} rejected` : '';
    return `done: ${s.persisted} fragment(s) persisted${errors}, ${mb(s.bytesSent)} sent in ${secs.toFixed(1)}s (${mb(s.bytesSent / Math.max(secs, 0.001))}/s)`;
  }

  private tick(): void {
    if (this.tty) return this.status();
    if (this.quiet || Date.now() - this.lastPrintedAt < 5000) return;
    this.lastPrintedAt = Date.now();
    process.stderr.write(this.statusText() + '\n');
  }

  private statusText(): string {
    const secs = Math.max((Date.now() - this.startedAt) / 1000, 0.001);
    return `sent ${mb(this.sent)} · ${this.persisted} persisted · ${mb(this.sent / secs)}/s`;
  }

  private status(): void {
    process.stderr.write(`\r\x1b[K${this.statusText()}`);
    this.statusShown = true;
  }

  private clearStatus(): void {
    if (this.statusShown) process.stderr.write('\r\x1b[K');
    this.statusShown = false;
  }
}

/** One short line per ACK, e.g. "PERSISTED  tc=2000  91343852333181432511524306419788296366724229586". */
export function formatAck(ack: Ack): string {
  const type = ack.EventType.padEnd(9);
  if (ack.EventType === 'IDLE') return type;
  const tc = ack.FragmentTimecode !== undefined ? `  tc=${ack.FragmentTimecode}` : '';
  const frag = ack.FragmentNumber ? `  ${ack.FragmentNumber}` : '';
  const err = ack.EventType === 'ERROR' ? `  ${ack.ErrorId ?? '?'} ${ack.ErrorCode ?? ''}` : '';
  return `${type}${tc}${frag}${err}`;
}

function mb(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(0)} kB`;
}
