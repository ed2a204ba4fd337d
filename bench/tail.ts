/**
 * 4. Live tail latency: PERSISTED ACK received by the producer → the same fragment fully
 * received by a GetMedia (StartSelector NOW) reader opened beforehand (both clocks are this
 * process). A fragment counts as received when its trailing Tags (CONTINUATION_TOKEN) arrive.
 * Negative values mean the reader had the fragment before the producer had its ACK.
 * Also reported: end to end, last byte sent by the producer → fragment at the reader.
 * Baseline: the bare fsync server relaying each persisted fragment to a tail reader.
 */
import { KVS_TAG } from '../src/mkv/index.ts';
import { createStreams, fsyncPutHeaders, kestrelPutHeaders, openReader, Producer, type Reader } from './lib/http.ts';
import { mkvHeader, SyntheticCamera } from './lib/mkv.ts';
import { producerErrors, sendPaced, WARMUP } from './lib/paced.ts';
import { makeDataDir, startChild } from './lib/procs.ts';
import { max, min, percentile, result, type BenchContext, type BenchResult } from './lib/results.ts';

const STREAMS = 3;
const INTERVAL_MS = 100;

interface TailRun {
  latencies: number[];
  /** Producer's last byte sent → reader has the fragment. */
  endToEnd: number[];
  errors: string[];
}

async function kestrelTail(url: string, names: string[], cam: SyntheticCamera, fragments: number): Promise<TailRun> {
  await createStreams(url, names);
  const arrivals = new Map<string, number>();
  const readers: Reader[] = names.map((StreamName) => {
    const scan = tokenScanner((token, at) => arrivals.set(token, at));
    return openReader(`${url}/getMedia`, { json: { StreamName, StartSelector: { StartSelectorType: 'NOW' } } }, scan);
  });
  const statuses = await Promise.all(readers.map((r) => r.ready));
  const producers = names.map((n) => new Producer(`${url}/putMedia`, kestrelPutHeaders(n)));
  const { sentAt } = await sendPaced({ producers, header: mkvHeader(), cam, fragments, intervalMs: INTERVAL_MS });
  await settle(() => arrivals.size >= names.length * fragments);
  readers.forEach((r) => r.close());
  const latencies: number[] = [];
  const endToEnd: number[] = [];
  const errors = [...producerErrors(producers, fragments), ...statuses.filter((s) => s !== 200).map((s) => `GetMedia HTTP ${s}`)];
  producers.forEach((p, i) => {
    p.persistedNumbers.forEach((fn, k) => {
      const got = arrivals.get(fn);
      if (got === undefined) errors.push(`fragment ${k} never reached the reader`);
      else if (k >= WARMUP) {
        latencies.push(got - p.persistedAt[k]!);
        if (sentAt[i]![k] !== undefined) endToEnd.push(got - sentAt[i]![k]!);
      }
    });
  });
  return { latencies, endToEnd, errors };
}

const TOKEN_NAME = Buffer.from(KVS_TAG.CONTINUATION_TOKEN);
/** The tag name, the TagString element's ID (2 bytes) and 1-byte size, and the 47 digits. */
const TOKEN_SPAN = TOKEN_NAME.length + 3 + 47;

/**
 * Finds each CONTINUATION_TOKEN value in a GetMedia byte stream, also across chunk borders. A
 * byte search rather than an MKV parse, so the reader does about as little per byte as the
 * baseline's byte counter and a CPU-starved bench process delays both alike.
 */
function tokenScanner(onToken: (token: string, at: number) => void): (chunk: Buffer, at: number) => void {
  let carry = Buffer.alloc(0);
  const valueAt = (hay: Buffer, i: number) => {
    const s = i + TOKEN_NAME.length;
    return hay.toString('latin1', s + 3, s + 3 + (hay[s + 2]! & 0x7f));
  };
  return (chunk, at) => {
    // Matches that started in the previous chunk's tail (they were incomplete there).
    const joined = Buffer.concat([carry, chunk.subarray(0, TOKEN_SPAN - 1)]);
    for (let i = joined.indexOf(TOKEN_NAME); i >= 0 && i < carry.length; i = joined.indexOf(TOKEN_NAME, i + 1)) {
      if (i + TOKEN_SPAN <= joined.length) onToken(valueAt(joined, i), at);
    }
    // Matches complete within this chunk; one too close to the end is found via the carry next time.
    for (let i = chunk.indexOf(TOKEN_NAME); i >= 0 && i + TOKEN_SPAN <= chunk.length; i = chunk.indexOf(TOKEN_NAME, i + 1)) onToken(valueAt(chunk, i), at);
    const tail = chunk.length >= TOKEN_SPAN - 1 ? chunk : Buffer.concat([carry, chunk]);
    carry = Buffer.from(tail.subarray(Math.max(0, tail.length - (TOKEN_SPAN - 1))));
  };
}

