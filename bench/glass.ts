/**
 * Glass-to-glass latency of the camera path: a live RTSP camera (bench/glass_camera.py:
 * GStreamer RTSP server, x264 zerolatency, 640x360, 25 fps, 2 s GOP, no B-frames) paints the
 * wall-clock time of each frame's capture into the picture as black/white blocks; `kestrel
 * ingest` (a separate process, as a user runs it) pulls it over RTSP into a stream; Chromium
 * plays the stream with the bundled hls.js and the web viewer's configuration
 * (src/web/player.js). For every frame the page presents (requestVideoFrameCallback), it draws
 * the frame on a canvas, reads the blocks back and takes the frame's display time minus its
 * capture time. Camera, server, ingest and browser share this machine's clock.
 *
 * Three players, each on its own sessions of the same live stream: LL-HLS (the session asked with
 * x-kestrel-low-latency, as the viewer does for live fMP4), plain HLS as the viewer plays it (1.25
 * target durations behind the live edge), and plain HLS 2 target durations behind (hls.js-style
 * hold-back, the viewer's setting before). Each plays `sessions` sessions (hls.js picks its start
 * point once per session; starts spread over one GOP), sampled after a warm-up.
 * Baseline: the protocol's floor read from the same run's playlists (one part, PART-TARGET, for
 * LL-HLS; one fragment, the GOP, for HLS), as in the latency bench.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { BENCH_CREDENTIALS, signedFetch } from './lib/auth.ts';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { launchBrowser, openHarness, type TestBrowser } from '../test/support/browser.ts';
import { freePort, RTSP_PYTHON } from '../test/support/rtsp-server.ts';
import { cpuPercent, makeDataDir, startChild } from './lib/procs.ts';
import { percentile, result, type BenchContext, type BenchResult } from './lib/results.ts';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH_DIR);
const FPS = 25;
const GOP = 50;
const STREAM = 'glass';
const LOW_LATENCY_HEADER = 'x-kestrel-low-latency';

interface Variant {
  name: string;
  lowLatency: boolean;
  targetMs: number;
  /** hls.js liveSyncDurationCount for plain HLS (how many target durations behind the live edge). */
  syncFragments?: number;
}
const VARIANTS: Variant[] = [
  { name: 'llhls', lowLatency: true, targetMs: 1500 },
  // The viewer: 1.25 target durations behind the live edge. Less than one GOP plus the publishing
  // delay cannot work (a segment is listed once its whole GOP is in); 1 stalls.
  { name: 'hls', lowLatency: false, targetMs: 3000, syncFragments: 1.25 },
  // Not the viewer: two target durations behind, for comparison.
  { name: 'hls_hold2', lowLatency: false, targetMs: 3000, syncFragments: 2 },
];

/** src/web/player.js `new Hls({...})` for a live stream (PLAIN_HLS_SYNC_FRAGMENTS = 1.25). */
const viewerConfig = (v: Variant) => ({
  lowLatencyMode: true,
  enableWorker: true,
  backBufferLength: 30,
  maxLiveSyncPlaybackRate: 1.25,
  ...(v.lowLatency ? {} : { liveSyncDurationCount: v.syncFragments ?? 1.25 }),
  manifestLoadingMaxRetry: 3,
  levelLoadingMaxRetry: 4,
  fragLoadingMaxRetry: 4,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts bench/glass_camera.py and waits for its READY line. */
async function startCamera(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(RTSP_PYTHON, [path.join(BENCH_DIR, 'glass_camera.py'), '--port', String(port), '--fps', String(FPS), '--gop', String(GOP)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`glass camera did not start within 20 s: ${err.trim()}`)), 20_000);
    child.stdout!.on('data', (b: Buffer) => {
      if (!b.toString().includes('READY')) return;
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`glass camera exited (${code}): ${err.trim()}`))));
  });
  return { url: `rtsp://127.0.0.1:${port}/cam`, child };
}

