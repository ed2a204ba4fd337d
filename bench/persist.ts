/**
 * 3. PERSISTED latency: last byte of a cluster handed to the kernel by the client → its
 * PERSISTED ACK received by the client (loopback both ways included). A few streams send
 * 250 KB (2 Mbit/s × 1 s) clusters, paced so nothing queues. Baseline: the bare server that
 * writes + fdatasyncs the same bytes and answers (same client, same measure).
 */
import { createStreams, fsyncPutHeaders, kestrelPutHeaders, Producer } from './lib/http.ts';
import { mkvHeader, SyntheticCamera } from './lib/mkv.ts';
import { producerErrors, sendPaced, type PacedRun } from './lib/paced.ts';
import { makeDataDir, startChild } from './lib/procs.ts';
import { max, percentile, result, type BenchContext, type BenchResult } from './lib/results.ts';

const STREAMS = 3;
const INTERVAL_MS = 100;

export async function persistBench(ctx: BenchContext): Promise<BenchResult[]> {
  const fragments = ctx.quick ? 30 : 100;
  const cam = new SyntheticCamera({ frameBytes: 10_000, frames: 25 });
  const header = mkvHeader();
  const names = Array.from({ length: STREAMS }, (_, i) => `lat-${i}`);

  const server = await startChild('server-child.ts', makeDataDir(ctx.tmpRoot, 'persist'), { profile: ctx.profile });
  let k: PacedRun;
  let kErrors: string[];
  try {
    await createStreams(server.url, names);
    const producers = names.map((n) => new Producer(`${server.url}/putMedia`, kestrelPutHeaders(n)));
    k = await sendPaced({ producers, header, cam, fragments, intervalMs: INTERVAL_MS });
    kErrors = producerErrors(producers, fragments);
  } finally {
    await server.stop();
  }
  const fsync = await startChild('baseline-child.ts', makeDataDir(ctx.tmpRoot, 'persist-fsync'));
  let b: PacedRun;
  try {
    const fragmentBytes = cam.clusterBytes(Date.now());
    const producers = names.map((n) => new Producer(`${fsync.url}/fsync`, fsyncPutHeaders(n, header.length, fragmentBytes)));
    b = await sendPaced({ producers, header, cam, fragments, intervalMs: INTERVAL_MS });
  } finally {
    await fsync.stop();
  }
  if (kErrors.length) ctx.log(`kestrel errors: ${[...new Set(kErrors)].slice(0, 5).join('; ')}`);
  ctx.log(`PERSISTED latency over ${k.latencies.length} fragments: p50 ${percentile(k.latencies, 50).toFixed(1)} ms, p99 ${percentile(k.latencies, 99).toFixed(1)} ms`);
  const extra = { samples: k.latencies.length, baselineSamples: b.latencies.length, streams: STREAMS, fragmentBytes: cam.clusterBytes(Date.now()), errors: kErrors.length };
  return [
    result({ bench: 'persist.p50', metric: percentile(k.latencies, 50), baseline: percentile(b.latencies, 50), unit: 'ms', extra }),
    result({
      bench: 'persist.p99',
      metric: percentile(k.latencies, 99),
      baseline: percentile(b.latencies, 99),
      unit: 'ms',
      target: { on: 'metric', op: '<', value: 50 },
      extra: { max: Math.round(max(k.latencies)), baselineMax: Math.round(max(b.latencies)) },
    }),
  ];
}
