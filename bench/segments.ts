/**
 * 7. Segment serving: 10 live streams (real-time paced cameras, real H.264 640x360 25 fps, 1 s
 * fragments) and 200 simulated players (HTTP clients, not browsers; 20 per stream, each with its
 * own LIVE fMP4 session and its own keep-alive connection, as a browser player has). Every
 * ~1 s a player reloads its media playlist and fetches the segments it has not fetched yet
 * (it starts at the newest one), like hls.js at the live edge. Start phases are spread over the
 * second. Reported: completed requests/s and p99 response time (request sent → last body byte)
 * over the window after a 2 s warm-up.
 *
 * Baseline, same run: the bytes Kestrel served — every playlist version each player received,
 * and every segment and init segment — saved to disk and served by a bare node:http static file
 * server (bench/static-child.ts) to the same 200 players with the same timing. A static player
 * asks for the playlist version its Kestrel counterpart received at the same point of the run,
 * and maps each segment URI in it to the saved file by FragmentNumber.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createStreams } from './lib/http.ts';
import { encodeClip, loadClip, PacedH264Producer, waitPersisted } from './lib/h264.ts';
import { cpuPercent, makeDataDir, startChild, type ChildServer } from './lib/procs.ts';
import { percentile, result, type BenchContext, type BenchResult } from './lib/results.ts';
import { sampleThreadStates, type ThreadStates } from './lib/thread-state.ts';
import { signedFetch } from './lib/auth.ts';

const STREAMS = 10;
const PLAYERS = 200;
const RELOAD_MS = 1000;
const WARMUP_MS = 2000;

type Kind = 'playlist' | 'segment' | 'init';

interface Req {
  kind: Kind;
  start: number;
  ms: number;
  bytes: number;
  ok: boolean;
}

interface Got {
  status: number;
  body: Buffer;
}

/** GET over the player's own keep-alive connection; the body is buffered (a player keeps it). */
function get(agent: http.Agent, url: string): Promise<Got> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', () => resolve({ status: 0, body: Buffer.alloc(0) }));
    });
    req.on('error', () => resolve({ status: 0, body: Buffer.alloc(0) }));
  });
}

/** Where a player's requests go: Kestrel (recording what it serves) or the static copy. */
interface Source {
  playlist(player: number, offsetMs: number): string;
  segment(player: number, uri: string, fragmentNumber: string): string;
  init(player: number, uri: string, sequence: string): string;
  onPlaylist?(player: number, offsetMs: number, body: Buffer): void;
  onSegment?(player: number, key: string, body: Buffer): void;
}

const streamOf = (player: number) => player % STREAMS;
/** Start phase of a player within the reload interval (deterministic, spread evenly). */
const phaseOf = (player: number) => ((player * 997) % PLAYERS) * (RELOAD_MS / PLAYERS);

interface Playlist {
  init?: { uri: string; sequence: string };
  segments: Array<{ uri: string; fragmentNumber: string }>;
}

function parsePlaylist(text: string): Playlist {
  const out: Playlist = { segments: [] };
  for (const line of text.split('\n')) {
    if (line.startsWith('#EXT-X-MAP:')) {
      const uri = /URI="([^"]+)"/.exec(line)?.[1];
      if (uri) out.init = { uri, sequence: /SequenceNumber=(\d+)/.exec(uri)?.[1] ?? '0' };
    } else if (line && !line.startsWith('#')) {
      out.segments.push({ uri: line, fragmentNumber: /FragmentNumber=(\d+)/.exec(line)?.[1] ?? line });
    }
  }
  return out;
}

interface LoadRun {
  requests: Req[];
  /** The load generator's own event-loop delay over the window, ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** The server's main thread over the window: % of samples running/runnable (R), idle (S), blocked (D). */
  serverThread: ThreadStates;
  windowMs: number;
  cpuPct: number;
  clientCpuPct: number;
  rssMB: number;
  cpuSeconds: number;
}

