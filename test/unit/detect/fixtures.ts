/**
 * Detection test fixtures: a moving red square rendered with ffmpeg lavfi, split into per-GOP
 * fragments, and a fake detector that "detects a person" where the red pixels are.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MkvStreamParser } from '../../../src/mkv/index.ts';
import { remuxToMkvArgs, runFfmpeg, spawnFfmpeg } from '../../../src/media-tools/ffmpeg.ts';
import type { DetectionLike, DetectorLike, RgbFrame } from '../../../src/detect/types.ts';

export interface SquareVideo {
  /** Whole MKV as a producer would push it (one cluster per 1 s GOP). */
  mkv: Buffer;
  header: Buffer;
  clusters: Buffer[];
}

/**
 * `seconds` of 320x240 at 25 fps (1 s GOPs); a 40x40 red square moves right at 40 px/s while
 * `from <= t < to`, over a grey (colourless) testsrc2 background, so
 * the only red pixels are the square's. Keyframes must be > 4 KiB for the muxer to cut a cluster per GOP.
 */
export async function squareVideo(seconds: number, from: number, to: number): Promise<SquareVideo> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-detect-'));
  const file = path.join(dir, 'square.mkv');
  try {
    await runFfmpeg([
      '-y', '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=25:duration=${seconds}`,
      '-f', 'lavfi', '-i', 'color=c=red:size=40x40:rate=25',
      '-filter_complex', `[0]hue=s=0,eq=brightness=-0.3[bg];[bg][1]overlay=x='20+(t-${from})*40':y=120:shortest=1:enable='between(t,${from},${to - 0.001})'`,
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0',
      '-f', 'matroska', file,
    ]);
    const proc = spawnFfmpeg(remuxToMkvArgs(file), { stdout: 'pipe' });
    const chunks: Buffer[] = [];
    for await (const c of proc.stdout! as AsyncIterable<Buffer>) chunks.push(c);
    await proc.exited;
    const mkv = Buffer.concat(chunks);
    return { mkv, ...splitMkv(mkv) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function splitMkv(mkv: Buffer): { header: Buffer; clusters: Buffer[] } {
  const header: Buffer[] = [];
  const clusters: Buffer[][] = [];
  let cur: Buffer[] | undefined;
  for (const ev of new MkvStreamParser().push(mkv)) {
    if (ev.type === 'ebml-header' || ev.type === 'segment-start' || ev.type === 'info' || ev.type === 'tracks') header.push(ev.raw);
    else if (ev.type === 'cluster-start') clusters.push((cur = [ev.raw]));
    else if ((ev.type === 'cluster-timecode' || ev.type === 'block' || ev.type === 'cluster-child') && cur) cur.push(ev.raw);
  }
  return { header: Buffer.concat(header), clusters: clusters.map((c) => Buffer.concat(c)) };
}

/** Bounding box of clearly red pixels, or undefined. */
export function redBox(f: RgbFrame): [number, number, number, number] | undefined {
  let x1 = Infinity, y1 = Infinity, x2 = -1, y2 = -1;
  for (let y = 0; y < f.height; y++) {
    for (let x = 0; x < f.width; x++) {
      const i = (y * f.width + x) * 3;
      if (f.rgb[i]! > 150 && f.rgb[i + 1]! < 90 && f.rgb[i + 2]! < 90) {
        if (x < x1) x1 = x;
        if (y < y1) y1 = y;
        if (x > x2) x2 = x;
        if (y > y2) y2 = y;
      }
    }
  }
  return x2 < 0 ? undefined : [x1, y1, x2 + 1, y2 + 1];
}

/** A Detector that reports the red square as a person (score 0.9) and counts its calls. */
export class FakeDetector implements DetectorLike {
  calls = 0;
  constructor(readonly inputSize = { width: 160, height: 120 }) {}
  async detect(frame: RgbFrame): Promise<DetectionLike[]> {
    this.calls++;
    const box = redBox(frame);
    return box ? [{ box, score: 0.9, classId: 0, label: 'person' }] : [];
  }
}
