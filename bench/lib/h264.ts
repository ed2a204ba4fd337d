/**
 * Real H.264 media for the playback benchmarks: a testsrc2 clip encoded once with ffmpeg, parsed
 * into frames and re-clustered one GOP per cluster, then sent either paced in real time, frame by
 * frame, the way the KVS producer SDK does (test/support/paced-mkv.ts), or back to back.
 * Cluster timecodes are rewritten on every send, so a looped clip is one continuous stream; for
 * paced sends they are the wall-clock time at which the cluster's keyframe leaves.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runFfmpeg } from '../../src/media-tools/ffmpeg.ts';
import { MkvStreamParser, MKV_ID, simpleBlock, uintElement, unknownSizeHeader } from '../../src/mkv/index.ts';
import { Producer, kestrelPutHeaders } from './http.ts';

export interface ClipOptions {
  size: string;
  fps: number;
  /** Keyframe interval in frames: one GOP = one cluster = one fragment. */
  gop: number;
  seconds: number;
  /** x264 bitrate (e.g. '8M'); default: x264's constant quality. */
  bitrate?: string;
}

export interface Gop {
  /** Offset of the GOP's keyframe from the clip's first frame, ms. */
  startMs: number;
  /** SimpleBlocks with timecodes relative to the GOP start, keyframe first. */
  blocks: Buffer[];
  /** Offset of each block from the clip start, ms (pacing). */
  blockMs: number[];
  bytes: number;
}

export interface H264Clip {
  /** EBML header + unknown-size Segment + Info + Tracks. */
  header: Buffer;
  gops: Gop[];
  /** Clip length (last frame + one frame interval): the loop period. */
  durationMs: number;
  frameMs: number;
  file: string;
  bytes: number;
}

const encoded = new Map<string, Promise<string>>();
let mediaDir: string | undefined;

/** Encodes the clip once per process, into a folder under `tmpRoot` that is removed when the process exits. */
export function encodeClip(tmpRoot: string, o: ClipOptions): Promise<string> {
  const key = JSON.stringify(o);
  let file = encoded.get(key);
  if (!file) {
    if (!mediaDir) {
      const dir = fs.mkdtempSync(path.join(tmpRoot || os.tmpdir(), 'kestrel-bench-media-'));
      process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
      mediaDir = dir;
    }
    const dir = mediaDir;
    const out = path.join(dir, `clip-${o.size}-${o.fps}-${o.gop}-${o.bitrate ?? 'crf'}.mkv`);
    const rate = o.bitrate ? ['-b:v', o.bitrate, '-maxrate', o.bitrate, '-bufsize', o.bitrate] : [];
    file = runFfmpeg([
      '-y', '-f', 'lavfi', '-i', `testsrc2=size=${o.size}:rate=${o.fps}`, '-t', String(o.seconds),
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-profile:v', 'main', '-bf', '0',
      '-g', String(o.gop), '-keyint_min', String(o.gop), '-sc_threshold', '0', ...rate,
      '-f', 'matroska', out,
    ]).then(() => out);
    encoded.set(key, file);
  }
  return file;
}

/** Parses an MKV with one H.264 track and regroups its frames into one cluster per GOP. */
export function loadClip(file: string): H264Clip {
  const parser = new MkvStreamParser();
  const header: Buffer[] = [];
  const frames: Array<{ ms: number; keyframe: boolean; track: number; frame: Buffer }> = [];
  let scaleMs = 1;
  let clusterMs = 0;
  for (const ev of [...parser.push(fs.readFileSync(file)), ...parser.end()]) {
    if (ev.type === 'ebml-header') header.push(ev.raw, unknownSizeHeader(MKV_ID.Segment));
    else if (ev.type === 'info') {
      scaleMs = ev.timecodeScale / 1_000_000;
      header.push(ev.raw);
    } else if (ev.type === 'tracks') header.push(ev.raw);
    else if (ev.type === 'cluster-timecode') clusterMs = ev.timecode * scaleMs;
    else if (ev.type === 'block') {
      if (ev.block.frames.length !== 1) throw new Error(`${file}: laced blocks are not expected`);
      frames.push({ ms: clusterMs + ev.block.relativeTimecode * scaleMs, keyframe: ev.block.keyframe, track: ev.block.track, frame: Buffer.from(ev.block.frames[0]!) });
    }
  }
  if (!frames[0]?.keyframe) throw new Error(`${file}: the first frame is not a keyframe`);
  const first = frames[0].ms;
  const gops: Gop[] = [];
  for (const f of frames) {
    const ms = f.ms - first;
    if (f.keyframe) gops.push({ startMs: ms, blocks: [], blockMs: [], bytes: 0 });
    const g = gops.at(-1)!;
    const block = simpleBlock({ track: f.track, relativeTimecode: Math.round(ms - g.startMs), keyframe: f.keyframe, frame: f.frame });
    g.blocks.push(block);
    g.blockMs.push(ms);
    g.bytes += block.length;
  }
  const frameMs = frames.length > 1 ? (frames.at(-1)!.ms - first) / (frames.length - 1) : 40;
  const durationMs = Math.round(frames.at(-1)!.ms - first + frameMs);
  return { header: Buffer.concat(header), gops, durationMs, frameMs, file, bytes: fs.statSync(file).size };
}

