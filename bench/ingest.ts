/**
 * 1. Ingest throughput: producers upload 2 MB clusters back to back (one stream, then 50 at
 * once) and we time request start → last response end (Kestrel ends it after the last
 * PERSISTED). Baseline (the issue's): the same uploads to a bare Node server that only counts
 * bytes. Second baseline, because a sink never touches the disk: a bare server that appends
 * each 2 MB fragment to a file with fdatasync before answering (the figure with the target).
 * Each repetition runs all three back to back, in ABC / CBA order (sink, fsync, Kestrel, then
 * Kestrel, fsync, sink), so a drift in the neighbours' load favours neither side; each ratio is
 * taken within a repetition and the repetition with the median ratio is reported.
 */
import { createStreams, fsyncPutHeaders, kestrelPutHeaders, Producer } from './lib/http.ts';
import { mkvHeader, SyntheticCamera } from './lib/mkv.ts';
import { cpuPercent, makeDataDir, startChild, type ChildServer } from './lib/procs.ts';
import { median, medianPair, result, type BenchContext, type BenchResult } from './lib/results.ts';

interface Upload {
  mbPerS: number;
  bytes: number;
  seconds: number;
  errors: string[];
  cpuPct: number;
  /** This (load generator) process, % of one core. */
  clientCpuPct: number;
  rssMB: number;
}

