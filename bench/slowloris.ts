/**
 * Slowloris (issue 8): 50 paced cameras (2 Mbit/s, 1 s fragments, as in `cameras`) with and
 * without an attacker holding ~10,000 sockets, one server, phases in ABBA order (no attack,
 * attack, attack, no attack; `--quick`: one of each, shorter). The attacker (bench/slowloris-
 * attacker.ts, its own process) connects from 50 loopback addresses (127.0.0.2…51, 200 each, so the
 * 256-per-address cap alone cannot stop it), half trickling a request head one byte every 3 s,
 * half silent, reopening every socket the server closes. Cameras start once the attack is in
 * steady state (after the first header timeouts), so they connect into a full server.
 * Targets: zero camera errors under attack; PERSISTED p99 under attack ≤ 2× without.
 * Also reported: server CPU/RSS per phase, attacker sockets the server held at peak, the accept
 * queue and kernel listen overflows, /healthz latency on fresh connections, the load average.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCameras } from './cameras.ts';
import { createStreams } from './lib/http.ts';
import { SyntheticCamera } from './lib/mkv.ts';
import { makeDataDir, sampleProc, cpuPercent, startChild, type ChildServer } from './lib/procs.ts';
import { max, percentile, result, type BenchContext, type BenchResult } from './lib/results.ts';
import { listenOverflows, portConnections } from './lib/sockets.ts';
import { sampleThreadStates } from './lib/thread-state.ts';
import type { AttackPlan, AttackStats } from './slowloris-attacker.ts';

const CAMERAS = 50;
const ATTACK_SOCKETS = 10_000;
const ATTACK_ADDRESSES = 50;
const TRICKLE_MS = 3000;
/** A closed or refused attacker socket is reopened after this (±50 %): ~10,000 attempted at all times. */
const REOPEN_MS = 1000;
const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));

type Kind = 'none' | 'attack';

