/**
 * The one module that runs ffmpeg/ffprobe. Everything else (CLI, tests) goes through these helpers,
 * so the binaries, argument conventions and the archived fluent-ffmpeg dependency stay in one place.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import fluent from 'fluent-ffmpeg';

/** Binaries; env overrides are read on every call so tests and users can switch them at run time. */
export const ffmpegPath = (): string => process.env.KESTREL_FFMPEG || 'ffmpeg';
export const ffprobePath = (): string => process.env.KESTREL_FFPROBE || 'ffprobe';

export interface MediaStreamInfo {
  index: number;
  type: 'video' | 'audio' | 'subtitle' | 'data' | 'other';
  codec: string;
  width?: number;
  height?: number;
  /** Frames per second from avg_frame_rate, when known. */
  fps?: number;
  /** 0 when the stream has no B-frames (what RTSP pulls need). */
  hasBFrames?: number;
  sampleRate?: number;
  channels?: number;
}

export interface MediaInfo {
  /** ffprobe's format name, e.g. "matroska,webm" or "mov,mp4,m4a,3gp,3g2,mj2". */
  format: string;
  durationSec: number | undefined;
  sizeBytes: number | undefined;
  streams: MediaStreamInfo[];
}

/** Container and stream summary. fluent-ffmpeg's ffprobe wrapper is adequate here. */
export function probe(fileOrUrl: string): Promise<MediaInfo> {
  return new Promise((resolve, reject) => {
    fluent(fileOrUrl)
      .setFfprobePath(ffprobePath())
      .ffprobe((err: unknown, data: fluent.FfprobeData) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        resolve({
          format: data.format.format_name ?? 'unknown',
          durationSec: finite(data.format.duration),
          sizeBytes: finite(data.format.size),
          streams: data.streams.map(toStreamInfo),
        });
      });
  });
}

function toStreamInfo(s: fluent.FfprobeStream): MediaStreamInfo {
  const known = ['video', 'audio', 'subtitle', 'data'] as const;
  const type = known.find((k) => k === s.codec_type) ?? 'other';
  const info: MediaStreamInfo = { index: s.index, type, codec: s.codec_name ?? 'unknown' };
  if (s.width) info.width = s.width;
  if (s.height) info.height = s.height;
  const fps = parseRational(s.avg_frame_rate);
  if (type === 'video' && fps) info.fps = fps;
  if (type === 'video' && s.has_b_frames !== undefined) info.hasBFrames = s.has_b_frames;
  if (s.sample_rate) info.sampleRate = Number(s.sample_rate);
  if (s.channels) info.channels = s.channels;
  return info;
}

function finite(v: unknown): number | undefined {
  const n = Number(v);
  return v !== undefined && v !== null && v !== 'N/A' && Number.isFinite(n) ? n : undefined;
}

function parseRational(v: string | undefined): number | undefined {
  const [num, den] = (v ?? '').split('/').map(Number);
  return num && den ? num / den : undefined;
}

export interface SpawnFfmpegOptions {
  /** 'pipe' when feeding input on pipe:0 (the child's stdin is then `proc.stdin`). */
  stdin?: 'pipe' | 'ignore';
  /** 'pipe' when reading output from pipe:1. */
  stdout?: 'pipe' | 'ignore';
  /** Receives every stderr line (already without the trailing newline). */
  onStderrLine?: (line: string) => void;
  /** ffmpeg -loglevel; default "error" so stderr carries only what a user should see. */
  logLevel?: 'quiet' | 'error' | 'warning' | 'info' | 'debug';
  /** How many stderr lines to remember for error messages. */
  keepStderrLines?: number;
  /** Scheduling niceness for the child (0..19, higher = yields more); default: inherited. */
  niceness?: number;
  /** Killed (SIGKILL) after this long; a hung decoder must not hold a child slot forever. Default: none (long-lived pushes). */
  timeoutMs?: number;
}

