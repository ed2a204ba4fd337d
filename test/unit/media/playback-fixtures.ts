/**
 * Test helpers for the playback packagers: ffmpeg-made MKV files split into stored-fragment
 * shapes (header = EBML + unknown-size Segment + Info + Tracks; body = one Cluster), demuxed,
 * and ffprobe/ffmpeg checks of what the packagers produce.
 */
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { demuxFragment } from '../../../src/media/demux-mkv.ts';
import type { DemuxedFragment } from '../../../src/media/types.ts';
import { runFfmpeg, runFfprobeJson } from '../../../src/media-tools/ffmpeg.ts';
import { MKV_ID, MkvStreamParser, unknownSizeHeader } from '../../../src/mkv/index.ts';

export interface StoredFragments {
  header: Buffer;
  clusters: Buffer[];
}

/** Splits a whole MKV file the way ingest stores it. */
export function splitMkv(file: Buffer): StoredFragments {
  const parser = new MkvStreamParser();
  const head: Buffer[] = [];
  const clusters: Buffer[] = [];
  let cluster: Buffer[] | undefined;
  for (const ev of [...parser.push(file), ...parser.end()]) {
    if (ev.type === 'ebml-header') head.push(ev.raw);
    else if (ev.type === 'segment-start') head.push(unknownSizeHeader(MKV_ID.Segment));
    else if (ev.type === 'info' || ev.type === 'tracks') head.push(ev.raw);
    else if (ev.type === 'cluster-start') cluster = [ev.raw];
    else if (ev.type === 'cluster-end' && cluster) {
      clusters.push(Buffer.concat(cluster));
      cluster = undefined;
    } else if (cluster && 'raw' in ev) cluster.push(ev.raw);
  }
  return { header: Buffer.concat(head), clusters };
}

/**
 * Demuxes every cluster of an MKV file. `offsetMs` moves all times, like the epoch timestamps of
 * real producers (ffmpeg files start near 0, where B-frame decode times are negative).
 */
export function demuxMkvFile(file: string, offsetMs = 0): DemuxedFragment[] {
  const { header, clusters } = splitMkv(fs.readFileSync(file));
  return clusters.map((c) => {
    const f = demuxFragment(header, c);
    return {
      ...f,
      startMs: f.startMs + offsetMs,
      samples: f.samples.map((s) => ({ ...s, ptsMs: s.ptsMs + offsetMs, dtsMs: s.dtsMs + offsetMs })),
    };
  });
}

/** Epoch-like producer time (2023-11-14), large enough to need 64-bit tfdt and 33-bit wraps. */
export const EPOCH_OFFSET_MS = 1_700_000_000_000;

let dir: string | undefined;
export function tempDir(): string {
  if (!dir) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-playback-'));
    const created = dir;
    process.once('exit', () => fs.rmSync(created, { recursive: true, force: true }));
  }
  return dir;
}

export function writeTemp(name: string, data: Buffer): string {
  const file = path.join(tempDir(), name);
  fs.writeFileSync(file, data);
  return file;
}

export interface EncodeOptions {
  codec: 'h264' | 'h265';
  seconds: number;
  size?: string;
  fps?: number;
  /** Frames per GOP (one cluster each): default fps. */
  gop?: number;
  bframes?: number;
  /** x264 profile and level: 'high' also uses preset veryfast (ultrafast never needs High tools). */
  profile?: 'high' | 'main' | 'baseline';
  level?: string;
  audio?: boolean;
  /** Encode only this many frames (overrides seconds). */
  frames?: number;
  /** x264 MBAFF interlacing: an SPS with frame_mbs_only_flag 0. */
  interlaced?: boolean;
}

const made = new Map<string, Promise<string>>();

/** MKV with one cluster per GOP (fixed GOPs, x264/x265 from Debian's ffmpeg). */
export function encodeMkv(o: EncodeOptions): Promise<string> {
  const key = JSON.stringify(o);
  let file = made.get(key);
  if (!file) {
    const out = path.join(tempDir(), `enc-${made.size}.mkv`);
    const fps = o.fps ?? 25;
    const gop = o.gop ?? fps;
    const args = ['-y', '-f', 'lavfi', '-i', `testsrc2=size=${o.size ?? '320x240'}:rate=${fps}`];
    if (o.audio) args.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100');
    if (o.frames !== undefined) args.push('-frames:v', String(o.frames));
    else args.push('-t', String(o.seconds));
    if (o.codec === 'h264') {
      const preset = o.profile === 'high' ? 'veryfast' : 'ultrafast';
      args.push('-c:v', 'libx264', '-preset', preset, '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0');
      if (o.profile) args.push('-profile:v', o.profile);
      if (o.level) args.push('-level', o.level);
      if (o.interlaced) args.push('-x264-params', 'interlaced=1');
    } else {
      const params = `keyint=${gop}:min-keyint=${gop}:scenecut=0:log-level=error${o.bframes !== undefined ? `:bframes=${o.bframes}` : ''}`;
      args.push('-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', params);
    }
    args.push('-pix_fmt', 'yuv420p');
    if (o.bframes !== undefined && o.codec === 'h264') args.push('-bf', String(o.bframes));
    if (o.audio) args.push('-c:a', 'aac', '-b:a', '64k', '-shortest');
    args.push('-f', 'matroska', out);
    file = runFfmpeg(args).then(() => out);
    made.set(key, file);
  }
  return file;
}

export interface ProbedStream {
  codec_type: string;
  codec_name: string;
  codec_tag_string?: string;
  profile?: string;
  level?: number;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
}

export async function probeStreams(file: string): Promise<ProbedStream[]> {
  const out = await runFfprobeJson(['-show_entries', 'stream=codec_type,codec_name,codec_tag_string,profile,level,width,height,sample_rate,channels', file]);
  return (out.streams ?? []) as ProbedStream[];
}

/** Presentation times (s) of one stream's packets, sorted. */
export async function packetPts(file: string, stream: 'v:0' | 'a:0'): Promise<number[]> {
  const out = await runFfprobeJson(['-select_streams', stream, '-show_entries', 'packet=pts_time', file]);
  return ((out.packets ?? []) as Array<{ pts_time?: string }>).map((p) => Number(p.pts_time)).sort((a, b) => a - b);
}

/** What `ffmpeg -v <level> -i file -f null -` prints (empty when the file decodes cleanly). */
export async function decodeMessages(file: string, logLevel: 'error' | 'warning' = 'error'): Promise<string[]> {
  const lines: string[] = [];
  await runFfmpeg(['-i', file, '-f', 'null', '-'], { logLevel, onStderrLine: (l) => lines.push(l) });
  return lines.filter((l) => l.trim() !== '');
}

/** Video packet presentation times in 90 kHz ticks, sorted. */
export async function videoPtsTicks(file: string): Promise<number[]> {
  return (await packetPts(file, 'v:0')).map((s) => Math.round(s * 90000));
}

/** The `codecs` attributes ffmpeg's own DASH muxer writes for a file (an independent reference). */
export async function ffmpegDashCodecs(file: string): Promise<string[]> {
  const out = fs.mkdtempSync(path.join(tempDir(), 'dash-'));
  await runFfmpeg(['-i', file, '-c', 'copy', '-f', 'dash', path.join(out, 'out.mpd')]);
  const mpd = fs.readFileSync(path.join(out, 'out.mpd'), 'utf8');
  return [...mpd.matchAll(/codecs="([^"]+)"/g)].map((m) => m[1]!);
}
