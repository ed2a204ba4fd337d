/**
 * 6. Live playback latency in Chromium + hls.js: Date.now() − hls.playingDate (the wall-clock
 * time of the frame on screen, from EXT-X-PROGRAM-DATE-TIME; sessions ask for
 * DisplayFragmentTimestamp ALWAYS), sampled in the page every 250 ms after a warm-up. The
 * producer is a real-time camera: real H.264 frames (testsrc2 640x360, 25 fps, 1 s GOP, no
 * B-frames) leave one by one at their timestamps, with wall-clock producer timestamps, so LL-HLS
 * parts can form while a fragment arrives (ffmpeg -re would push whole clusters).
 * PROGRAM-DATE-TIME is the server timestamp of the fragment's first frame, so both ends of the
 * measure are this machine's clock.
 *
 * Four players in turn, each on its own sessions of the same live stream:
 *   hls / llhls               hls.js defaults (it then holds back what the playlist advertises:
 *                             3 target durations for HLS, PART-HOLD-BACK for LL-HLS)
 *   viewer_hls / viewer_llhls the configuration and session request of Kestrel's web viewer
 *                             (src/web/player.js, src/web/kvs.js)
 * hls.js picks its start position once and then plays at 1×, so one session's latency hardly
 * moves: each player runs 3 sessions (--quick: 1) of 10 s sampled after 4 s (3 s) of warm-up,
 * started at phases spread over one fragment — 30 s of samples per player.
 *
 * Baseline: the floor of each protocol, read from the same run's playlists: one fragment (mean
 * EXTINF, i.e. the producer's fragment duration) for HLS, one part (PART-TARGET) for LL-HLS; the
 * ratio is how many fragments / parts behind live the player sits. KVS's own typical 3–5 s is
 * quoted in docs/BENCHMARKS.md, not measured. Also reported (extra): how long after the
 * wall-clock end of its media each segment / part first appears in the playlist (the server's
 * share of the latency; polled every 100 ms, so up to 100 ms of it is the poll).
 */
import type { Page } from 'playwright-core';
import { launchBrowser, openHarness, type TestBrowser } from '../test/support/browser.ts';
import { createStreams } from './lib/http.ts';
import { encodeClip, loadClip, PacedH264Producer, waitPersisted } from './lib/h264.ts';
import { cpuPercent, makeDataDir, startChild } from './lib/procs.ts';
import { max, median, min, percentile, result, type BenchContext, type BenchResult } from './lib/results.ts';
import { signedFetch } from './lib/auth.ts';

const SAMPLE_MS = 250;
const POLL_MS = 100;
const LOW_LATENCY_HEADER = 'x-kestrel-low-latency';

interface Variant {
  name: string;
  lowLatency: boolean;
  config: Record<string, unknown>;
  targetMs: number;
}

/** src/web/player.js, `new Hls({...})` for a live stream. */
const viewerConfig = (lowLatency: boolean) => ({
  lowLatencyMode: true,
  enableWorker: true,
  backBufferLength: 30,
  maxLiveSyncPlaybackRate: 1.25,
  ...(lowLatency ? {} : { liveSyncDurationCount: 2 }),
  manifestLoadingMaxRetry: 3,
  levelLoadingMaxRetry: 4,
  fragLoadingMaxRetry: 4,
});

const VARIANTS: Variant[] = [
  { name: 'hls', lowLatency: false, config: { lowLatencyMode: false, enableWorker: true }, targetMs: 3000 },
  { name: 'llhls', lowLatency: true, config: { lowLatencyMode: true, enableWorker: true }, targetMs: 1500 },
  { name: 'viewer_hls', lowLatency: false, config: viewerConfig(false), targetMs: 3000 },
  { name: 'viewer_llhls', lowLatency: true, config: viewerConfig(true), targetMs: 1500 },
];

interface Sample {
  at: number;
  /** hls.playingDate in ms, null before the first PROGRAM-DATE-TIME is known. */
  pd: number | null;
  paused: boolean;
  targetLatency: number | null;
  /** hls.latency: hls.js's own estimate, from its live edge (the playlist end, advanced by the playlist's age), s. */
  latency: number;
}