/** Runs every player until `seconds` after the start; counts requests started after the warm-up. */
async function runPlayers(target: ChildServer, src: Source, seconds: number): Promise<LoadRun> {
  const requests: Req[] = [];
  const t0 = performance.now() + 100;
  const endAt = t0 + WARMUP_MS + seconds * 1000;
  let before = target.sample();
  let clientBefore = process.cpuUsage();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  let states: ReturnType<typeof sampleThreadStates> | undefined;
  const warm = setTimeout(() => {
    before = target.sample();
    clientBefore = process.cpuUsage();
    loop.enable();
    states = sampleThreadStates(target.pid);
  }, t0 + WARMUP_MS - performance.now());

  const timed = async (agent: http.Agent, kind: Kind, url: string): Promise<Got> => {
    const start = performance.now();
    const r = await get(agent, url);
    requests.push({ kind, start, ms: performance.now() - start, bytes: r.body.length, ok: r.status === 200 });
    return r;
  };

  const player = async (p: number) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const seen = new Set<string>();
    const inits = new Set<string>();
    let first = true;
    let next = t0 + phaseOf(p);
    try {
      for (;;) {
        await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
        const now = performance.now();
        if (now >= endAt) break;
        const offset = now - t0;
        const r = await timed(agent, 'playlist', src.playlist(p, offset));
        if (r.status === 200) {
          src.onPlaylist?.(p, offset, r.body);
          const pl = parsePlaylist(r.body.toString('utf8'));
          if (pl.init && !inits.has(pl.init.sequence)) {
            inits.add(pl.init.sequence);
            const ir = await timed(agent, 'init', src.init(p, pl.init.uri, pl.init.sequence));
            if (ir.status === 200) src.onSegment?.(p, `init-${pl.init.sequence}`, ir.body);
          }
          // A player joining a live stream starts at its newest segment.
          if (first) for (const s of pl.segments.slice(0, -1)) seen.add(s.fragmentNumber);
          first = false;
          for (const s of pl.segments) {
            if (seen.has(s.fragmentNumber)) continue;
            seen.add(s.fragmentNumber);
            const sr = await timed(agent, 'segment', src.segment(p, s.uri, s.fragmentNumber));
            if (sr.status === 200) src.onSegment?.(p, s.fragmentNumber, sr.body);
          }
        }
        next += RELOAD_MS;
        // A reload that ran late is not made up for: the next one is on the following beat.
        while (next < performance.now()) next += RELOAD_MS;
      }
    } finally {
      agent.destroy();
    }
  };
  await Promise.all(Array.from({ length: PLAYERS }, (_, p) => player(p)));
  clearTimeout(warm);
  loop.disable();
  const serverThread = states?.stop() ?? { samples: 0, pct: {} };
  const after = target.sample();
  const client = process.cpuUsage(clientBefore);
  const windowStart = t0 + WARMUP_MS;
  const measured = requests.filter((r) => r.start >= windowStart);
  return {
    requests: measured,
    loopDelayP99Ms: loop.percentile(99) / 1e6,
    loopDelayMaxMs: loop.max / 1e6,
    serverThread,
    windowMs: endAt - windowStart,
    cpuPct: cpuPercent(before, after),
    clientCpuPct: ((client.user + client.system) / 1e4 / (after.at - before.at)) * 1000,
    rssMB: after.rssMB,
    cpuSeconds: (after.cpuTicks - before.cpuTicks) / 100,
  };
}

async function sessionUrl(url: string, stream: string): Promise<string> {
  const res = await signedFetch(`${url}/getHLSStreamingSessionURL`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      StreamName: stream,
      PlaybackMode: 'LIVE',
      ContainerFormat: 'FRAGMENTED_MP4',
      DisplayFragmentTimestamp: 'ALWAYS',
      HLSFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP' },
      Expires: 43200,
    }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`getHLSStreamingSessionURL ${stream}: HTTP ${res.status} ${text}`);
  return (JSON.parse(text) as { HLSStreamingSessionURL: string }).HLSStreamingSessionURL;
}

