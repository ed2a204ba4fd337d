/**
 * Real players for the player matrix (test/integration/player-matrix.test.ts): each plays a
 * session URL and reports the video frames it produced with their presentation times.
 * - ffmpeg: decodes the first video stream to `framecrc` (one line per decoded frame).
 * - GStreamer: test/support/gst_play.py, `playbin3` (hlsdemux2 / dashdemux2) or an explicit
 *   `souphttpsrc ! hlsdemux ! decodebin` pipeline; decoded frames counted at a fakesink.
 * - VLC: `cvlc` with dummy outputs (as `nobody` when we are root: VLC refuses root), frames
 *   read from its rc interface's `stats` (video decoded, frames displayed).
 * A live play is bounded by `seconds`; VOD plays stop at the end of the stream. Every child is
 * killed after a hard timeout.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnFfmpeg } from '../../src/media-tools/ffmpeg.ts';

export interface PlayResult {
  /** Video frames decoded (VLC: demuxed video packets). */
  frames: number;
  /** Presentation times in seconds, in output order. */
  pts: number[];
  /** The player ended the stream by itself (EOS / exit before the time limit). */
  ended: boolean;
  /** Why it failed, or the end of its log. */
  error: string | null;
}

const GST_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'gst_play.py');
const PYTHON = process.env.KESTREL_GST_PYTHON ?? '/usr/bin/python3';

/** Spawns a child, collects stdout/stderr (bounded), SIGKILLs it after `timeoutMs`. */
function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const keep = (s: string, b: Buffer) => (s + b.toString()).slice(-2_000_000);
    child.stdout.on('data', (b: Buffer) => (stdout = keep(stdout, b)));
    child.stderr.on('data', (b: Buffer) => (stderr = keep(stderr, b).slice(-20_000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => (stderr += String(e)));
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * ffmpeg decodes the first video stream; `seconds` bounds a live play (-t on the output),
 * `wallSeconds` stops ffmpeg after that long (SIGINT; inside dashdemux ffmpeg may ignore it and
 * is killed, losing the last few frames in flight): ffmpeg 5.1 never leaves live mode once an
 * MPD was dynamic, so it does not end a LIVE_REPLAY DASH session by itself.
 */
export async function playFfmpeg(url: string, seconds?: number, wallSeconds?: number): Promise<PlayResult> {
  const limit = seconds === undefined ? [] : ['-t', String(seconds)];
  const lines: string[] = [];
  const proc = spawnFfmpeg(['-i', url, ...limit, '-map', '0:v:0', '-f', 'framecrc', '-'], { stdout: 'pipe', timeoutMs: ((seconds ?? wallSeconds ?? 30) + 40) * 1000 });
  let stopped = false;
  const stopper = wallSeconds === undefined ? undefined : setTimeout(() => {
    stopped = true;
    void proc.stop(3000);
  }, wallSeconds * 1000);
  let buf = '';
  proc.stdout!.on('data', (b: Buffer) => {
    buf += b.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts.filter((l) => l));
  });
  const exit = await proc.exited;
  if (stopper) clearTimeout(stopper);
  // framecrc: "#tb 0: 1/25" headers, then stream, dts, pts, duration, size, crc per frame.
  const tb = /^#tb 0: (\d+)\/(\d+)/m.exec(lines.filter((l) => l.startsWith('#tb')).join('\n'));
  const timebase = tb ? Number(tb[1]) / Number(tb[2]) : 1 / 90_000;
  const frames = lines.filter((l) => !l.startsWith('#'));
  return {
    frames: frames.length,
    pts: frames.map((l) => Number(l.split(',')[2]) * timebase),
    ended: exit.code === 0 && !stopped,
    error: exit.code === 0 || stopped ? null : `exit ${JSON.stringify(exit)}: ${proc.stderrTail().join('\n')}`,
  };
}

export type GstPipeline = 'playbin3' | 'hlsdemux';

export async function playGstreamer(url: string, pipeline: GstPipeline, seconds: number): Promise<PlayResult> {
  const r = await run(PYTHON, [GST_SCRIPT, pipeline, url, String(seconds)], (seconds + 30) * 1000);
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    const s = JSON.parse(line) as { frames: number; firstPts: number | null; lastPts: number | null; eos: boolean; error: string | null };
    const pts = s.firstPts === null ? [] : [s.firstPts, s.lastPts ?? s.firstPts];
    return { frames: s.frames, pts, ended: s.eos, error: s.error };
  } catch {
    return { frames: 0, pts: [], ended: false, error: `gst_play.py exited ${r.code}: ${r.stderr.slice(-2000)}` };
  }
}

/** cvlc refuses to run as root: run it as `nobody` then. */
function vlcCommand(args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'nobody', '--', 'cvlc', ...args]] : ['cvlc', args];
}

/**
 * VLC plays in real time (dummy video/audio outputs, `-vv` log). Its rc interface is asked for
 * `stats` every 250 ms: `frames` is the most "video decoded" it reported and `samples` the
 * reports in time order (live: they keep rising). The counter is sampled (the last frames of a
 * short VOD can fall after the last sample), so VOD checks also use `segments`: the distinct
 * video media segments VLC fetched (its HTTP log); `demuxErrors` are its demuxers' error lines.
 */
export async function playVlc(url: string, seconds?: number): Promise<PlayResult & { samples: number[]; segments: number; fetched: string[]; demuxErrors: string[] }> {
  const [cmd, args] = vlcCommand(['-vv', '--intf', 'rc', '--rc-fake-tty', '--vout', 'dummy', '--aout', 'dummy', '--play-and-exit', url, 'vlc://quit']);
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {});
  let out = '';
  let log = '';
  let decoded = 0;
  const samples: number[] = [];
  const segments = new Set<string>();
  const demuxErrors: string[] = [];
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
    const lines = out.split('\n');
    out = lines.pop()!;
    for (const l of lines) {
      const d = /video decoded\s*:\s*(\d+)/.exec(l);
      if (d) {
        decoded = Math.max(decoded, Number(d[1]));
        samples.push(Number(d[1]));
      }
    }
  });
  child.stderr.on('data', (b: Buffer) => {
    log += b.toString();
    const lines = log.split('\n');
    log = lines.pop()!.slice(-100_000);
    for (const l of lines) {
      const get = /GET \S*\/(get(?:MP4MediaFragment\.mp4|TSFragment\.ts)\?\S*)/.exec(l);
      // DASH: the video track's segments only.
      if (get && !/TrackNumber=2/.test(get[1]!)) segments.add(get[1]!.replace(/SessionToken=[^&]*/, ''));
      if (/ (mp4|ts|adaptive|es) (stream|demux) error/.test(l)) demuxErrors.push(l.slice(0, 300));
    }
  });
  const poll = setInterval(() => child.stdin.write('stats\n'), 250);
  const stopAt = seconds === undefined ? undefined : setTimeout(() => child.stdin.write('quit\n'), seconds * 1000);
  const killer = setTimeout(() => child.kill('SIGKILL'), ((seconds ?? 30) + 40) * 1000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearInterval(poll);
  clearTimeout(killer);
  if (stopAt) clearTimeout(stopAt);
  const error = code !== 0 ? `exit ${code}` : demuxErrors.length ? demuxErrors.slice(0, 5).join('\n') : null;
  return { frames: decoded, pts: [], samples, segments: segments.size, fetched: [...segments], demuxErrors, ended: code === 0, error };
}

/** Span of the presentation times a player produced, seconds. */
export function ptsSpan(pts: readonly number[]): number {
  if (pts.length === 0) return 0;
  return Math.max(...pts) - Math.min(...pts);
}
