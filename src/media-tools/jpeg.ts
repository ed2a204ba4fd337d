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
  const proc = spawnFfmpeg(encodeJpegArgs(width, height, o), { stdin: 'pipe', stdout: 'pipe' });
  const chunks: Buffer[] = [];
  proc.stdout?.on('data', (c: Buffer) => chunks.push(c));
  const stdoutDone = new Promise<void>((resolve) => {
    if (!proc.stdout) return resolve();
    proc.stdout.once('close', () => resolve());
    proc.stdout.once('error', () => resolve());
  });
  proc.stdin?.end(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength));
  const exit = await proc.exited;
  await stdoutDone;
  if (exit.code !== 0) throw new Error(describeFailure(exit, proc.stderrTail()));
  const out = Buffer.concat(chunks);
  if (out.length < 4 || out[0] !== 0xff || out[1] !== 0xd8) throw new Error('ffmpeg produced no JPEG');
  return out;
}