function summarize(run: LoadRun) {
  const ok = run.requests.filter((r) => r.ok);
  const of = (k: Kind) => ok.filter((r) => r.kind === k);
  const p = (rs: Req[], q: number) => Math.round(percentile(rs.map((r) => r.ms), q) * 10) / 10;
  return {
    reqPerS: (ok.length / run.windowMs) * 1000,
    p99: percentile(ok.map((r) => r.ms), 99),
    p50: percentile(ok.map((r) => r.ms), 50),
    errors: run.requests.length - ok.length,
    playlists: of('playlist').length,
    /** 1 when every player reloaded on time, every second. */
    reloadsPerPlayerPerS: Math.round((of('playlist').length / PLAYERS / run.windowMs) * 1000 * 100) / 100,
    segments: of('segment').length,
    mbPerS: (ok.reduce((n, r) => n + r.bytes, 0) / 1e6 / run.windowMs) * 1000,
    playlistP50: p(of('playlist'), 50),
    playlistP99: p(of('playlist'), 99),
    segmentP50: p(of('segment'), 50),
    segmentP99: p(of('segment'), 99),
    cpuPct: Math.round(run.cpuPct),
    cpuMsPerRequest: ok.length ? Math.round(((run.cpuSeconds * 1000) / ok.length) * 100) / 100 : null,
    clientCpuPct: Math.round(run.clientCpuPct),
    clientLoopDelayP99Ms: Math.round(run.loopDelayP99Ms),
    clientLoopDelayMaxMs: Math.round(run.loopDelayMaxMs),
    rssMB: Math.round(run.rssMB),
    serverMainThreadPct: run.serverThread.pct,
  };
}