/** Streams upload `clusters` clusters each, concurrently, as fast as the target reads them. */
export async function upload(
  target: ChildServer,
  kind: 'kestrel' | 'sink' | 'fsync',
  streams: readonly string[],
  cam: SyntheticCamera,
  clusters: number,
): Promise<Upload & { producers: Producer[] }> {
  const header = mkvHeader();
  const base = Date.now();
  const before = target.sample();
  const clientBefore = process.cpuUsage();
  const t0 = performance.now();
  const fragmentBytes = cam.clusterBytes(base);
  const producers = streams.map((s) =>
    kind === 'kestrel'
      ? new Producer(`${target.url}/putMedia`, kestrelPutHeaders(s))
      : kind === 'fsync'
        ? new Producer(`${target.url}/fsync`, fsyncPutHeaders(s, header.length, fragmentBytes))
        : new Producer(`${target.url}/sink`, {}),
  );
  await Promise.all(
    producers.map(async (p) => {
      await p.send([header]);
      for (let k = 0; k < clusters; k++) await p.send(cam.cluster(base + k * 1000));
      await p.end();
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const after = target.sample();
  const client = process.cpuUsage(clientBefore);
  const bytes = producers.reduce((n, p) => n + p.bytesSent, 0);
  const errors = producers.flatMap((p) => [
    ...p.errors,
    ...p.errorAcks.map((a) => `ERROR ACK ${a.ErrorCode}`),
    ...(kind !== 'sink' && p.persistedAt.length !== clusters ? [`${p.persistedAt.length}/${clusters} PERSISTED`] : []),
  ]);
  return { mbPerS: bytes / 1e6 / seconds, bytes, seconds, errors, cpuPct: cpuPercent(before, after), clientCpuPct: ((client.user + client.system) / 1e4) / seconds, rssMB: after.rssMB, producers };
}

export async function ingestBench(ctx: BenchContext): Promise<BenchResult[]> {
  const cam = new SyntheticCamera({ frameBytes: 80_000, frames: 25 }); // ≈ 2 MB per cluster
  const reps = ctx.quick ? 2 : 4; // even: as many ABC as CBA repetitions
  const scenarios = [
    { name: 'ingest.1_stream', streams: 1, clusters: ctx.quick ? 20 : 150 },
    { name: 'ingest.50_streams', streams: 50, clusters: ctx.quick ? 1 : 3 },
  ];
  const sink = await startChild('baseline-child.ts', makeDataDir(ctx.tmpRoot, 'sink'));
  const out: BenchResult[] = [];
  try {
    for (const sc of scenarios) {
      const server = await startChild('server-child.ts', makeDataDir(ctx.tmpRoot, 'ingest'), {
        profile: ctx.profile,
        // One stream at 100+ MB/s is far over KVS's per-stream quota (5 fragments/s, 12.5 MB/s),
        // which Kestrel enforces by reading slower; this bench measures the path, not the quota.
        env: { KESTREL_BENCH_NO_STREAM_QUOTA: '1' },
      });
      try {
        const k: Upload[] = [];
        const b: Upload[] = [];
        const f: Upload[] = [];
        for (let r = 0; r < reps; r++) {
          const names = Array.from({ length: sc.streams }, (_, i) => `ingest-r${r}-${i}`);
          await createStreams(server.url, names);
          const runs = {
            sink: async () => b.push(await upload(sink, 'sink', names, cam, sc.clusters)),
            fsync: async () => f.push(await upload(sink, 'fsync', names, cam, sc.clusters)),
            kestrel: async () => k.push(await upload(server, 'kestrel', names, cam, sc.clusters)),
          };
          const order = r % 2 === 0 ? (['sink', 'fsync', 'kestrel'] as const) : (['kestrel', 'fsync', 'sink'] as const);
          for (const which of order) await runs[which]();
          const last = k.at(-1)!;
          ctx.log(
            `${sc.name} rep ${r} (${order.join(', ')}): kestrel ${last.mbPerS.toFixed(0)} MB/s (cpu ${last.cpuPct.toFixed(0)} %), ` +
              `fsync ${f.at(-1)!.mbPerS.toFixed(0)} MB/s, sink ${b.at(-1)!.mbPerS.toFixed(0)} MB/s; kestrel/fsync ${(last.mbPerS / f.at(-1)!.mbPerS).toFixed(2)}`,
          );
          if (last.errors.length) ctx.log(`  errors: ${last.errors.slice(0, 5).join('; ')}`);
        }
        const errors = k.reduce((n, u) => n + u.errors.length, 0);
        const kMbPerS = k.map((u) => u.mbPerS);
        const vsFsync = medianPair(kMbPerS, f.map((u) => u.mbPerS));
        const vsSink = medianPair(kMbPerS, b.map((u) => u.mbPerS));
        const common = {
          mbPerRep: Math.round(k[0]!.bytes / 1e6),
          reps,
          order: 'ABC/CBA: sink, fsync, kestrel; then kestrel, fsync, sink',
          clusterBytes: cam.clusterBytes(Date.now()),
          errors,
          serverCpuPct: Math.round(median(k.map((u) => u.cpuPct))),
          clientCpuPct: Math.round(median(k.map((u) => u.clientCpuPct))),
          serverRssMB: Math.round(Math.max(...k.map((u) => u.rssMB))),
          serverPeakRssMB: Math.round(server.sample().hwmMB),
        };
        out.push(
          result({
            bench: `${sc.name}.vs_fsync`,
            metric: k[vsFsync.index]!.mbPerS,
            baseline: f[vsFsync.index]!.mbPerS,
            unit: 'MB/s',
            target: { on: 'ratio', op: '>=', value: 0.8 },
            extra: {
              ...common,
              repRatios: vsFsync.ratios,
              baselineErrors: f.reduce((n, u) => n + u.errors.length, 0),
              fsyncServerCpuPct: Math.round(median(f.map((u) => u.cpuPct))),
              baselineIs: 'bare node:http server: writev + fdatasync per fragment, PERSISTED line',
            },
          }),
          result({
            bench: sc.name,
            metric: k[vsSink.index]!.mbPerS,
            baseline: b[vsSink.index]!.mbPerS,
            unit: 'MB/s',
            extra: {
              repRatios: vsSink.ratios,
              sinkCpuPct: Math.round(median(b.map((u) => u.cpuPct))),
              clientCpuPctWithSink: Math.round(median(b.map((u) => u.clientCpuPct))),
              baselineIs: 'bare node:http server counting bytes (no disk)',
            },
          }),
        );
      } finally {
        await server.stop();
      }
    }
  } finally {
    await sink.stop();
  }
  return out;
}