export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface FfmpegProcess {
  child: ChildProcess;
  stdin: Writable | null;
  stdout: Readable | null;
  /** Resolves when the process has exited and its stderr is drained; never rejects (spawn errors give code -1). */
  exited: Promise<FfmpegExit>;
  /** Last stderr lines, newest last (for "ffmpeg failed: ..." messages). */
  stderrTail(): string[];
  /**
   * Asks ffmpeg to finish (SIGINT makes it flush and write the trailer), then SIGKILLs after
   * `graceMs`. Resolves with the exit.
   */
  stop(graceMs?: number): Promise<FfmpegExit>;
}

/** Spawns ffmpeg with our house flags; `args` are everything after them (inputs, outputs). */
export function spawnFfmpeg(args: readonly string[], opts: SpawnFfmpegOptions = {}): FfmpegProcess {
  const stdin = opts.stdin ?? 'ignore';
  // -nostdin stops ffmpeg from treating our stdin as a keyboard; it must stay off when input is pipe:0.
  const house = ['-hide_banner', '-loglevel', opts.logLevel ?? 'error', ...(stdin === 'pipe' ? [] : ['-nostdin'])];
  const child = spawn(ffmpegPath(), [...house, ...args], { stdio: [stdin, opts.stdout ?? 'pipe', 'pipe'] });
  if (opts.niceness !== undefined && child.pid !== undefined) {
    try {
      os.setPriority(child.pid, opts.niceness);
    } catch {
      // Not permitted here (or the child already exited): it runs at normal priority.
    }
  }
  const keep = opts.keepStderrLines ?? 20;
  const tail: string[] = [];
  let spawnError: Error | undefined;

  const stderrDone = new Promise<void>((resolve) => {
    if (!child.stderr) return resolve();
    const rl = createInterface({ input: child.stderr, crlfDelay: Infinity });
    rl.on('line', (line) => {
      tail.push(line);
      if (tail.length > keep) tail.shift();
      opts.onStderrLine?.(line);
    });
    rl.on('close', () => resolve());
  });
  const exited = new Promise<FfmpegExit>((resolve) => {
    child.once('error', (err) => {
      // ENOENT and friends: report like a failed run so callers have one path.
      spawnError = err;
      tail.push(`cannot run ${ffmpegPath()}: ${err.message}`);
      resolve({ code: -1, signal: null });
    });
    child.once('close', (code, signal) => resolve({ code, signal }));
  }).then(async (exit) => {
    if (!spawnError) await stderrDone;
    return exit;
  });
  // A child that dies while we write to its stdin must not crash us with EPIPE.
  child.stdin?.on('error', () => {});
  if (opts.timeoutMs !== undefined) {
    const killer = setTimeout(() => {
      tail.push(`killed after ${opts.timeoutMs} ms`);
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    void exited.then(() => clearTimeout(killer));
  }

  let exitedYet = false;
  void exited.then(() => (exitedYet = true));
  const stop = async (graceMs = 5000): Promise<FfmpegExit> => {
    if (!exitedYet) {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    }
    return exited;
  };
  return { child, stdin: child.stdin, stdout: child.stdout, exited, stderrTail: () => [...tail], stop };
}

/** Runs ffmpeg to completion; rejects with the stderr tail when it fails. */
export async function runFfmpeg(args: readonly string[], opts: Omit<SpawnFfmpegOptions, 'stdout'> = {}): Promise<void> {
  const proc = spawnFfmpeg(args, { ...opts, stdout: 'ignore' });
  const exit = await proc.exited;
  if (exit.code !== 0) throw new Error(describeFailure(exit, proc.stderrTail()));
}

/** One readable line for "ffmpeg exited badly" messages. */
export function describeFailure(exit: FfmpegExit, stderrTail: readonly string[]): string {
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  const last = stderrTail.filter((l) => l.trim() !== '').at(-1);
  return `ffmpeg ${how}${last ? `: ${last.trim()}` : ''}`;
}

export interface RemuxOptions {
  /** Read the input at its native frame rate (-re), i.e. behave like a live producer. */
  realtime?: boolean;
  /** Options placed before `-i` (e.g. `-rtsp_transport tcp`). */
  inputOptions?: readonly string[];
  /**
   * One Cluster per frame, flushed at once (the live camera path): the muxer can only write a
   * Cluster once it is closed, so a Cluster per GOP would hold every frame until its GOP ends.
   * The client joins them back into one streaming Cluster per GOP (src/client/gop-clusters.ts).
   */
  clusterPerFrame?: boolean;
}

/**
 * Args that copy (no re-encode) the first video and audio stream of `input` into a live MKV on
 * stdout with one Cluster per GOP — i.e. one KVS fragment per GOP (or, with `clusterPerFrame`,
 * one per frame). By default the muxer cuts clusters every 32 KiB / 1 s on a pipe; raising both
 * limits leaves only the keyframe rule.
 */
export function remuxToMkvArgs(input: string, opts: RemuxOptions = {}): string[] {
  return [
    ...(opts.realtime ? ['-re'] : []),
    ...(opts.inputOptions ?? []),
    '-i', input,
    '-map', '0:v:0?', '-map', '0:a:0?',
    '-c', 'copy',
    '-f', 'matroska',
    ...(opts.clusterPerFrame
      ? ['-cluster_size_limit', '0', '-cluster_time_limit', '0', '-flush_packets', '1', '-write_crc32', '0']
      : ['-cluster_size_limit', '10M', '-cluster_time_limit', '10000']),
    'pipe:1',
  ];
}

/** Input options for pulling a live camera URL: TCP for RTSP (UDP loses packets) and an I/O timeout. */
export function liveInputOptions(url: string, ioTimeoutSec = 10): string[] {
  if (/^rtsps?:\/\//i.test(url)) {
    // -timeout is the RTSP socket I/O timeout in microseconds (ffmpeg >= 5); a silent camera ends the run.
    return ['-rtsp_transport', 'tcp', '-timeout', String(ioTimeoutSec * 1_000_000)];
  }
  if (/^https?:\/\//i.test(url)) return ['-rw_timeout', String(ioTimeoutSec * 1_000_000)];
  return [];
}

export interface FrameCount {
  /** Video frames (decoded with mode 'frames', demuxed with mode 'packets'). */
  video: number;
  /** Audio packets/frames, 0 without audio. */
  audio: number;
}

/**
 * Counts frames via ffprobe. 'packets' (-count_packets) only demuxes and is fast; 'frames'
 * (-count_frames) decodes, proving the data is decodable.
 */
export async function countFrames(fileOrUrl: string, mode: 'packets' | 'frames' = 'packets'): Promise<FrameCount> {
  const key = mode === 'packets' ? 'nb_read_packets' : 'nb_read_frames';
  const out = await runFfprobeJson([
    mode === 'packets' ? '-count_packets' : '-count_frames',
    '-show_entries', `stream=codec_type,${key}`,
    fileOrUrl,
  ]);
  const count: FrameCount = { video: 0, audio: 0 };
  for (const s of (out.streams ?? []) as Array<Record<string, unknown>>) {
    const n = Number(s[key] ?? 0);
    if (s.codec_type === 'video') count.video += n;
    if (s.codec_type === 'audio') count.audio += n;
  }
  return count;
}

export interface VideoPacket {
  ptsSec: number;
  keyframe: boolean;
}

/** The first video stream's packets in file order, with keyframe flags (GOP counting in tests). */
export async function videoPackets(fileOrUrl: string): Promise<VideoPacket[]> {
  const out = await runFfprobeJson(['-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', fileOrUrl]);
  return ((out.packets ?? []) as Array<Record<string, unknown>>).map((p) => ({
    ptsSec: Number(p.pts_time),
    keyframe: String(p.flags ?? '').includes('K'),
  }));
}

/** Runs ffprobe with JSON output (killed after `timeoutMs`); plain spawn because fluent cannot pass -count_* flags cleanly. */
export function runFfprobeJson(args: readonly string[], timeoutMs = 120_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffprobePath(), ['-v', 'error', '-of', 'json', ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) {
        const msg = Buffer.concat(err).toString().trim().split('\n').at(-1) ?? '';
        return reject(new Error(`ffprobe exited with code ${code}${msg ? `: ${msg}` : ''}`));
      }
      try {
        resolve(JSON.parse(Buffer.concat(out).toString() || '{}') as Record<string, unknown>);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}