/** `kestrel ingest` from source (tsx), resolving once its first fragment is persisted. */
async function startIngest(source: string, endpoint: string, log: (m: string) => void): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/kestrel.js'), 'ingest', source, '--stream', STREAM, '--create', '--endpoint', endpoint], {
    cwd: ROOT,
    env: { ...process.env, KESTREL_FROM_SOURCE: '1', KESTREL_ACCESS_KEY_ID: BENCH_CREDENTIALS.accessKeyId, KESTREL_SECRET_ACCESS_KEY: BENCH_CREDENTIALS.secretAccessKey },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kestrel ingest persisted nothing within 60 s:\n${out}`)), 60_000);
    child.stderr!.on('data', (b: Buffer) => {
      // Keep the tail only: ingest logs every reconnect for as long as it runs.
      out = (out + b.toString()).slice(-8192);
      if (!out.includes('first fragment persisted')) return;
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`kestrel ingest exited (${code}):\n${out}`))));
  });
  log(`ingest: ${out.trim().split('\n').at(-1)}`);
  return child;
}

function stopProcess(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => (clearTimeout(kill), resolve()));
    child.kill(signal);
  });
}

async function sessionUrl(url: string, lowLatency: boolean): Promise<string> {
  const res = await signedFetch(`${url}/getHLSStreamingSessionURL`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(lowLatency ? { [LOW_LATENCY_HEADER]: '1' } : {}) },
    body: JSON.stringify({ StreamName: STREAM, PlaybackMode: 'LIVE', ContainerFormat: 'FRAGMENTED_MP4', DisplayFragmentTimestamp: 'ALWAYS', Expires: 43200 }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`getHLSStreamingSessionURL: HTTP ${res.status} ${text}`);
  return (JSON.parse(text) as { HLSStreamingSessionURL: string }).HLSStreamingSessionURL;
}

/** PART-TARGET (ms) and the mean EXTINF (ms) of the session's media playlist. */
async function playlistFloors(master: string): Promise<{ partTargetMs: number; fragmentMs: number; targetDurationS: number; extinfMs: number[] }> {
  const masterText = await (await fetch(master)).text();
  const media = masterText.split('\n').find((l) => l.startsWith('getHLSMediaPlaylist'));
  if (!media) throw new Error(`no media playlist in:\n${masterText}`);
  const text = await (await fetch(new URL(media, master))).text();
  const partTargetMs = Number(/PART-TARGET=([\d.]+)/.exec(text)?.[1]) * 1000;
  const extinf = [...text.matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Number(m[1]) * 1000);
  const targetDurationS = Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(text)?.[1]);
  return { partTargetMs, fragmentMs: extinf.length ? extinf.reduce((a, b) => a + b, 0) / extinf.length : Number.NaN, targetDurationS, extinfMs: extinf };
}

/** Starts hls.js in the harness page with a per-frame stamp reader (layout: bench/glass_camera.py). */
async function startPlayer(page: Page, url: string, config: Record<string, unknown>): Promise<void> {
  await page.evaluate(
    ({ url, config }) => {
      type HlsInstance = {
        on(ev: string, cb: (e: string, d: { fatal: boolean; type: string; details: string }) => void): void;
        loadSource(u: string): void;
        attachMedia(v: HTMLVideoElement): void;
        destroy(): void;
        levels: Array<{ details?: { partList?: unknown[] | null } }>;
      };
      type HlsCtor = { new (cfg: object): HlsInstance; Events: { ERROR: string; MANIFEST_PARSED: string } };
      type Glass = { hls: HlsInstance; samples: Array<{ at: number; ms: number }>; unreadable: number; waiting: number[]; fatal: string[]; errors: string[] };
      type FrameMeta = { expectedDisplayTime: number };
      type RvfcVideo = HTMLVideoElement & { requestVideoFrameCallback(cb: (now: number, meta: FrameMeta) => void): number };
      const w = window as unknown as { Hls: HlsCtor; __glass?: Glass };
      w.__glass?.hls.destroy();
      document.getElementById('v')?.remove();
      const video = document.createElement('video') as RvfcVideo;
      video.id = 'v';
      video.muted = true;
      video.playsInline = true;
      video.width = 640;
      video.height = 360;
      document.body.append(video);
      const canvas = document.createElement('canvas');
      canvas.width = 640;
      canvas.height = 360;
      const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
      const hls = new w.Hls(config);
      const g: Glass = { hls, samples: [], unreadable: 0, waiting: [], fatal: [], errors: [] };
      w.__glass = g;
      video.addEventListener('waiting', () => g.waiting.push(Date.now()));
      hls.on(w.Hls.Events.ERROR, (_e, d) => (d.fatal ? g.fatal : g.errors).push(`${d.type}:${d.details}`));
      hls.on(w.Hls.Events.MANIFEST_PARSED, () => void video.play().catch(() => {}));
      hls.attachMedia(video);
      hls.loadSource(url);

      // Blocks are 16x16 from x=64: data bits in rows 16..31, check bits in rows 32..47 (white = 1).
      const bit = (px: Uint8ClampedArray, i: number, row: number) => (px[((row + 8) * 640 + 64 + i * 16 + 8) * 4]! > 128 ? 1 : 0);
      const onFrame = (now: number, meta: FrameMeta) => {
        if (w.__glass !== g) return;
        // The frame's display time on the Date.now() clock.
        const shownAt = Date.now() + (meta.expectedDisplayTime - now);
        ctx.drawImage(video, 0, 0, 640, 360);
        const px = ctx.getImageData(0, 16, 640, 32).data;
        let value = 0;
        for (let i = 0; i < 32; i++) value = ((value << 1) | bit(px, i, 0)) >>> 0;
        let check = 0;
        for (let i = 0; i < 8; i++) check = (check << 1) | bit(px, i, 16);
        const xor = (value >>> 24) ^ ((value >>> 16) & 0xff) ^ ((value >>> 8) & 0xff) ^ (value & 0xff);
        const ms = (((shownAt % 2 ** 32) - value) % 2 ** 32 + 2 ** 32) % 2 ** 32;
        // Bounded: a session lasts well under an hour at 25 frames a second.
        if (check === (~xor & 0xff) && ms < 60_000) {
          if (g.samples.length < 100_000) g.samples.push({ at: shownAt, ms });
        }
        else g.unreadable++;
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    },
    { url, config },
  );
}

interface Collected {
  latencies: number[];
  unreadable: number;
  stalls: number;
  fatal: string[];
  errors: string[];
  usedParts: boolean;
}

async function collect(page: Page, from: number, to: number): Promise<Collected> {
  return page.evaluate(
    ({ from, to }) => {
      const g = (
        window as unknown as {
          __glass: { samples: Array<{ at: number; ms: number }>; unreadable: number; waiting: number[]; fatal: string[]; errors: string[]; hls: { levels: Array<{ details?: { partList?: unknown[] | null } }> } };
        }
      ).__glass;
      return {
        latencies: g.samples.filter((s) => s.at >= from && s.at <= to).map((s) => s.ms),
        unreadable: g.unreadable,
        stalls: g.waiting.filter((t) => t >= from && t <= to).length,
        fatal: [...g.fatal],
        errors: [...g.errors],
        usedParts: g.hls.levels.some((l) => (l.details?.partList?.length ?? 0) > 0),
      };
    },
    { from, to },
  );
}

async function waitPlaying(page: Page, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const s = await page.evaluate(() => {
      const v = document.getElementById('v') as HTMLVideoElement;
      const g = (window as unknown as { __glass: { samples: unknown[]; fatal: string[] } }).__glass;
      return { playing: v.currentTime > 0 && !v.paused, samples: g.samples.length, fatal: g.fatal };
    });
    if (s.fatal.length) throw new Error(`${what}: hls.js fatal ${s.fatal.join(', ')}`);
    if (s.playing && s.samples > 0) return;
    if (Date.now() > deadline) throw new Error(`${what}: no stamped frame displayed after 30 s`);
    await sleep(200);
  }
}

export async function glassBench(ctx: BenchContext): Promise<BenchResult[]> {
  const sessions = ctx.quick ? 1 : 3;
  const warmupMs = ctx.quick ? 4000 : 6000;
  const measureMs = ctx.quick ? 10_000 : 20_000;
  const server = await startChild('server-child.ts', makeDataDir(ctx.tmpRoot, 'glass'), { profile: ctx.profile });
  let camera: { url: string; child: ChildProcess } | undefined;
  let ingest: ChildProcess | undefined;
  let browser: TestBrowser | undefined;
  const out: BenchResult[] = [];
  try {
    camera = await startCamera();
    ingest = await startIngest(camera.url, server.url, ctx.log);
    browser = await launchBrowser();
    const page = await browser.newPage({ width: 800, height: 450 });
    await openHarness(page, server.url);
    // tsx (esbuild keepNames) wraps the page functions' inner named functions in __name(): define it there.
    await page.evaluate('window.__name = (f) => f');
    ctx.log(`camera live (640x360, ${FPS} fps, ${GOP / FPS} s GOP); ${VARIANTS.length} players × ${sessions} session(s) × (${warmupMs / 1000} s warm-up + ${measureMs / 1000} s sampled)`);
    for (const v of VARIANTS) {
      const before = server.sample();
      const runs: Collected[] = [];
      const sessionMedians: number[] = [];
      let floors = { partTargetMs: Number.NaN, fragmentMs: Number.NaN, targetDurationS: Number.NaN, extinfMs: [] as number[] };
      for (let k = 0; k < sessions; k++) {
        // Spread session starts over one GOP: hls.js picks its start point once per session.
        if (k > 0) await sleep(((GOP / FPS) * 1000) / sessions);
        const master = await sessionUrl(server.url, v.lowLatency);
        await startPlayer(page, master, viewerConfig(v));
        await waitPlaying(page, v.name);
        await sleep(warmupMs);
        const from = Date.now();
        await sleep(measureMs);
        const run = await collect(page, from, Date.now());
        runs.push(run);
        sessionMedians.push(percentile(run.latencies, 50));
        floors = await playlistFloors(master);
      }
      const after = server.sample();
      const latencies = runs.flatMap((r) => r.latencies);
      if (!latencies.length) throw new Error(`${v.name}: no readable stamp in ${runs.reduce((n, r) => n + r.unreadable, 0)} displayed frames`);
      const p50 = percentile(latencies, 50);
      const p95 = percentile(latencies, 95);
      const floorMs = v.lowLatency ? floors.partTargetMs : floors.fragmentMs;
      const stalls = runs.reduce((n, r) => n + r.stalls, 0);
      const unreadable = runs.reduce((n, r) => n + r.unreadable, 0);
      const hlsErrors = [...new Set(runs.flatMap((r) => [...r.fatal, ...r.errors]))];
      ctx.log(
        `${v.name}: glass-to-glass p50 ${p50.toFixed(0)} ms, p95 ${p95.toFixed(0)} ms over ${latencies.length} frames ` +
          `(session medians ${sessionMedians.map((m) => m.toFixed(0)).join(', ')}); unreadable stamps ${unreadable}, stalls ${stalls}, ` +
          `parts ${runs.some((r) => r.usedParts)}${hlsErrors.length ? `; hls.js errors: ${hlsErrors.slice(0, 4).join(', ')}` : ''}`,
      );
      const extra = {
        player: v.syncFragments !== undefined && v.syncFragments !== 1.25 ? `hls.js, src/web/player.js config with liveSyncDurationCount ${v.syncFragments}` : 'hls.js with the src/web/player.js config',
        sessions,
        frames: latencies.length,
        sessionMediansMs: sessionMedians.map((m) => Math.round(m)),
        unreadableStamps: unreadable,
        stalls,
        usedParts: runs.some((r) => r.usedParts),
        hlsErrors,
        targetDurationS: floors.targetDurationS,
        extinfMs: floors.extinfMs.map((m) => Math.round(m)),
        baselineIs: v.lowLatency ? 'PART-TARGET (one part)' : 'mean EXTINF (one fragment = one GOP)',
        serverCpuPct: Math.round(cpuPercent(before, after)),
      };
      out.push(
        result({ bench: `glass.${v.name}_p50`, metric: p50, baseline: floorMs, unit: 'ms', target: { on: 'metric', op: '<=', value: v.targetMs }, extra }),
        result({ bench: `glass.${v.name}_p95`, metric: p95, baseline: floorMs, unit: 'ms', extra: { max: Math.max(...latencies), min: Math.min(...latencies) } }),
      );
    }
  } finally {
    await browser?.close();
    await stopProcess(ingest);
    await stopProcess(camera?.child);
    await server.stop();
  }
  return out;
}
