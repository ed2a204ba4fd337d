/**
 * Live tail across nodes: two Kestrel nodes on one NATS (127.0.0.1:4222, or BENCH_NATS_URL) sharing
 * one data folder. Producers push to node A; every stream has a GetMedia NOW reader on A (same
 * node: the baseline, measured in the same run on the same fragments) and one on B (learns of
 * fragments from A's NATS announcements, then reads the bytes from the index and media store).
 * Latency: PERSISTED ACK at the producer → the fragment's CONTINUATION_TOKEN at the reader.
 * Target (issue 10): p99 on B at most 50 ms beyond the same-node p99.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createTestDatabase } from '../test/support/pg.ts';
import { MkvStreamParser, KVS_TAG } from '../src/mkv/index.ts';
import { createStreams, kestrelPutHeaders, openReader, Producer, type Reader } from './lib/http.ts';
import { mkvHeader, SyntheticCamera } from './lib/mkv.ts';
import { producerErrors, sendPaced, WARMUP } from './lib/paced.ts';
import { makeDataDir, startChild } from './lib/procs.ts';
import { percentile, result, type BenchContext, type BenchResult } from './lib/results.ts';

const STREAMS = 3;
const INTERVAL_MS = 100;

function tokenArrivals(url: string, StreamName: string, into: Map<string, number>): Reader {
  const parser = new MkvStreamParser();
  return openReader(`${url}/getMedia`, { json: { StreamName, StartSelector: { StartSelectorType: 'NOW' } } }, (chunk, at) => {
    for (const ev of parser.push(chunk)) {
      if (ev.type !== 'tags') continue;
      const token = ev.tags.find((t) => t.name === KVS_TAG.CONTINUATION_TOKEN);
      if (token) into.set(token.value, at);
    }
  });
}

/**
 * edge-tail: the same measurement with a real cluster layout — separate data folders on one fresh
 * PostgreSQL index — so node B's reader gets each fragment's bytes by edge-pull from A.
 */
export function edgeTailBench(ctx: BenchContext): Promise<BenchResult[]> {
  return busTailBench(ctx, { edgePull: true });
}

export async function busTailBench(ctx: BenchContext, mode: { edgePull?: boolean } = {}): Promise<BenchResult[]> {
  const fragments = ctx.quick ? 30 : 100;
  const cam = new SyntheticCamera({ frameBytes: 10_000, frames: 25 });
  const label = mode.edgePull ? 'edge-tail' : 'bus-tail';
  const names = Array.from({ length: STREAMS }, (_, i) => `${label}-${i}`);
  const dataDir = makeDataDir(ctx.tmpRoot, label);
  const env: Record<string, string> = { BENCH_BUS_URL: process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222', BENCH_BUS_PREFIX: `bench-${randomUUID().slice(0, 8)}` };
  const db = mode.edgePull ? await createTestDatabase() : undefined;
  if (db) Object.assign(env, { BENCH_INDEX_URL: db.url, BENCH_SERVER_KEY: randomBytes(32).toString('hex') });
  const a = await startChild('bus-server-child.ts', dataDir, { env: { ...env, BENCH_NODE_ID: 'bench-a' } });
  const b = db
    ? await startChild('bus-server-child.ts', makeDataDir(ctx.tmpRoot, `${label}-b`), { env: { ...env, BENCH_NODE_ID: 'bench-b' } })
    : await startChild('bus-server-child.ts', dataDir, { env, keepData: true });
  const same = new Map<string, number>();
  const other = new Map<string, number>();
  const errors: string[] = [];
  const latSame: number[] = [];
  const latOther: number[] = [];
  try {
    await createStreams(a.url, names);
    const readers = names.flatMap((n) => [tokenArrivals(a.url, n, same), tokenArrivals(b.url, n, other)]);
    const statuses = await Promise.all(readers.map((r) => r.ready));
    errors.push(...statuses.filter((s) => s !== 200).map((s) => `GetMedia HTTP ${s}`));
    const producers = names.map((n) => new Producer(`${a.url}/putMedia`, kestrelPutHeaders(n)));
    await sendPaced({ producers, header: mkvHeader(), cam, fragments, intervalMs: INTERVAL_MS });
    const deadline = performance.now() + 5000;
    while ((same.size < STREAMS * fragments || other.size < STREAMS * fragments) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    readers.forEach((r) => r.close());
    errors.push(...producerErrors(producers, fragments));
    for (const p of producers) {
      p.persistedNumbers.forEach((fn, k) => {
        const atSame = same.get(fn);
        const atOther = other.get(fn);
        if (atSame === undefined || atOther === undefined) errors.push(`fragment ${k} missing at a reader`);
        else if (k >= WARMUP) {
          latSame.push(atSame - p.persistedAt[k]!);
          latOther.push(atOther - p.persistedAt[k]!);
        }
      });
    }
  } finally {
    await b.stop();
    await a.stop();
    await db?.drop();
  }
  const bench = label.replace('-', '_');
  if (errors.length) ctx.log(`${label} errors: ${[...new Set(errors)].slice(0, 5).join('; ')}`);
  const p = (xs: number[], q: number) => percentile(xs, q);
  ctx.log(`${label} over ${latOther.length} fragments: other node p50 ${p(latOther, 50).toFixed(1)} / p99 ${p(latOther, 99).toFixed(1)} ms; same node p50 ${p(latSame, 50).toFixed(1)} / p99 ${p(latSame, 99).toFixed(1)} ms`);
  return [
    result({ bench: `${bench}.p50`, metric: p(latOther, 50), baseline: p(latSame, 50), unit: 'ms', extra: { samples: latOther.length, errors: errors.length } }),
    result({ bench: `${bench}.p99`, metric: p(latOther, 99), baseline: p(latSame, 99), unit: 'ms' }),
    result({ bench: `${bench}.p99_beyond_same_node`, metric: p(latOther, 99) - p(latSame, 99), unit: 'ms', target: { on: 'metric', op: '<', value: 50 } }),
  ];
}
