/**
 * `kestrel analyze`: a batch analysis job over an archived time range, driven through the server's
 * HTTP API (POST /api/v1/jobs, then polling), with a progress bar on stderr and the report written
 * at the end.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { UsageError, parseArgs, stringFlag } from './args.ts';
import { ProgressPrinter, type ProgressView } from './progress.ts';
import { clientCredentials, clientRegion, CREDENTIAL_FLAGS, CREDENTIAL_USAGE } from './credentials.ts';
import { signedFetch, type SigningContext } from '../client/signed-fetch.ts';

export const ANALYZE_USAGE = `kestrel analyze --stream NAME --start TIME --end TIME [--fps N] [--out report.json|report.csv]
                [--endpoint URL] [--job ID] [--cancel-on-exit]
  Runs person detection over an archived time range as a batch job on the server (POST /api/v1/jobs;
  the same pipeline as live detection), shows progress on stderr, and writes the report (every event
  and the detections of every sampled frame): CSV when --out ends in .csv, else JSON; JSON on stdout
  without --out. TIME is ISO 8601 (2024-05-01T10:00:00Z) or ms epoch; the range selects fragments by
  producer timestamp. --job ID re-attaches to an existing job instead of starting one.
  Ctrl-C leaves the job running on the server (re-attach with --job ID); with --cancel-on-exit it is
  cancelled instead. Exit status: 0 succeeded, 1 failed or cancelled, 2 usage, 130 interrupted.
  Env: KESTREL_ENDPOINT (default http://127.0.0.1:8080).
${CREDENTIAL_USAGE}`;

interface JobView extends ProgressView {
  id: string;
  stream: string;
  error?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

class ApiError extends Error {}

interface ApiTarget {
  endpoint: string;
  signing: SigningContext;
}

async function api<T>({ endpoint, signing }: ApiTarget, method: string, p: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await signedFetch(`${endpoint}${p}`, {
      method,
      ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
    }, signing);
  } catch (err) {
    throw new ApiError(`cannot reach ${endpoint}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // not JSON
    }
    throw new ApiError(`${method} ${p}: ${res.status} ${message}`.trim());
  }
  return (p.includes('format=csv') ? text : JSON.parse(text)) as T;
}

export function reportFormat(out: string | undefined): 'json' | 'csv' {
  return out !== undefined && path.extname(out).toLowerCase() === '.csv' ? 'csv' : 'json';
}

export async function analyze(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv, ['cancel-on-exit'], ['endpoint', 'out', 'job', 'stream', 'start', 'end', 'fps', ...CREDENTIAL_FLAGS]);
  const endpoint = (stringFlag(args, 'endpoint', 'KESTREL_ENDPOINT', 'http://127.0.0.1:8080') ?? '').replace(/\/+$/, '');
  if (!URL.canParse(endpoint)) throw new UsageError('--endpoint must be a URL');
  const target: ApiTarget = { endpoint, signing: { credentials: clientCredentials(args), region: clientRegion() } };
  const out = stringFlag(args, 'out');
  const attach = stringFlag(args, 'job');
  const cancelOnExit = args.flags.get('cancel-on-exit') === true;
  const intervalMs = 500;
  if (args.positionals.length) throw new UsageError(`unexpected argument ${args.positionals[0]}`);

  let job: JobView;
  if (attach) {
    job = await api<JobView>(target, 'GET', `/api/v1/jobs/${encodeURIComponent(attach)}`);
  } else {
    const stream = stringFlag(args, 'stream');
    const start = stringFlag(args, 'start');
    const end = stringFlag(args, 'end');
    if (!stream) throw new UsageError('--stream is required (or --job ID)');
    if (!start || !end) throw new UsageError('--start and --end are required');
    const body: Record<string, unknown> = { stream, start: timeArg(start), end: timeArg(end) };
    const fps = stringFlag(args, 'fps');
    if (fps !== undefined) {
      const n = Number(fps);
      if (!Number.isFinite(n) || n <= 0 || n > 60) throw new UsageError('--fps must be a number in (0, 60]');
      body.fps = n;
    }
    job = await api<JobView>(target, 'POST', '/api/v1/jobs', body);
    process.stderr.write(`job ${job.id} (${job.stream}) created\n`);
  }

  const printer = new ProgressPrinter((s) => process.stderr.write(s), process.stderr.isTTY === true);
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSigint);
  try {
    printer.update(job);
    while (!FINAL.has(job.status) && !interrupted) {
      await sleep(intervalMs);
      if (interrupted) break;
      job = await api<JobView>(target, 'GET', `/api/v1/jobs/${encodeURIComponent(job.id)}`);
      printer.update(job);
    }
  } finally {
    process.off('SIGINT', onSigint);
    printer.done();
  }

  if (interrupted) {
    if (cancelOnExit) {
      await api<JobView>(target, 'POST', `/api/v1/jobs/${encodeURIComponent(job.id)}/cancel`);
      process.stderr.write(`job ${job.id} cancelled\n`);
    } else {
      const outArg = out ? ` --out ${out}` : '';
      process.stderr.write(`job ${job.id} is still running on the server; re-attach with:\n  kestrel analyze --job ${job.id} --endpoint ${endpoint}${outArg}\n`);
    }
    process.exitCode = 130;
    return;
  }
  if (job.status !== 'succeeded') {
    process.stderr.write(`kestrel analyze: job ${job.id} ${job.status}${job.error ? `: ${job.error}` : ''}\n`);
    process.exitCode = 1;
    return;
  }
  const format = reportFormat(out);
  const report = await api<unknown>(target, 'GET', `/api/v1/jobs/${encodeURIComponent(job.id)}/result?format=${format}`);
  const text = typeof report === 'string' ? report : `${JSON.stringify(report, null, 2)}\n`;
  if (out) {
    await fs.writeFile(out, text);
    process.stderr.write(`report written to ${out}\n`);
  } else {
    process.stdout.write(text);
  }
}

/** Digits stay a ms epoch (sent as a number); anything else is sent as is (the server validates ISO). */
function timeArg(v: string): string | number {
  return /^\d{1,16}$/.test(v) ? Number(v) : v;
}