interface PhaseResult {
  kind: Kind;
  errors: string[];
  latencies: number[];
  p50: number;
  p99: number;
  cpuPct: number;
  attackerCpuPct: number;
  rssMB: number;
  peakRssMB: number;
  peakHeldAttackers: number;
  peakAcceptQueue: number;
  listenOverflows: number;
  healthz: { ok: number; failed: number; p50: number; p99: number };
  attack?: AttackStats & { connectsPerSec: number };
  loadStart: number;
  loadEnd: number;
  lagP99Ms: number;
  /** Share of samples the server's main thread was runnable (running or waiting for a CPU). */
  serverRunnablePct: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function slowlorisBench(ctx: BenchContext): Promise<BenchResult[]> {
  const seconds = ctx.quick ? 12 : 40;
  // Long enough for the first header timeouts (10 s) to close sockets and the reopen churn to start.
  const settleMs = ctx.quick ? 12_000 : 15_000;
  const order: Kind[] = ctx.quick ? ['none', 'attack'] : ['none', 'attack', 'attack', 'none'];
  const cam = new SyntheticCamera({ frameBytes: 10_000, frames: 25 }); // 250 KB/s = 2 Mbit/s

  const server = await startChild('server-child.ts', makeDataDir(ctx.tmpRoot, 'slowloris'), { profile: ctx.profile });
  const phases: PhaseResult[] = [];
  try {
    const port = Number(new URL(server.url).port);
    const streams = order.map((_, p) => Array.from({ length: CAMERAS }, (_, i) => `slow-${p}-${i}`));
    // Created before any attack: the control plane is not what this bench measures.
    await createStreams(server.url, streams.flat());
    for (const [p, kind] of order.entries()) {
      ctx.log(`phase ${p + 1}/${order.length}: ${kind === 'attack' ? `attack of ${ATTACK_SOCKETS} sockets from ${ATTACK_ADDRESSES} addresses + ` : ''}${CAMERAS} cameras × ${seconds} s`);
      const r = await runPhase(ctx, server, port, kind, streams[p]!, seconds, settleMs, cam);
      phases.push(r);
      logPhase(ctx, p, r);
    }
  } finally {
    await server.stop();
  }
  return summarize(phases, seconds);
}

async function runPhase(
  ctx: BenchContext,
  server: ChildServer,
  port: number,
  kind: Kind,
  names: string[],
  seconds: number,
  settleMs: number,
  cam: SyntheticCamera,
): Promise<PhaseResult> {
  const loadStart = os.loadavg()[0]!;
  const overflowsBefore = listenOverflows();
  const idleFds = fs.readdirSync(`/proc/${server.pid}/fd`).length;
  let peakHeld = 0;
  let peakAcceptQueue = 0;
  let peakRss = 0;
  let sampling = true;
  // Sampled once a second off the event loop: the accept queue through `ss` (another process),
  // the sockets the server holds as its open fds above the idle count (readdir on the thread pool),
  // counted before the cameras start so their sockets and files are not in it.
  let camerasStarted = false;
  const sampler = (async () => {
    while (sampling) {
      const next = performance.now() + 1000;
      try {
        const [conns, fds] = await Promise.all([portConnections(port), fs.promises.readdir(`/proc/${server.pid}/fd`)]);
        if (!camerasStarted) peakHeld = Math.max(peakHeld, fds.length - idleFds);
        peakAcceptQueue = Math.max(peakAcceptQueue, conns.acceptQueue);
        peakRss = Math.max(peakRss, server.sample().rssMB);
      } catch {
        // the server exited: the phase reports its errors
      }
      await sleep(next - performance.now());
    }
  })();
  const probe = healthProbe(server.url);
  let attacker: Attacker | undefined;
  try {
    if (kind === 'attack') {
      attacker = await startAttacker({ cmd: 'start', host: '127.0.0.1', port, sockets: ATTACK_SOCKETS, addresses: ATTACK_ADDRESSES, trickleMs: TRICKLE_MS, reopenMs: REOPEN_MS });
      await sleep(settleMs);
      ctx.log(`  attacker: ${attacker.latest.connectedNow} connected, ${attacker.latest.connectingNow} connecting; server held up to ${peakHeld}`);
    }
    const attackerBefore = attacker ? sampleProc(attacker.pid) : undefined;
    const statsBefore = attacker?.latest;
    // Main thread runnable (R) far above its CPU share = waiting for a CPU, not busy with work.
    camerasStarted = true;
    const states = sampleThreadStates(server.pid, 20);
    const run = await runCameras(server, 'kestrel', names.length, seconds, cam, names);
    const threadStates = states.stop().pct;
    const attackerAfter = attacker ? sampleProc(attacker.pid) : undefined;
    const final = attacker ? await attacker.stop() : undefined;
    const health = probe.stop();
    return {
      kind,
      errors: run.errors,
      latencies: run.latencies,
      p50: percentile(run.latencies, 50),
      p99: percentile(run.latencies, 99),
      cpuPct: run.cpuPct,
      attackerCpuPct: attackerBefore && attackerAfter ? cpuPercent(attackerBefore, attackerAfter) : 0,
      rssMB: run.rssMB,
      peakRssMB: Math.max(peakRss, run.rssMB),
      peakHeldAttackers: kind === 'attack' ? peakHeld : 0,
      peakAcceptQueue,
      listenOverflows: listenOverflows() - overflowsBefore,
      healthz: health,
      ...(final && statsBefore ? { attack: { ...final, connectsPerSec: (final.opened - statsBefore.opened) / seconds } } : {}),
      loadStart,
      loadEnd: os.loadavg()[0]!,
      lagP99Ms: run.lagP99Ms,
      serverRunnablePct: threadStates.R ?? 0,
    };
  } finally {
    sampling = false;
    await sampler;
    probe.stop();
    attacker?.kill();
    // Next phase starts from a quiet server: the attacker's sockets are gone from its side too.
    const deadline = performance.now() + 20_000;
    while (performance.now() < deadline && (await portConnections(port)).fromOthers > 0) await sleep(500);
  }
}

interface Attacker {
  pid: number;
  latest: AttackStats;
  stop(): Promise<AttackStats>;
  kill(): void;
}

/** The attacker child, with its fd limit raised to the hard limit (10,000 sockets + reopen overlap). */
async function startAttacker(plan: AttackPlan): Promise<Attacker> {
  const script = path.join(BENCH_DIR, 'slowloris-attacker.ts');
  const child: ChildProcess = spawn('/bin/sh', ['-c', 'ulimit -n "$(ulimit -Hn)"; exec "$@"', 'sh', process.execPath, '--import', 'tsx', script], {
    cwd: path.dirname(BENCH_DIR),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const empty: AttackStats = { type: 'stats', final: false, opened: 0, connected: 0, failedToConnect: 0, closedAtOnce: 0, closedLater: 0, connectedNow: 0, connectingNow: 0, peakConnected: 0, errorCodes: {} };
  const a: Attacker = {
    pid: child.pid!,
    latest: empty,
    stop: () =>
      new Promise<AttackStats>((resolve) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve(a.latest);
        }, 15_000);
        child.on('message', (m: AttackStats) => {
          if (!m.final) return;
          clearTimeout(timer);
          resolve(m);
        });
        child.send({ cmd: 'stop' });
      }),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
  child.on('message', (m: AttackStats) => (a.latest = m));
  child.send(plan);
  return a;
}

/** GET /healthz on a fresh connection every 500 ms: what a new client sees (accept delay + event loop). */
function healthProbe(url: string): { stop(): { ok: number; failed: number; p50: number; p99: number } } {
  const times: number[] = [];
  let failed = 0;
  let stopped = false;
  const agent = new http.Agent({ keepAlive: false });
  const timer = setInterval(() => {
    const t0 = performance.now();
    const req = http.get(`${url}/healthz`, { agent, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? times.push(performance.now() - t0) : failed++));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => failed++);
  }, 500);
  return {
    stop: () => {
      if (!stopped) clearInterval(timer);
      stopped = true;
      return { ok: times.length, failed, p50: percentile(times, 50), p99: percentile(times, 99) };
    },
  };
}