/** Unknown-size Cluster header + Timecode: a producer that does not know the fragment's size yet. */
export const clusterStart = (timecodeMs: number): Buffer => Buffer.concat([unknownSizeHeader(MKV_ID.Cluster), uintElement(MKV_ID.Timecode, Math.round(timecodeMs))]);

/** Uploads `fragments` GOPs (looping the clip) as fast as the server takes them; producer timestamps end now. */
export async function uploadFragments(url: string, stream: string, clip: H264Clip, fragments: number): Promise<Producer> {
  const p = new Producer(`${url}/putMedia`, kestrelPutHeaders(stream));
  await p.send([clip.header]);
  const gopMs = clip.durationMs / clip.gops.length;
  const base = Date.now() - fragments * gopMs;
  for (let k = 0; k < fragments; k++) {
    const g = clip.gops[k % clip.gops.length]!;
    await p.send([clusterStart(base + k * gopMs), ...g.blocks]);
  }
  await p.end();
  return p;
}

/**
 * One live camera: frames leave at their timestamps (clip looped), each GOP's cluster header
 * together with its keyframe, cluster timecode = the wall-clock time the keyframe is due.
 * `phaseMs` delays the start so several cameras do not cut fragments at the same instant.
 */
export class PacedH264Producer {
  readonly producer: Producer;
  framesSent = 0;
  /** How late frames left against their slot, ms (the load generator's own health). */
  readonly lateness: number[] = [];
  /** Wall-clock time (ms) of the first keyframe: fragments start every GOP duration from here. */
  startedAt = Number.NaN;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly frames: Array<{ gop: number; block: number }>;

  constructor(url: string, stream: string, readonly clip: H264Clip, readonly phaseMs = 0) {
    this.producer = new Producer(`${url}/putMedia`, kestrelPutHeaders(stream));
    this.frames = clip.gops.flatMap((g, gi) => g.blocks.map((_, bi) => ({ gop: gi, block: bi })));
  }

  start(): void {
    void this.producer.send([this.clip.header]);
    const t0 = performance.now() + 100 + this.phaseMs;
    const wall0 = Date.now() + 100 + this.phaseMs;
    this.startedAt = wall0;
    const n = this.frames.length;
    const tick = () => {
      if (this.stopped) return;
      const now = performance.now();
      for (;;) {
        const j = this.framesSent;
        const { gop, block } = this.frames[j % n]!;
        const g = this.clip.gops[gop]!;
        const offset = Math.floor(j / n) * this.clip.durationMs + g.blockMs[block]!;
        if (t0 + offset > now) {
          this.timer = setTimeout(tick, t0 + offset - now);
          return;
        }
        this.lateness.push(now - (t0 + offset));
        const parts = block === 0 ? [clusterStart(wall0 + offset), g.blocks[0]!] : [g.blocks[block]!];
        void this.producer.send(parts);
        this.framesSent++;
      }
    };
    this.timer = setTimeout(tick, t0 - performance.now());
  }

  /** Fragments PERSISTED so far. */
  get persisted(): number {
    return this.producer.persistedAt.length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.race([this.producer.end(), new Promise((r) => setTimeout(r, 10_000))]);
    this.producer.destroy();
  }
}

/** Waits until every producer has `n` PERSISTED fragments (throws after `timeoutMs`). */
export async function waitPersisted(producers: readonly PacedH264Producer[], n: number, timeoutMs = 30_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (producers.some((p) => p.persisted < n)) {
    const errors = producers.flatMap((p) => [...p.producer.errors, ...p.producer.errorAcks.map((a) => `ERROR ACK ${a.ErrorCode}`)]);
    if (errors.length) throw new Error(`producer errors: ${[...new Set(errors)].slice(0, 3).join('; ')}`);
    if (performance.now() > until) throw new Error(`fewer than ${n} fragments PERSISTED after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