async function baselineTail(url: string, names: string[], cam: SyntheticCamera, fragments: number): Promise<TailRun> {
  const header = mkvHeader();
  const fragmentBytes = cam.clusterBytes(Date.now());
  const arrivals = names.map(() => [] as number[]);
  const readers = names.map((n, i) => {
    let bytes = 0;
    return openReader(`${url}/tail`, { headers: { 'x-bench-stream': n } }, (chunk, at) => {
      bytes += chunk.length;
      while (arrivals[i]!.length < Math.floor(bytes / fragmentBytes)) arrivals[i]!.push(at);
    });
  });
  await Promise.all(readers.map((r) => r.ready));
  const producers = names.map((n) => new Producer(`${url}/fsync`, fsyncPutHeaders(n, header.length, fragmentBytes)));
  const { sentAt } = await sendPaced({ producers, header, cam, fragments, intervalMs: INTERVAL_MS });
  await settle(() => arrivals.every((a) => a.length >= fragments));
  readers.forEach((r) => r.close());
  const latencies: number[] = [];
  const endToEnd: number[] = [];
  producers.forEach((p, i) =>
    p.persistedAt.forEach((at, k) => {
      const got = arrivals[i]![k];
      if (got === undefined || k < WARMUP) return;
      latencies.push(got - at);
      if (sentAt[i]![k] !== undefined) endToEnd.push(got - sentAt[i]![k]!);
    }),
  );
  return { latencies, endToEnd, errors: producerErrors(producers, fragments) };
}

async function settle(done: () => boolean, ms = 5000): Promise<void> {
  const until = performance.now() + ms;
  while (!done() && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
}

export async function tailBench(ctx: BenchContext): Promise<BenchResult[]> {
  const fragments = ctx.quick ? 30 : 100;
  const cam = new SyntheticCamera({ frameBytes: 10_000, frames: 25 });
  const names = Array.from({ length: STREAMS }, (_, i) => `tail-${i}`);
  const server = await startChild('server-child.ts', makeDataDir(ctx.tmpRoot, 'tail'), { profile: ctx.profile });
  let k: TailRun;
  try {
    k = await kestrelTail(server.url, names, cam, fragments);
  } finally {
    await server.stop();
  }
  const relay = await startChild('baseline-child.ts', makeDataDir(ctx.tmpRoot, 'tail-relay'));
  let b: TailRun;
  try {
    b = await baselineTail(relay.url, names, cam, fragments);
  } finally {
    await relay.stop();
  }
  if (k.errors.length) ctx.log(`kestrel errors: ${[...new Set(k.errors)].slice(0, 5).join('; ')}`);
  ctx.log(`tail latency over ${k.latencies.length} fragments: p50 ${percentile(k.latencies, 50).toFixed(1)} ms, p99 ${percentile(k.latencies, 99).toFixed(1)} ms`);
  return [
    result({
      bench: 'tail.p50',
      metric: percentile(k.latencies, 50),
      baseline: percentile(b.latencies, 50),
      unit: 'ms',
      extra: { samples: k.latencies.length, baselineSamples: b.latencies.length, errors: k.errors.length },
    }),
    result({
      bench: 'tail.p99',
      metric: percentile(k.latencies, 99),
      baseline: percentile(b.latencies, 99),
      unit: 'ms',
      target: { on: 'metric', op: '<', value: 20 },
      extra: { min: round1(min(k.latencies)), max: round1(max(k.latencies)) },
    }),
    result({
      bench: 'tail.end_to_end_p99',
      metric: percentile(k.endToEnd, 99),
      baseline: percentile(b.endToEnd, 99),
      unit: 'ms',
      extra: { p50: round1(percentile(k.endToEnd, 50)), baselineP50: round1(percentile(b.endToEnd, 50)) },
    }),
  ];
}

const round1 = (n: number) => Math.round(n * 10) / 10;
