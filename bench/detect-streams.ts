/**
 * 11. Detection capacity: how many live cameras one Kestrel (in-process detection, default settings:
 * 2 fps sampling, motion gate on) keeps up with on this machine. Cameras are added in steps (1, 2, 4,
 * 6, 8 …); each pushes the people fixture (played forward then backward, see peopleClip) looped in real time (1 s fragments, paced frame by frame).
 * After a warm-up, the lag of every stream is sampled every 500 ms over a window: PERSISTED time of
 * the newest fragment − PERSISTED time of the newest fragment the pipeline has finished (its
 * checkpoint in `<dataDir>/detect-checkpoints.json`). Since 2026-11-26 09:00 a fragment is done about
 * 0.1–0.3 s after it is written (before: when the next fragment went in, a 1 s floor), and the sampling
 * of the lag (every 500 ms, 1 s fragments) puts the floor at about 0.5–1 s. A level is sustained
 * when the worst stream's lag stays under LAG_LIMIT_MS and does not grow over the window; the ramp
 * stops at the first level that is not.
 * Baseline: bare session.run fps in this process before the server starts, divided by the sampling
 * rate: the stream count if inference were the only cost.
 */
import * as ort from 'onnxruntime-node';
import { resolveDetectConfig } from '../src/detect/detect-config.ts';
import { centerNetSessionOptions, DEFAULT_CENTERNET_PATH } from '../src/detect/onnx-centernet.ts';
import { decodeFrames, PEOPLE_MKV, peopleClip, readCheckpoints, selfCpuPct, TreeCpu } from './lib/detect.ts';
import { loadClip, PacedH264Producer, waitPersisted } from './lib/h264.ts';
import { createStreams } from './lib/http.ts';
import { makeDataDir, startChild, type ChildServer } from './lib/procs.ts';
import { max, mean, result, type BenchContext, type BenchResult } from './lib/results.ts';

const LAG_LIMIT_MS = 4000;
/** Growth allowed between the first and last third of the window (mean of the worst stream's lag). */
const GROWTH_LIMIT_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Level {
  streams: number;
  maxLagMs: number;
  meanLagMs: number;
  growthMs: number;
  sustained: boolean;
  serverCpuPct: number;
  clientCpuPct: number;
  samples: number;
}

async function bareFps(ctx: BenchContext, runs: number): Promise<number> {
  const frames = await decodeFrames(ctx.tmpRoot, PEOPLE_MKV, 512, 512);
  const session = await ort.InferenceSession.create(DEFAULT_CENTERNET_PATH, centerNetSessionOptions());
  try {
    const tensors = frames.map((f) => new ort.Tensor('float32', Float32Array.from(f), [1, 512, 512, 3]));
    await session.run({ 'tower_0/images': tensors[0]! });
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) await session.run({ 'tower_0/images': tensors[i % tensors.length]! });
    return (runs * 1000) / (performance.now() - t0);
  } finally {
    await session.release();
  }
}

class Camera {
  readonly persisted = new Map<string, number>();
  newest = Number.NaN;
  constructor(readonly name: string, readonly producer: PacedH264Producer) {
    producer.producer.onAck = (ack, at) => {
      if (ack.EventType !== 'PERSISTED' || !ack.FragmentNumber) return;
      this.persisted.set(ack.FragmentNumber, at);
      this.newest = at;
    };
  }
  /** Newest persisted − newest done by the pipeline (ms); before anything is done: now − first persisted. */
  lag(done: string | undefined, now: number): number {
    const d = done === undefined ? undefined : this.persisted.get(done);
    if (d !== undefined) return this.newest - d;
    const first = this.persisted.values().next().value;
    return first === undefined ? 0 : now - first;
  }
}

async function measure(server: ChildServer, cams: readonly Camera[], windowMs: number): Promise<Omit<Level, 'streams'>> {
  const cpu = new TreeCpu(server.pid);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  const worst: number[] = [];
  while (performance.now() - t0 < windowMs) {
    await sleep(500);
    const done = readCheckpoints(server.dataDir);
    const now = performance.now();
    worst.push(max(cams.map((c) => c.lag(done[c.name], now))));
  }
  const third = Math.max(1, Math.floor(worst.length / 3));
  const growthMs = mean(worst.slice(-third)) - mean(worst.slice(0, third));
  const maxLagMs = max(worst);
  return {
    maxLagMs,
    meanLagMs: mean(worst),
    growthMs,
    sustained: maxLagMs < LAG_LIMIT_MS && growthMs < GROWTH_LIMIT_MS,
    serverCpuPct: cpu.lap(),
    clientCpuPct: selfCpuPct(client0, performance.now() - t0),
    samples: worst.length,
  };
}