interface PageState {
  time: number;
  paused: boolean;
  fatal: string[];
}

/** The session the web viewer asks for (src/web/kvs.js hlsSessionUrl, LIVE). */
async function sessionUrl(url: string, stream: string, lowLatency: boolean): Promise<string> {
  const body: Record<string, unknown> = {
    StreamName: stream,
    PlaybackMode: 'LIVE',
    ContainerFormat: 'FRAGMENTED_MP4',
    DisplayFragmentTimestamp: 'ALWAYS',
    HLSFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP' },
    Expires: 43200,
  };
  const res = await signedFetch(`${url}/getHLSStreamingSessionURL`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(lowLatency ? { [LOW_LATENCY_HEADER]: '1' } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`getHLSStreamingSessionURL: HTTP ${res.status} ${text}`);
  return (JSON.parse(text) as { HLSStreamingSessionURL: string }).HLSStreamingSessionURL;
}

/**
 * Polls a media playlist and records, for each segment and part that appears after the first
 * poll, how long after the wall-clock end of its media it was first listed.
 */
class AvailabilityPoller {
  readonly segmentDelays: number[] = [];
  readonly partDelays: number[] = [];
  readonly segmentDurations: number[] = [];
  readonly partDurations: number[] = [];
  /** EXT-X-PART-INF PART-TARGET, ms. */
  partTargetMs = Number.NaN;
  errors = 0;
  private readonly seen = new Set<string>();
  private polls = 0;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(private readonly mediaUrl: string) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const t = performance.now();
      try {
        const res = await fetch(this.mediaUrl);
        const text = await res.text();
        if (res.status === 200) this.scan(text, Date.now(), this.polls++ === 0);
        else this.errors++;
      } catch {
        this.errors++;
      }
      await sleep(Math.max(0, t + POLL_MS - performance.now()));
    }
  }

  private scan(text: string, now: number, first: boolean): void {
    let pdt = Number.NaN;
    let partOffset = 0;
    let extinf: number | undefined;
    for (const line of text.split('\n')) {
      if (line.startsWith('#EXT-X-PART-INF:')) {
        this.partTargetMs = Number(/PART-TARGET=([\d.]+)/.exec(line)?.[1]) * 1000;
      } else if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) {
        pdt = Date.parse(line.slice('#EXT-X-PROGRAM-DATE-TIME:'.length));
        partOffset = 0;
      } else if (line.startsWith('#EXT-X-PART:')) {
        const d = Number(/DURATION=([\d.]+)/.exec(line)?.[1]) * 1000;
        const uri = /URI="([^"]+)"/.exec(line)?.[1] ?? '';
        partOffset += d;
        if (!this.seen.has(uri)) {
          this.seen.add(uri);
          if (!first) {
            this.partDelays.push(now - (pdt + partOffset));
            this.partDurations.push(d);
          }
        }
      } else if (line.startsWith('#EXTINF:')) {
        extinf = Number.parseFloat(line.slice('#EXTINF:'.length)) * 1000;
      } else if (line && !line.startsWith('#') && extinf !== undefined) {
        const key = /FragmentNumber=(\d+)/.exec(line)?.[1] ?? line;
        if (!this.seen.has(key)) {
          this.seen.add(key);
          if (!first) {
            this.segmentDelays.push(now - (pdt + extinf));
            this.segmentDurations.push(extinf);
          }
        }
        pdt += extinf;
        partOffset = 0;
        extinf = undefined;
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts hls.js on `url` in a fresh <video>, with an in-page sampler of playingDate every 250 ms. */
async function startPlayer(page: Page, url: string, config: Record<string, unknown>): Promise<void> {
  await page.evaluate(
    ({ url, config, sampleMs }) => {
      type HlsInstance = {
        on(ev: string, cb: (e: string, d: { fatal: boolean; type: string; details: string }) => void): void;
        loadSource(u: string): void;
        attachMedia(v: HTMLVideoElement): void;
        destroy(): void;
        playingDate: Date | null;
        targetLatency: number | null;
        latency: number;
        levels: Array<{ details?: { partList?: unknown[] | null } }>;
      };
      type HlsCtor = { new (cfg: object): HlsInstance; Events: { ERROR: string; MANIFEST_PARSED: string } };
      type Bench = { hls: HlsInstance; timer: number; samples: unknown[]; waiting: number[]; fatal: string[]; errors: string[] };
      const w = window as unknown as { Hls: HlsCtor; __bench?: Bench };
      if (w.__bench) {
        clearInterval(w.__bench.timer);
        w.__bench.hls.destroy();
      }
      document.getElementById('v')?.remove();
      const video = document.createElement('video');
      video.id = 'v';
      video.muted = true;
      video.playsInline = true;
      video.width = 640;
      video.height = 360;
      document.body.append(video);
      const hls = new w.Hls(config);
      const b: Bench = { hls, timer: 0, samples: [], waiting: [], fatal: [], errors: [] };
      w.__bench = b;
      video.addEventListener('waiting', () => b.waiting.push(Date.now()));
      hls.on(w.Hls.Events.ERROR, (_e, d) => (d.fatal ? b.fatal : b.errors).push(`${d.type}:${d.details}`));
      hls.on(w.Hls.Events.MANIFEST_PARSED, () => void video.play().catch(() => {}));
      hls.attachMedia(video);
      hls.loadSource(url);
      b.timer = window.setInterval(() => {
        b.samples.push({ at: Date.now(), pd: hls.playingDate?.getTime() ?? null, paused: video.paused, targetLatency: hls.targetLatency, latency: hls.latency });
      }, sampleMs);
    },
    { url, config, sampleMs: SAMPLE_MS },
  );
}

async function pageState(page: Page): Promise<PageState> {
  return page.evaluate(() => {
    const w = window as unknown as { __bench: { fatal: string[] } };
    const v = document.getElementById('v') as HTMLVideoElement;
    return { time: v.currentTime, paused: v.paused, fatal: [...w.__bench.fatal] };
  });
}

async function collect(page: Page, from: number, to: number) {
  return page.evaluate(
    ({ from, to }) => {
      const w = window as unknown as {
        __bench: { samples: Array<{ at: number }>; waiting: number[]; errors: string[]; fatal: string[]; hls: { levels: Array<{ details?: { partList?: unknown[] | null } }> } };
      };
      const b = w.__bench;
      return {
        samples: b.samples.filter((s) => s.at >= from && s.at <= to),
        stalls: b.waiting.filter((t) => t >= from && t <= to).length,
        errors: [...b.errors],
        fatal: [...b.fatal],
        usedParts: b.hls.levels.some((l) => (l.details?.partList?.length ?? 0) > 0),
      };
    },
    { from, to },
  ) as Promise<{ samples: Sample[]; stalls: number; errors: string[]; fatal: string[]; usedParts: boolean }>;
}

interface VariantRun {
  latencies: number[];
  /** Median latency of each player session (one per start phase). */
  sessionMedians: number[];
  samples: number;
  stalls: number;
  errors: string[];
  fatal: string[];
  usedParts: boolean;
  startupMs: number[];
  targetLatencyS: number;
  /** Median of hls.latency over the sampled windows, s. */
  hlsLatencyS: number;
  segmentDelays: number[];
  partDelays: number[];
  fragmentMs: number;
  partTargetMs: number;
}

/**
 * hls.js picks its start position once, from the playlist it loads first, and plays at 1× from
 * there (unless maxLiveSyncPlaybackRate lets it catch up), so one session's latency is nearly
 * constant and depends on where in the fragment cycle it started. Each variant therefore plays
 * `sessions` sessions, started at phases spread evenly over one fragment of the camera.
 */
async function runVariant(
  page: Page,
  url: string,
  v: Variant,
  opts: { sessions: number; warmupMs: number; measureMs: number; cameraStart: number; fragmentMs: number },
): Promise<VariantRun> {
  const run: VariantRun = {
    latencies: [],
    sessionMedians: [],
    samples: 0,
    stalls: 0,
    errors: [],
    fatal: [],
    usedParts: false,
    startupMs: [],
    targetLatencyS: Number.NaN,
    hlsLatencyS: Number.NaN,
    segmentDelays: [],
    partDelays: [],
    fragmentMs: Number.NaN,
    partTargetMs: Number.NaN,
  };
  const targets: number[] = [];
  const own: number[] = [];
  const segmentDurations: number[] = [];
  for (let k = 0; k < opts.sessions; k++) {
    // Start this session (k + 0.5) / sessions of the way into a fragment.
    const phase = ((k + 0.5) / opts.sessions) * opts.fragmentMs;
    await sleep((phase - ((Date.now() - opts.cameraStart) % opts.fragmentMs) + opts.fragmentMs) % opts.fragmentMs);
    const master = await sessionUrl(url, 'latency', v.lowLatency);
    const masterText = await (await fetch(master)).text();
    const mediaUri = masterText.split('\n').find((l) => l.startsWith('getHLSMediaPlaylist'));
    if (!mediaUri) throw new Error(`no media playlist in the master playlist:\n${masterText}`);
    const poller = new AvailabilityPoller(new URL(mediaUri, master).toString());
    const t0 = performance.now();
    try {
      await startPlayer(page, master, v.config);
      let state = await pageState(page);
      while (!(state.time > 0 && !state.paused)) {
        if (state.fatal.length) throw new Error(`hls.js fatal: ${state.fatal.join(', ')}`);
        if (performance.now() - t0 > 30_000) throw new Error(`${v.name}: not playing after 30 s`);
        await sleep(100);
        state = await pageState(page);
      }
      run.startupMs.push(performance.now() - t0);
      await sleep(opts.warmupMs);
      const from = Date.now();
      await sleep(opts.measureMs);
      const r = await collect(page, from, Date.now());
      const latencies = r.samples.filter((s) => s.pd !== null && !s.paused).map((s) => s.at - s.pd!);
      run.latencies.push(...latencies);
      run.sessionMedians.push(median(latencies));
      run.samples += r.samples.length;
      run.stalls += r.stalls;
      run.errors.push(...r.errors);
      run.fatal.push(...r.fatal);
      run.usedParts ||= r.usedParts;
      targets.push(...r.samples.map((s) => s.targetLatency).filter((t): t is number => t !== null));
      own.push(...r.samples.filter((s) => s.pd !== null && !s.paused).map((s) => s.latency));
    } finally {
      await poller.stop();
    }
    run.segmentDelays.push(...poller.segmentDelays);
    run.partDelays.push(...poller.partDelays);
    segmentDurations.push(...poller.segmentDurations);
    if (Number.isFinite(poller.partTargetMs)) run.partTargetMs = poller.partTargetMs;
  }
  run.targetLatencyS = targets.length ? median(targets) : Number.NaN;
  run.hlsLatencyS = own.length ? median(own) : Number.NaN;
  run.fragmentMs = mean(segmentDurations);
  return run;
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
const r1 = (n: number) => (Number.isFinite(n) ? Math.round(n * 10) / 10 : null);

export async function latencyBench(ctx: BenchContext): Promise<BenchResult[]> {
  const sessions = ctx.quick ? 1 : 3;
  const warmupMs = ctx.quick ? 3000 : 4000;
  const measureMs = 10_000;
  const clip = loadClip(await encodeClip(ctx.tmpRoot, { size: '640x360', fps: 25, gop: 25, seconds: 10 }));
  const fragmentMs = clip.durationMs / clip.gops.length;
  const server = await startChild('server-child.ts', makeDataDir(ctx.tmpRoot, 'latency'), { profile: ctx.profile });
  let browser: TestBrowser | undefined;
  let camera: PacedH264Producer | undefined;
  const out: BenchResult[] = [];
  try {
    await createStreams(server.url, ['latency']);
    camera = new PacedH264Producer(server.url, 'latency', clip);
    camera.start();
    browser = await launchBrowser();
    const page = await browser.newPage({ width: 800, height: 450 });
    await openHarness(page, server.url);
    await waitPersisted([camera], 3);
    ctx.log(
      `camera live (${((clip.bytes * 8) / clip.durationMs / 1000).toFixed(1)} Mbit/s, ${fragmentMs} ms GOPs, frames paced); ` +
        `${VARIANTS.length} players × ${sessions} session(s) × (${warmupMs / 1000} s warm-up + ${measureMs / 1000} s sampled)`,
    );
    for (const v of VARIANTS) {
      const before = server.sample();
      const run = await runVariant(page, server.url, v, { sessions, warmupMs, measureMs, cameraStart: camera.startedAt, fragmentMs });
      const after = server.sample();
      const p50 = percentile(run.latencies, 50);
      const p95 = percentile(run.latencies, 95);
      const floorMs = v.lowLatency ? run.partTargetMs : run.fragmentMs;
      ctx.log(
        `${v.name}: latency p50 ${p50.toFixed(0)} ms, p95 ${p95.toFixed(0)} ms over ${run.latencies.length}/${run.samples} samples ` +
          `(session medians ${run.sessionMedians.map((m) => m.toFixed(0)).join(', ')}); hls.js target ${run.targetLatencyS.toFixed(2)} s (own estimate p50 ${run.hlsLatencyS.toFixed(2)} s), ` +
          `stalls ${run.stalls}, parts ${run.usedParts}; listed after media end: segments p50 ${percentile(run.segmentDelays, 50).toFixed(0)} ms` +
          (v.lowLatency ? `, parts p50 ${percentile(run.partDelays, 50).toFixed(0)} ms` : '') +
          (run.fatal.length || run.errors.length ? `; hls.js errors: ${[...new Set([...run.fatal, ...run.errors])].slice(0, 4).join(', ')}` : ''),
      );
      const extra = {
        player: v.name.startsWith('viewer') ? 'src/web/player.js config' : 'hls.js defaults',
        sessions,
        sessionMediansMs: run.sessionMedians.map((m) => Math.round(m)),
        samples: run.latencies.length,
        samplesWithoutDate: run.samples - run.latencies.length,
        stalls: run.stalls,
        hlsErrors: [...new Set(run.errors)],
        fatalErrors: [...new Set(run.fatal)],
        usedParts: run.usedParts,
        hlsTargetLatencyS: r1(run.targetLatencyS),
        hlsOwnLatencyP50S: Number.isFinite(run.hlsLatencyS) ? Math.round(run.hlsLatencyS * 100) / 100 : null,
        startupMs: run.startupMs.map((m) => Math.round(m)),
        baselineIs: v.lowLatency ? 'PART-TARGET (one part)' : 'mean EXTINF (one fragment, producer timestamps)',
        segmentListedAfterEndP50: r1(percentile(run.segmentDelays, 50)),
        segmentListedAfterEndP95: r1(percentile(run.segmentDelays, 95)),
        ...(v.lowLatency ? { partListedAfterEndP50: r1(percentile(run.partDelays, 50)), partListedAfterEndP95: r1(percentile(run.partDelays, 95)) } : {}),
        serverCpuPct: Math.round(cpuPercent(before, after)),
      };
      const target = { on: 'metric', op: '<=', value: v.targetMs } as const;
      out.push(
        result({ bench: `latency.${v.name}_p50`, metric: p50, baseline: floorMs, unit: 'ms', target, extra }),
        result({ bench: `latency.${v.name}_p95`, metric: p95, baseline: floorMs, unit: 'ms', target, extra: { max: r1(max(run.latencies)), min: r1(min(run.latencies)) } }),
      );
    }
    const late = camera.lateness;
    ctx.log(`camera: ${camera.framesSent} frames, ${camera.persisted} PERSISTED, frame lateness p99 ${percentile(late, 99).toFixed(1)} ms; server RSS ${server.sample().rssMB.toFixed(0)} MB`);
    if (out[0]) out[0].extra = { ...out[0].extra, frameLatenessP99Ms: r1(percentile(late, 99)), producerErrors: camera.producer.errors.length + camera.producer.errorAcks.length };
  } finally {
    await camera?.stop();
    await browser?.close();
    await server.stop();
  }
  return out;
}
