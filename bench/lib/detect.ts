/**
 * Shared parts of the detection benchmarks: the fixture clips, a webhook receiver that time-stamps
 * deliveries, CPU of a process together with its children (the ffmpeg decoders), and the detection
 * checkpoints the server writes when a fragment has gone through the pipeline.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runFfmpeg } from '../../src/media-tools/ffmpeg.ts';
import { agent } from './http.ts';

export const FIXTURES = path.resolve('fixtures');
export const PEOPLE_MKV = path.join(FIXTURES, 'people_vtest_3s.mkv');
export const NOPEOPLE_MKV = path.join(FIXTURES, 'nopeople_tree_3s.mkv');

let mediaDir: string | undefined;
function scratch(tmpRoot: string): string {
  if (!mediaDir) {
    const dir = fs.mkdtempSync(path.join(tmpRoot || os.tmpdir(), 'kestrel-bench-detect-'));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    mediaDir = dir;
  }
  return mediaDir;
}

/** The people fixture as rgb24 frames at `width`x`height` (ffmpeg scale), decoded once. */
export async function decodeFrames(tmpRoot: string, file: string, width: number, height: number): Promise<Uint8Array[]> {
  const out = path.join(scratch(tmpRoot), `${path.basename(file)}-${width}x${height}.rgb`);
  await runFfmpeg(['-y', '-i', file, '-vf', `scale=${width}:${height}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', out]);
  const raw = fs.readFileSync(out);
  const size = width * height * 3;
  const frames: Uint8Array[] = [];
  for (let o = 0; o + size <= raw.length; o += size) frames.push(new Uint8Array(raw.buffer, raw.byteOffset + o, size));
  return frames;
}

/**
 * One H.264 camera clip that alternates the two fixtures: the people clip (3 s), then the no-people
 * clip scaled to the same 768x576 and looped to `emptySeconds`. One encode, so one set of SPS/PPS:
 * a camera whose scene changes, not a new producer session (which would restart the decoder).
 * 10 fps, GOP 10 (1 s fragments), no B-frames.
 */
export async function alternatingClip(tmpRoot: string, emptySeconds: number): Promise<string> {
  const out = path.join(scratch(tmpRoot), `alternating-${emptySeconds}.mkv`);
  if (fs.existsSync(out)) return out;
  await runFfmpeg([
    '-y', '-i', PEOPLE_MKV, '-stream_loop', '-1', '-i', NOPEOPLE_MKV,
    '-filter_complex',
    `[0:v]fps=10,setsar=1,setpts=PTS-STARTPTS[a];[1:v]scale=768:576,fps=10,setsar=1,trim=duration=${emptySeconds},setpts=PTS-STARTPTS[b];[a][b]concat=n=2:v=1[v]`,
    '-map', '[v]', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p', '-bf', '0',
    '-g', '10', '-keyint_min', '10', '-sc_threshold', '0', '-f', 'matroska', out,
  ]);
  return out;
}

/**
 * The people fixture played forward then backward (6 s, re-encoded without B-frames, 10 fps, GOP 10:
 * 1 s fragments), for looped live pushes: the loop point does not make everyone jump back 3 s, which
 * would end every track and start new ones (with their snapshots) on every loop.
 */
export async function peopleClip(tmpRoot: string): Promise<string> {
  const out = path.join(scratch(tmpRoot), 'people-pingpong.mkv');
  if (fs.existsSync(out)) return out;
  await runFfmpeg([
    '-y', '-i', PEOPLE_MKV, '-filter_complex', '[0:v]fps=10,split[a][b];[b]reverse[r];[a][r]concat=n=2:v=1[v]', '-map', '[v]',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p', '-bf', '0',
    '-g', '10', '-keyint_min', '10', '-sc_threshold', '0', '-f', 'matroska', out,
  ]);
  return out;
}

export interface Delivery {
  body: string;
  /** performance.now() when the request body ended (the clock of Producer ACK times). */
  at: number;
}

/** Minimal webhook receiver (204 for everything), recording each delivery's arrival time. */
export class TimedReceiver {
  readonly deliveries: Delivery[] = [];
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      if (req.url !== '/ping') this.deliveries.push({ body: Buffer.concat(chunks).toString('utf8'), at });
      res.writeHead(204).end();
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** One POST of `body` to `url` (no keep-alive, like the load generators); resolves with the round trip in ms. */
export function timedPost(url: string, body: string): Promise<number> {
  const data = Buffer.from(body);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': data.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - t0));
    });
    req.on('error', reject);
    req.end(data);
  });
}

/**
 * CPU ticks of `pid` (utime+stime, plus cutime+cstime: children it has reaped, e.g. one-shot JPEG
 * encoders) and utime+stime of every descendant alive now (the long-lived ffmpeg decoders).
 */
export function treeCpuTicks(pid: number): number {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const own = Number(f[11]) + Number(f[12]);
      parent.set(Number(name), Number(f[1]));
      ticks.set(Number(name), Number(name) === pid ? own + Number(f[13]) + Number(f[14]) : own);
    } catch {
      // exited meanwhile
    }
  }
  const inTree = (p: number): boolean => {
    for (let q: number | undefined = p, depth = 0; q !== undefined && q > 1 && depth < 16; q = parent.get(q), depth++) if (q === pid) return true;
    return false;
  };
  let sum = 0;
  for (const [p, t] of ticks) if (inTree(p)) sum += t;
  return sum;
}

/**
 * CPU of a process tree over an interval, % of one core. Descendants that exit during the interval
 * lose their ticks (fine for long-lived decoders).
 */
export class TreeCpu {
  private t = performance.now();
  private ticks: number;
  constructor(private readonly pid: number) {
    this.ticks = treeCpuTicks(pid);
  }
  /** % of one core since the previous call (or construction). */
  lap(): number {
    const now = performance.now();
    const ticks = treeCpuTicks(this.pid);
    const pct = ((ticks - this.ticks) / 100 / ((now - this.t) / 1000)) * 100;
    this.t = now;
    this.ticks = ticks;
    return pct;
  }
}

/** Newest fragment number each stream's detection pipeline has finished (from `<dataDir>/detect-checkpoints.json`). */
export function readCheckpoints(dataDir: string): Record<string, string> {
  try {
    const all = JSON.parse(fs.readFileSync(path.join(dataDir, 'detect-checkpoints.json'), 'utf8')) as Record<string, { token?: string }>;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(all)) if (v.token) out[k] = v.token;
    return out;
  } catch {
    return {};
  }
}

/** cutime + cstime of this process: CPU of its children that have exited and been waited for, clock ticks. */
export function childCpuTicks(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[13]) + Number(f[14]);
}

/** Process CPU (user+system) of this process since `from`, % of one core. */
export function selfCpuPct(from: NodeJS.CpuUsage, ms: number): number {
  const u = process.cpuUsage(from);
  return ((u.user + u.system) / 1000 / ms) * 100;
}
