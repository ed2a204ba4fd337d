/** Raw rgb24 frame → JPEG with ffmpeg (optionally rescaled, e.g. back to the source size). */
import { describeFailure, spawnFfmpeg } from './ffmpeg.ts';

export interface EncodeJpegOptions {
  /** Output size; default the input size. */
  outWidth?: number;
  outHeight?: number;
  /** ffmpeg -q:v (2 best .. 31 worst), default 3. */
  quality?: number;
}

/** ffmpeg arguments: rgb24 on pipe:0, one JPEG on pipe:1 (pure). */
export function encodeJpegArgs(width: number, height: number, o: EncodeJpegOptions = {}): string[] {
  const w = o.outWidth && o.outWidth > 0 ? Math.round(o.outWidth) : width;
  const h = o.outHeight && o.outHeight > 0 ? Math.round(o.outHeight) : height;
  const vf = w === width && h === height ? 'null' : `scale=${w}:${h}`;
  return [
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-i', 'pipe:0',
    '-vf', vf, '-frames:v', '1', '-q:v', String(o.quality ?? 3), '-pix_fmt', 'yuvj420p', '-f', 'image2pipe', '-c:v', 'mjpeg', 'pipe:1',
  ];
}

export async function encodeJpeg(rgb: Uint8Array, width: number, height: number, o: EncodeJpegOptions = {}): Promise<Buffer> {
  if (rgb.length !== width * height * 3) throw new Error(`encodeJpeg: expected ${width * height * 3} bytes, got ${rgb.length}`);
  return runJpegFfmpeg(encodeJpegArgs(width, height, o), Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength));
}

/** Runs ffmpeg with `data` on stdin and returns its stdout, which must start with a JPEG. */
export async function runJpegFfmpeg(args: string[], data: Buffer, timeoutMs = 30_000): Promise<Buffer> {
  const proc = spawnFfmpeg(args, { stdin: 'pipe', stdout: 'pipe', timeoutMs });
  const chunks: Buffer[] = [];
  proc.stdout?.on('data', (c: Buffer) => chunks.push(c));
  const stdoutDone = new Promise<void>((resolve) => {
    if (!proc.stdout) return resolve();
    proc.stdout.once('close', () => resolve());
    proc.stdout.once('error', () => resolve());
  });
  proc.stdin?.end(data);
  const exit = await proc.exited;
  await stdoutDone;
  if (exit.code !== 0) throw new Error(describeFailure(exit, proc.stderrTail()));
  const out = Buffer.concat(chunks);
  if (out.length < 4 || out[0] !== 0xff || out[1] !== 0xd8) throw new Error('ffmpeg produced no JPEG');
  return out;
}

/**
 * Splits concatenated JPEGs (ffmpeg image2pipe with several frames) by walking the markers: segment
 * lengths up to SOS, then the entropy-coded data up to a marker that is not a stuffed byte or RSTn.
 */
export function splitJpegs(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  while (start + 4 <= buf.length && buf[start] === 0xff && buf[start + 1] === 0xd8) {
    let i = start + 2;
    let end = -1;
    while (i + 1 < buf.length && end < 0) {
      if (buf[i] !== 0xff) throw new Error(`splitJpegs: no marker at ${i}`);
      const m = buf[i + 1]!;
      if (m === 0xff) { i++; continue; } // fill byte
      if (m === 0xd9) { end = i + 2; break; }
      if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) { i += 2; continue; }
      if (i + 3 >= buf.length) break;
      i += 2 + buf.readUInt16BE(i + 2);
      if (m !== 0xda) continue;
      // Entropy-coded data: FF 00 is a stuffed byte, FF D0..D7 a restart marker.
      while (i + 1 < buf.length && !(buf[i] === 0xff && buf[i + 1] !== 0x00 && !(buf[i + 1]! >= 0xd0 && buf[i + 1]! <= 0xd7))) i++;
    }
    if (end < 0) throw new Error('splitJpegs: truncated JPEG');
    out.push(buf.subarray(start, end));
    start = end;
  }
  if (start !== buf.length) throw new Error(`splitJpegs: ${buf.length - start} bytes after the last JPEG`);
  return out;
}
