/**
 * Still images from stored Matroska bytes (header + cluster on stdin): one ffmpeg run decodes
 * the fragment once and encodes only the frames asked for — toolchain.md §1.3 measured ~0.2 s
 * per spawn, so one process per image would be far slower.
 */
import { describeFailure, spawnFfmpeg } from './ffmpeg.ts';
import { splitImages, type ImageFormat } from './image-stream.ts';

export interface FrameExtraction {
  /** Matroska bytes: the stored header block, then the cluster. */
  input: readonly Buffer[];
  /**
   * Presentation times (ms, on the Matroska timeline) of frames of the first video track to
   * encode, ascending and unique. Each must be the exact time of a frame.
   */
  framePtsMs: readonly number[];
  format: ImageFormat;
  /** JPEG quality 1 (smallest) … 100 (best). */
  jpegQuality?: number;
  /** Output size. Both: stretched to it; one: the other follows the aspect ratio; none: source size. */
  width?: number;
  height?: number;
  /** The run is killed after this long (default 30 s). */
  timeoutMs?: number;
}

/**
 * Resolves with the encoded images in presentation order. A frame the decoder could not
 * produce is simply missing, so callers compare the count with what they asked for.
 */
export async function extractFrames(job: FrameExtraction): Promise<Buffer[]> {
  if (job.framePtsMs.length === 0) return [];
  const proc = spawnFfmpeg(frameExtractionArgs(job), { stdin: 'pipe', stdout: 'pipe' });
  const chunks: Buffer[] = [];
  proc.stdout?.on('data', (c: Buffer) => chunks.push(c));
  const stdoutDone = new Promise<void>((resolve) => {
    if (!proc.stdout) return resolve();
    proc.stdout.once('close', () => resolve());
  });
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), job.timeoutMs ?? 30_000);
  try {
    for (const part of job.input) proc.stdin?.write(part);
    proc.stdin?.end();
    const exit = await proc.exited;
    await stdoutDone;
    if (exit.code !== 0) throw new Error(describeFailure(exit, proc.stderrTail()));
  } finally {
    clearTimeout(timer);
  }
  return splitImages(job.format, Buffer.concat(chunks));
}

/** Exported for tests: the ffmpeg arguments for one extraction. */
export function frameExtractionArgs(job: FrameExtraction): string[] {
  // -copyts keeps the Matroska timestamps, so `t` in select is the stored pts; half a
  // millisecond of tolerance absorbs the float conversion.
  const wanted = job.framePtsMs.map((ms) => `lt(abs(t-${(ms / 1000).toFixed(6)}),0.0005)`).join('+');
  const filters = [`select='${wanted}'`];
  if (job.width !== undefined || job.height !== undefined) filters.push(`scale=${job.width ?? -1}:${job.height ?? -1}`);
  const codec =
    job.format === 'jpeg'
      ? ['-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-q:v', String(jpegQscale(job.jpegQuality ?? 80))]
      : ['-c:v', 'png', '-pix_fmt', 'rgb24'];
  return [
    '-copyts',
    '-f', 'matroska', '-i', 'pipe:0',
    '-map', '0:v:0',
    '-vf', filters.join(','),
    // One output image per selected frame: no duplication or dropping to a frame rate.
    '-fps_mode', 'passthrough',
    ...codec,
    '-f', 'image2pipe', 'pipe:1',
  ];
}

/** KVS quality 1..100 onto mjpeg's qscale 31 (worst) .. 2 (best). */
export function jpegQscale(quality: number): number {
  const q = Math.min(100, Math.max(1, quality));
  return Math.round(2 + ((100 - q) * 29) / 99);
}
