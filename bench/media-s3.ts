/**
 * Media on S3 (issue 10): PERSISTED latency with `--durability replicated` (each fragment uploaded
 * before its ACK) against the same server with `--durability local` as the same-run baseline, and
 * the seal upload lag in `local` mode: PERSISTED ACK at the client → the fragment's sealed object
 * listed in the bucket (polled every 50 ms; default --seal-interval 5 s). Needs the Ceph RGW of
 * `.ci/ceph-rgw start` (KESTREL_TEST_S3_* or its defaults).
 */
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createStreams, kestrelPutHeaders, Producer } from './lib/http.ts';
import { mkvHeader, SyntheticCamera } from './lib/mkv.ts';
import { producerErrors, sendPaced, type PacedRun } from './lib/paced.ts';
import { makeDataDir, startChild } from './lib/procs.ts';
import { percentile, result, type BenchContext, type BenchResult } from './lib/results.ts';
import { DEFAULT_SEAL_INTERVAL_MS } from '../src/app-media.ts';

const STREAMS = 3;
const INTERVAL_MS = 100;

const rgw = {
  endpoint: process.env.KESTREL_TEST_S3_ENDPOINT ?? 'http://127.0.0.1:7480',
  accessKeyId: process.env.KESTREL_TEST_S3_ACCESS_KEY_ID ?? 'KESTRELTESTACCESSKEY',
  secretAccessKey: process.env.KESTREL_TEST_S3_SECRET_ACCESS_KEY ?? 'kestrel-test-secret-key-0000000000000000',
};

async function listKeys(s3: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of out.Contents ?? []) keys.push(o.Key!);
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

async function run(ctx: BenchContext, s3: S3Client, bucket: string, durability: 'local' | 'replicated', fragments: number): Promise<{ paced: PacedRun; errors: string[]; sealLags: number[] }> {
  const cam = new SyntheticCamera({ frameBytes: 10_000, frames: 25 });
  const names = Array.from({ length: STREAMS }, (_, i) => `${durability}-${i}`);
  const server = await startChild('media-child.ts', makeDataDir(ctx.tmpRoot, `media-${durability}`), {
    args: [`s3://${bucket}/${durability}`, rgw.endpoint, durability],
    env: { AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: 'us-east-1' },
  });
  const sealedAt = new Map<string, number>(); // object key → first seen
  let polling = durability === 'local';
  const poller = (async () => {
    while (polling) {
      const now = performance.now();
      for (const k of await listKeys(s3, bucket)) if (!sealedAt.has(k)) sealedAt.set(k, now);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    await createStreams(server.url, names);
    const producers = names.map((n) => new Producer(`${server.url}/putMedia`, kestrelPutHeaders(n)));
    const paced = await sendPaced({ producers, header: mkvHeader(), cam, fragments, intervalMs: INTERVAL_MS });
    const errors = producerErrors(producers, fragments);
    const sealLags: number[] = [];
    if (durability === 'local') {
      // Wait until every fragment is in some object (at most two intervals), then match numbers to keys.
      const deadline = performance.now() + 3 * DEFAULT_SEAL_INTERVAL_MS;
      const persisted = producers.flatMap((p, i) => p.persistedNumbers.map((n, k) => ({ stream: names[i]!, n, at: p.persistedAt[k]! })));
      const objectOf = (stream: string, n: string): number | undefined => {
        for (const [key, at] of sealedAt) {
          const m = new RegExp(`/streams/${stream}/\\d+/(\\d{47})-(\\d{47})\\.mkv$`).exec(key);
          if (m && m[1]! <= n && n <= m[2]!) return at;
        }
        return undefined;
      };
      while (performance.now() < deadline && persisted.some((p) => objectOf(p.stream, p.n) === undefined)) await new Promise((r) => setTimeout(r, 100));
      for (const p of persisted) {
        const at = objectOf(p.stream, p.n);
        if (at !== undefined) sealLags.push(at - p.at);
        else errors.push(`fragment ${p.n} never sealed`);
      }
    }
    return { paced, errors, sealLags };
  } finally {
    polling = false;
    await poller;
    await server.stop();
  }
}

export async function mediaS3Bench(ctx: BenchContext): Promise<BenchResult[]> {
  const fragments = ctx.quick ? 30 : 100;
  const s3 = new S3Client({ endpoint: rgw.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: rgw, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  const bucket = `bench-media-${randomBytes(4).toString('hex')}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  try {
    const local = await run(ctx, s3, bucket, 'local', fragments);
    const replicated = await run(ctx, s3, bucket, 'replicated', fragments);
    for (const [name, r] of [['local', local], ['replicated', replicated]] as const) {
      if (r.errors.length) ctx.log(`${name} errors: ${[...new Set(r.errors)].slice(0, 5).join('; ')}`);
    }
    const l = local.paced.latencies;
    const rep = replicated.paced.latencies;
    ctx.log(`PERSISTED latency local p50 ${percentile(l, 50).toFixed(1)} / p99 ${percentile(l, 99).toFixed(1)} ms; replicated p50 ${percentile(rep, 50).toFixed(1)} / p99 ${percentile(rep, 99).toFixed(1)} ms`);
    ctx.log(`seal upload lag (local, interval ${DEFAULT_SEAL_INTERVAL_MS} ms) p50 ${percentile(local.sealLags, 50).toFixed(0)} / p99 ${percentile(local.sealLags, 99).toFixed(0)} ms`);
    const extra = { samples: rep.length, baselineSamples: l.length, streams: STREAMS, errors: local.errors.length + replicated.errors.length, baseline: 'same server, --durability local' };
    return [
      result({ bench: 'media-s3.replicated-persist.p50', metric: percentile(rep, 50), baseline: percentile(l, 50), unit: 'ms', extra }),
      result({ bench: 'media-s3.replicated-persist.p99', metric: percentile(rep, 99), baseline: percentile(l, 99), unit: 'ms', extra }),
      result({ bench: 'media-s3.seal-lag.p50', metric: percentile(local.sealLags, 50), unit: 'ms', extra: { samples: local.sealLags.length, sealIntervalMs: DEFAULT_SEAL_INTERVAL_MS } }),
      result({ bench: 'media-s3.seal-lag.p99', metric: percentile(local.sealLags, 99), unit: 'ms', target: { on: 'metric', op: '<', value: DEFAULT_SEAL_INTERVAL_MS + 1000 }, extra: { samples: local.sealLags.length } }),
    ];
  } finally {
    for (const key of await listKeys(s3, bucket)) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    s3.destroy();
  }
}