function logPhase(ctx: BenchContext, p: number, r: PhaseResult): void {
  const a = r.attack;
  ctx.log(
    `  phase ${p + 1} (${r.kind}): ${r.errors.length} camera errors, PERSISTED p50/p99 ${r.p50.toFixed(0)}/${r.p99.toFixed(0)} ms, ` +
      `server cpu ${r.cpuPct.toFixed(0)} % (main thread runnable ${r.serverRunnablePct} % of the time) rss ${r.rssMB.toFixed(0)} MB (peak ${r.peakRssMB.toFixed(0)}), frame lateness p99 ${r.lagP99Ms.toFixed(0)} ms, ` +
      `/healthz ${r.healthz.ok} ok ${r.healthz.failed} failed p99 ${r.healthz.p99.toFixed(0)} ms, accept queue peak ${r.peakAcceptQueue}, listen overflows ${r.listenOverflows}, ` +
      `load ${r.loadStart.toFixed(1)}→${r.loadEnd.toFixed(1)}`,
  );
  if (a)
    ctx.log(
      `  attacker: ${a.opened} opened (${a.connectsPerSec.toFixed(0)}/s while the cameras ran), ${a.closedAtOnce} refused at once, ${a.closedLater} closed later, ` +
        `${a.failedToConnect} failed to connect, peak ${a.peakConnected} connected client-side; server held ${r.peakHeldAttackers} at peak; attacker cpu ${r.attackerCpuPct.toFixed(0)} %; errors ${JSON.stringify(a.errorCodes)}`,
    );
  if (r.errors.length) ctx.log(`  first camera errors: ${[...new Set(r.errors)].slice(0, 5).join('; ')}`);
}

