/**
 * SigV4 verification cost: control-plane calls/s (DescribeStream, signed per call, keep-alive,
 * CONCURRENCY in flight) and single-stream PutMedia MB/s against a server with authentication on,
 * and the same against a `--insecure-no-auth` server (the baseline), in the same run. The client
 * signs in both runs, so the difference is the server's verification. Repetitions alternate
 * on/off; medians are reported. Server CPU per call is reported too: on a busy shared machine it
 * is steadier than calls/s.
 */
import http from 'node:http';
import { sign } from './lib/auth.ts';
import { createStreams } from './lib/http.ts';
import { SyntheticCamera } from './lib/mkv.ts';
import { makeDataDir, startChild, type ChildServer } from './lib/procs.ts';
import { median, result, type BenchContext, type BenchResult } from './lib/results.ts';
import { upload } from './ingest.ts';

const CONCURRENCY = 8;

/** Calls/s of signed DescribeStream for `ms`, CONCURRENCY requests in flight over kept-alive sockets. */
async function controlPlaneRate(server: ChildServer, ms: number): Promise<{ rate: number; errors: number; cpuMsPerCall: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const url = `${server.url}/describeStream`;
  const body = Buffer.from(JSON.stringify({ StreamName: 'auth-cp' }));
  let calls = 0;
  let errors = 0;
  const call = () =>
    new Promise<void>((resolve) => {
      const headers = { ...sign('POST', url, { 'content-type': 'application/json' }, body), 'content-length': String(body.length) };
      const req = http.request(url, { method: 'POST', agent, headers }, (res) => {
        if (res.statusCode !== 200) errors++;
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const before = server.sample();
  const deadline = performance.now() + ms;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        await call();
        calls++;
      }
    }),
  );
  agent.destroy();
  const after = server.sample();
  // Server CPU per call is steadier than calls/s on a shared machine (clock ticks are 10 ms).
  return { rate: calls / ((performance.now() - t0) / 1000), errors, cpuMsPerCall: ((after.cpuTicks - before.cpuTicks) * 10) / calls };
}

export async function authBench(ctx: BenchContext): Promise<BenchResult[]> {
  const ms = ctx.quick ? 2000 : 8000;
  const reps = ctx.quick ? 1 : 3;
  const clusters = ctx.quick ? 10 : 60;
  const cam = new SyntheticCamera({ frameBytes: 80_000, frames: 25 }); // ≈ 2 MB per cluster
  const on = await startChild('server-child.ts', makeDataDir(ctx.tmpRoot, 'auth-on'), { profile: ctx.profile });
  const off = await startChild('server-child.ts', makeDataDir(ctx.tmpRoot, 'auth-off'), { env: { KESTREL_BENCH_NO_AUTH: '1' } });
  const rates = { on: [] as number[], off: [] as number[] };
  const cpu = { on: [] as number[], off: [] as number[] };
  const mbps = { on: [] as number[], off: [] as number[] };
  let errors = 0;
  try {
    await createStreams(on.url, ['auth-cp']);
    await createStreams(off.url, ['auth-cp']);
    for (let r = 0; r < reps; r++) {
      for (const [label, server] of [['on', on], ['off', off]] as const) {
        const cp = await controlPlaneRate(server, ms);
        errors += cp.errors;
        rates[label].push(cp.rate);
        cpu[label].push(cp.cpuMsPerCall);
        const stream = `auth-put-${r}`;
        await createStreams(server.url, [stream]);
        const up = await upload(server, 'kestrel', [stream], cam, clusters);
        errors += up.errors.length;
        mbps[label].push(up.mbPerS);
        ctx.log(`auth ${label} rep ${r + 1}: ${cp.rate.toFixed(0)} DescribeStream/s (server ${(cp.cpuMsPerCall * 1000).toFixed(0)} µs CPU/call), PutMedia ${up.mbPerS.toFixed(1)} MB/s`);
      }
    }
  } finally {
    await on.stop();
    await off.stop();
  }
  const extra = { concurrency: CONCURRENCY, durationMs: ms, reps, errors, ratesOn: rates.on.map(Math.round), ratesOff: rates.off.map(Math.round) };
  const us = (v: readonly number[]) => Math.round(median(v) * 1000);
  return [
    result({ bench: 'auth.control_plane', metric: median(rates.on), baseline: median(rates.off), unit: 'calls/s', target: { on: 'ratio', op: '>=', value: 0.95 }, extra }),
    // Lower is better: the baseline/figure ratio reads like the throughput ratios above.
    result({ bench: 'auth.control_plane_cpu_per_call', metric: us(cpu.on), baseline: us(cpu.off), unit: 'µs', extra: { note: 'server CPU per DescribeStream; ratio > 1 = auth costs more' } }),
    result({ bench: 'auth.put_media', metric: median(mbps.on), baseline: median(mbps.off), unit: 'MB/s', target: { on: 'ratio', op: '>=', value: 0.95 }, extra: { clusters, mbOn: mbps.on, mbOff: mbps.off } }),
  ];
}