export async function detectStreamsBench(ctx: BenchContext): Promise<BenchResult[]> {
  const steps = ctx.quick ? [1, 2] : [1, 2, 4, 6, 8, 10, 12, 16];
  // Long enough for the first burst of starts (everyone in view is new, each start encodes snapshots).
  const warmupMs = ctx.quick ? 8000 : 6000;
  const windowMs = ctx.quick ? 8000 : 20_000;
  const sampling = resolveDetectConfig({}).sampling as number;
  const bare = await bareFps(ctx, ctx.quick ? 20 : 60);
  ctx.log(`bare session.run ${bare.toFixed(1)} fps → ${(bare / sampling).toFixed(1)} streams at ${sampling} fps if inference were the only cost`);
  const clip = loadClip(await peopleClip(ctx.tmpRoot));
  const server = await startChild('detect-server-child.ts', makeDataDir(ctx.tmpRoot, 'detect-streams'), {
    profile: ctx.profile,
    args: [JSON.stringify({ discoveryIntervalMs: 250 })],
  });
  const cams: Camera[] = [];
  const levels: Level[] = [];
  try {
    for (const n of steps) {
      const added: Camera[] = [];
      const names = Array.from({ length: n - cams.length }, (_, i) => `cam${cams.length + i}`);
      await createStreams(server.url, names);
      await sleep(750); // discovery
      for (const name of names) {
        const cam = new Camera(name, new PacedH264Producer(server.url, name, clip, ((cams.length + added.length) * 379) % 1000));
        cam.producer.start();
        added.push(cam);
      }
      cams.push(...added);
      await waitPersisted(added.map((c) => c.producer), 1);
      await sleep(warmupMs);
      const m = await measure(server, cams, windowMs);
      levels.push({ streams: n, ...m });
      ctx.log(
        `${n} stream(s): worst lag max ${(m.maxLagMs / 1000).toFixed(2)} s, mean ${(m.meanLagMs / 1000).toFixed(2)} s, growth ${(m.growthMs / 1000).toFixed(2)} s over ${windowMs / 1000} s → ` +
          `${m.sustained ? 'sustained' : 'NOT sustained'}; server+decoders CPU ${m.serverCpuPct.toFixed(0)} %, producers ${m.clientCpuPct.toFixed(0)} %`,
      );
      const errors = cams.flatMap((c) => [...c.producer.producer.errors, ...c.producer.producer.errorAcks.map((a) => `ERROR ACK ${a.ErrorCode}`)]);
      if (errors.length) throw new Error(`producer errors: ${[...new Set(errors)].slice(0, 3).join('; ')}`);
      if (!m.sustained) break;
    }
  } finally {
    await Promise.all(cams.map((c) => c.producer.stop()));
    await server.stop();
  }
  const best = levels.filter((l) => l.sustained).at(-1)?.streams ?? 0;
  const capped = levels.every((l) => l.sustained);
  return [
    result({
      bench: 'detect.streams_sustained',
      metric: best,
      baseline: bare / sampling,
      unit: 'streams',
      extra: {
        samplingFps: sampling,
        lagLimitMs: LAG_LIMIT_MS,
        growthLimitMs: GROWTH_LIMIT_MS,
        rampEndedAtTop: capped,
        baselineIs: `bare session.run ${bare.toFixed(1)} fps / ${sampling} fps per stream`,
        windowMs,
      },
    }),
    ...levels.map((l) =>
      result({
        bench: `detect.streams_${l.streams}_lag_max`,
        metric: l.maxLagMs,
        unit: 'ms',
        target: { on: 'metric', op: '<', value: LAG_LIMIT_MS },
        extra: { sustained: l.sustained, meanLagMs: Math.round(l.meanLagMs), growthMs: Math.round(l.growthMs), serverCpuPct: Math.round(l.serverCpuPct), clientCpuPct: Math.round(l.clientCpuPct), samples: l.samples },
      }),
    ),
  ];
}
