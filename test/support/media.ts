/**
 * Test media made with ffmpeg lavfi (never downloaded). Each distinct request is generated once per
 * test process into a temp dir that is removed on exit; sizes are small so CI stays fast.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runFfmpeg } from '../../src/media-tools/ffmpeg.ts';

export interface TestMediaOptions {
  seconds: number;
  /** Frames per second (default 25). */
  fps?: number;
  /** Keyframe interval in frames (default = fps, i.e. a 1 s GOP); each GOP becomes one fragment. */
  gop?: number;
  /** Adds an AAC sine track. */
  audio?: boolean;
  /** B-frames; 0 gives a camera-like stream that ffmpeg can pull over RTSP (default: x264's choice). */
  bframes?: number;
  /** WxH, default 320x240. */
  size?: string;
  /** Incompressible: per-frame noise, lossless (about 9 MB a second at 640x360): for filling socket buffers. */
  noise?: boolean;
}

let dir: string | undefined;
const cache = new Map<string, Promise<string>>();

function mediaDir(): string {
  if (!dir) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-media-'));
    const created = dir;
    process.once('exit', () => fs.rmSync(created, { recursive: true, force: true }));
  }
  return dir;
}

function encodeArgs(o: TestMediaOptions): string[] {
  const fps = o.fps ?? 25;
  const gop = o.gop ?? fps;
  const args = ['-f', 'lavfi', '-i', `testsrc2=size=${o.size ?? '320x240'}:rate=${fps}${o.noise ? ',noise=alls=60:allf=t+u' : ''}`];
  if (o.audio) args.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100');
  args.push(
    '-t', String(o.seconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    // Fixed GOPs (no scene-cut keyframes) so fragment counts are predictable.
    '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0',
  );
  if (o.noise) args.push('-qp', '0');
  if (o.bframes !== undefined) args.push('-bf', String(o.bframes));
  if (o.bframes === 0) args.push('-profile:v', 'main');
  if (o.audio) args.push('-c:a', 'aac', '-b:a', '64k', '-shortest');
  return args;
}

async function generate(kind: string, ext: string, o: TestMediaOptions, outputArgs: string[]): Promise<string> {
  const key = JSON.stringify({ kind, ...o });
  let file = cache.get(key);
  if (!file) {
    const out = path.join(mediaDir(), `${kind}-${cache.size}.${ext}`);
    file = runFfmpeg(['-y', ...encodeArgs(o), ...outputArgs, out]).then(() => out);
    cache.set(key, file);
    file.catch(() => cache.delete(key));
  }
  return file;
}

/** H.264 (+ optional AAC) in Matroska. */
export function makeH264Mkv(o: TestMediaOptions): Promise<string> {
  return generate('h264', 'mkv', o, ['-f', 'matroska']);
}

/** Plain MP4 (moov at the end, as ffmpeg writes by default): needs a seekable input. */
export function makeMp4(o: TestMediaOptions): Promise<string> {
  return generate('plain', 'mp4', o, ['-f', 'mp4']);
}

/** Fragmented MP4, one moof/mdat per GOP: streamable, works from stdin. */
export function makeFragmentedMp4(o: TestMediaOptions): Promise<string> {
  return generate('frag', 'mp4', o, ['-movflags', 'frag_keyframe+empty_moov+default_base_moof', '-f', 'mp4']);
}