function summarize(phases: PhaseResult[], seconds: number): BenchResult[] {
  const of = (k: Kind) => phases.filter((p) => p.kind === k);
  const attack = of('attack');
  const none = of('none');
  const pooled = (ps: PhaseResult[]) => ps.flatMap((p) => p.latencies);
  const avg = (ps: PhaseResult[], f: (p: PhaseResult) => number) => ps.reduce((n, p) => n + f(p), 0) / ps.length;
  const perPhase = phases.map((p) => ({
    kind: p.kind,
    errors: p.errors.length,
    p50: Math.round(p.p50),
    p99: Math.round(p.p99),
    cpuPct: Math.round(p.cpuPct),
    runnablePct: p.serverRunnablePct,
    lagP99Ms: Math.round(p.lagP99Ms),
    rssMB: Math.round(p.rssMB),
    load: Number(p.loadStart.toFixed(1)),
    held: p.peakHeldAttackers,
  }));
  const common = { cameras: CAMERAS, seconds, attackSockets: ATTACK_SOCKETS, attackAddresses: ATTACK_ADDRESSES, order: phases.map((p) => p.kind).join(',') };
  const attacks = attack.map((p) => p.attack!);
  return [
    result({
      bench: 'slowloris.camera_errors',
      metric: attack.reduce((n, p) => n + p.errors.length, 0),
      baseline: none.reduce((n, p) => n + p.errors.length, 0),
      unit: 'count',
      target: { on: 'metric', op: '=', value: 0 },
      extra: { ...common, firstErrors: [...new Set(attack.flatMap((p) => p.errors))].slice(0, 3) },
    }),
    result({
      bench: 'slowloris.persisted_p99',
      metric: percentile(pooled(attack), 99),
      baseline: percentile(pooled(none), 99),
      unit: 'ms',
      target: { on: 'ratio', op: '<=', value: 2 },
      extra: { samples: pooled(attack).length, baselineSamples: pooled(none).length, perPhase },
    }),
    result({ bench: 'slowloris.persisted_p50', metric: percentile(pooled(attack), 50), baseline: percentile(pooled(none), 50), unit: 'ms' }),
    result({
      bench: 'slowloris.server_cpu',
      metric: avg(attack, (p) => p.cpuPct),
      baseline: avg(none, (p) => p.cpuPct),
      unit: '% of 1 core',
      extra: { attackerCpuPct: Math.round(avg(attack, (p) => p.attackerCpuPct)) },
    }),
    result({ bench: 'slowloris.server_rss_peak', metric: max(attack.map((p) => p.peakRssMB)), baseline: max(none.map((p) => p.peakRssMB)), unit: 'MB' }),
    result({
      bench: 'slowloris.attackers_held_peak',
      metric: max(attack.map((p) => p.peakHeldAttackers)),
      unit: 'sockets',
      extra: {
        opened: attacks.reduce((n, a) => n + a.opened, 0),
        refusedAtOnce: attacks.reduce((n, a) => n + a.closedAtOnce, 0),
        closedLater: attacks.reduce((n, a) => n + a.closedLater, 0),
        failedToConnect: attacks.reduce((n, a) => n + a.failedToConnect, 0),
        connectsPerSec: Math.round(avg(attack, (p) => p.attack!.connectsPerSec)),
        peakAcceptQueue: max(phases.map((p) => p.peakAcceptQueue)),
        listenOverflows: attack.reduce((n, p) => n + p.listenOverflows, 0),
        healthzFailedUnderAttack: attack.reduce((n, p) => n + p.healthz.failed, 0),
        healthzP99UnderAttack: Math.round(max(attack.map((p) => p.healthz.p99))),
        healthzP99Without: Math.round(max(none.map((p) => p.healthz.p99))),
      },
    }),
  ];
}