export async function segmentsBench(ctx: BenchContext): Promise<BenchResult[]> {
  const seconds = ctx.quick ? 10 : 30;
  const clip = loadClip(await encodeClip(ctx.tmpRoot, { size: '640x360', fps: 25, gop: 25, seconds: 10 }));
  const fragmentMs = clip.durationMs / clip.gops.length;
  const names = Array.from({ length: STREAMS }, (_, i) => `seg-${i}`);
  const staticDir = makeDataDir(ctx.tmpRoot, 'segments-static');
  // What Kestrel served: each player's playlist versions (with when it asked), each stream's segments.
  const versions: Array<Array<{ offset: number; body: Buffer }>> = Array.from({ length: PLAYERS }, () => []);
  const segments = new Map<string, Buffer>();

  const server = await startChild('server-child.ts', makeDataDir(ctx.tmpRoot, 'segments'), { profile: ctx.profile });
  let cameras: PacedH264Producer[] = [];
  let k: LoadRun;
  let ingestOnlyCpuPct: number;
  try {
    await createStreams(server.url, names);
    cameras = names.map((n, i) => new PacedH264Producer(server.url, n, clip, (i * fragmentMs) / STREAMS));
    cameras.forEach((c) => c.start());
    await waitPersisted(cameras, 3);
    // Ingest alone, to tell serving cost from the cost of the 10 live streams.
    const i0 = server.sample();
    await new Promise((r) => setTimeout(r, 2000));
    ingestOnlyCpuPct = cpuPercent(i0, server.sample());
    const media = await Promise.all(
      Array.from({ length: PLAYERS }, async (_, p) => {
        const master = await sessionUrl(server.url, names[streamOf(p)]!);
        const text = await (await fetch(master)).text();
        const uri = text.split('\n').find((l) => l.startsWith('getHLSMediaPlaylist'));
        if (!uri) throw new Error(`no media playlist in the master playlist:\n${text}`);
        return new URL(uri, master).toString();
      }),
    );
    ctx.log(`${STREAMS} cameras live (ingest alone: server cpu ${ingestOnlyCpuPct.toFixed(0)} %); ${PLAYERS} players × ${seconds} s against Kestrel`);
    k = await runPlayers(server, {
      playlist: (p) => media[p]!,
      segment: (p, uri) => new URL(uri, media[p]!).toString(),
      init: (p, uri) => new URL(uri, media[p]!).toString(),
      onPlaylist: (p, offset, body) => versions[p]!.push({ offset, body }),
      onSegment: (p, key, body) => {
        const id = `${streamOf(p)}/${key}`;
        if (!segments.has(id)) segments.set(id, body);
      },
    }, seconds);
  } catch (err) {
    fs.rmSync(staticDir, { recursive: true, force: true });
    throw err;
  } finally {
    await Promise.all(cameras.map((c) => c.stop()));
    await server.stop();
  }

  // The static copy: p/<player>/<n>.m3u8 and s/<stream>/<FragmentNumber>.mp4 (init-<seq>.mp4).
  for (const [p, list] of versions.entries()) {
    fs.mkdirSync(path.join(staticDir, 'p', String(p)), { recursive: true });
    list.forEach((v, n) => fs.writeFileSync(path.join(staticDir, 'p', String(p), `${n}.m3u8`), v.body));
  }
  for (const [id, body] of segments) {
    const [stream, key] = id.split('/') as [string, string];
    fs.mkdirSync(path.join(staticDir, 's', stream), { recursive: true });
    fs.writeFileSync(path.join(staticDir, 's', stream, `${key}.mp4`), body);
  }
  const savedMB = [...segments.values()].reduce((n, b) => n + b.length, 0) / 1e6;
  const offsets = versions.map((list) => list.map((v) => v.offset));
  ctx.log(`saved ${versions.reduce((n, l) => n + l.length, 0)} playlist versions and ${segments.size} segments (${savedMB.toFixed(0)} MB); same players against the static server`);

  let b: LoadRun;
  try {
    const stat = await startChild('static-child.ts', staticDir, { keepData: true });
    b = await runPlayers(stat, {
      playlist: (p, offset) => {
        const list = offsets[p]!;
        let n = 0;
        while (n + 1 < list.length && list[n + 1]! <= offset) n++;
        return `${stat.url}/p/${p}/${n}.m3u8`;
      },
      segment: (p, _uri, fn) => `${stat.url}/s/${streamOf(p)}/${fn}.mp4`,
      init: (p, _uri, seq) => `${stat.url}/s/${streamOf(p)}/init-${seq}.mp4`,
    }, seconds).finally(() => stat.stop());
  } finally {
    fs.rmSync(staticDir, { recursive: true, force: true });
  }

  const ks = summarize(k);
  const bs = summarize(b);
  for (const [label, s] of [['kestrel', ks], ['static', bs]] as const) {
    ctx.log(
      `${label}: ${s.reqPerS.toFixed(0)} req/s (${s.playlists} playlists = ${s.reloadsPerPlayerPerS} reloads/player/s, ${s.segments} segments, ${s.mbPerS.toFixed(1)} MB/s), ` +
        `p50/p99 ${s.p50.toFixed(1)}/${s.p99.toFixed(1)} ms (playlists ${s.playlistP50}/${s.playlistP99}, segments ${s.segmentP50}/${s.segmentP99}), ` +
        `${s.errors} errors, server cpu ${s.cpuPct} % (${s.cpuMsPerRequest} ms/request, main thread ${JSON.stringify(s.serverMainThreadPct)}), client cpu ${s.clientCpuPct} % (event-loop delay p99 ${s.clientLoopDelayP99Ms} ms, max ${s.clientLoopDelayMaxMs} ms)`,
    );
  }
  const lateness = cameras.flatMap((c) => c.lateness);
  const common = { streams: STREAMS, players: PLAYERS, seconds, reloadMs: RELOAD_MS };
  return [
    result({
      bench: 'segments.req_per_s',
      metric: ks.reqPerS,
      baseline: bs.reqPerS,
      unit: 'req/s',
      target: { on: 'ratio', op: '>=', value: 0.5 },
      extra: {
        ...common,
        kestrel: ks,
        static: bs,
        ingestOnlyCpuPct: Math.round(ingestOnlyCpuPct),
        savedSegmentsMB: Math.round(savedMB),
        cameraFrameLatenessP99Ms: Math.round(percentile(lateness, 99) * 10) / 10,
      },
    }),
    result({
      bench: 'segments.p99',
      metric: ks.p99,
      baseline: bs.p99,
      unit: 'ms',
      extra: { p50: Math.round(ks.p50 * 10) / 10, baselineP50: Math.round(bs.p50 * 10) / 10, errors: ks.errors, baselineErrors: bs.errors },
    }),
    result({
      bench: 'segments.cpu_ms_per_request',
      metric: ks.cpuMsPerRequest ?? Number.NaN,
      baseline: bs.cpuMsPerRequest,
      unit: 'ms',
      extra: {
        note: 'server CPU time (utime+stime) per completed request; Kestrel also ingests the 10 streams meanwhile',
        kestrelServingOnlyEstimate: ks.reqPerS > 0 ? Math.round(((ks.cpuPct - ingestOnlyCpuPct) * 10 / ks.reqPerS) * 100) / 100 : null,
        kestrelCpuPct: ks.cpuPct,
        staticCpuPct: bs.cpuPct,
      },
    }),
  ];
}
