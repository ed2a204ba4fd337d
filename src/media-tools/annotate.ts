/**
 * Draws detection boxes (and labels, when a font is available) on a frame with ffmpeg's drawbox /
 * drawtext, producing the "annotated" snapshot. The clean snapshot is the frame itself.
 */
import { existsSync } from 'node:fs';
import { describeFailure, spawnFfmpeg } from './ffmpeg.ts';

export interface AnnotationBox {
  /** Source pixels. */
  x: number;
  y: number;
  width: number;
  height: number;
  label?: string;
  /** ffmpeg colour, default `red`. */
  color?: string;
}

/** A JPEG, or a raw frame with its geometry. */
export type AnnotateInput =
  | { kind: 'jpeg'; data: Buffer }
  | { kind: 'raw'; data: Buffer; width: number; height: number; pixFmt?: string };

export interface AnnotateOptions {
  /** TTF for labels; default $KESTREL_FONT, then DejaVuSans. No usable file, or `false` → boxes only. */
  fontFile?: string | false;
  /** Box line thickness in px, default 3. */
  thickness?: number;
  /** JPEG quality as ffmpeg -q:v (2 best .. 31 worst), default 3. */
  quality?: number;
}

export const DEFAULT_FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

/** The font to use, or undefined when none exists (then only boxes are drawn). */
export function findFont(preferred?: string): string | undefined {
  // Paths with filtergraph metacharacters are skipped rather than escaped.
  for (const f of [preferred, process.env.KESTREL_FONT, DEFAULT_FONT]) if (f && /^[\w./ -]+$/.test(f) && existsSync(f)) return f;
  return undefined;
}

/** Labels are reduced to characters that need no filtergraph/drawtext escaping. */
export function sanitizeLabel(label: string): string {
  return label.replace(/[^\w .#+-]/g, '').slice(0, 64);
}

/** The -vf filter chain (pure). Empty boxes → `null` filter (re-encode only). */
export function buildAnnotateFilter(boxes: readonly AnnotationBox[], fontFile: string | undefined, thickness = 3): string {
  const parts: string[] = [];
  for (const b of boxes) {
    const color = /^[#a-zA-Z0-9@.]+$/.test(b.color ?? '') ? (b.color as string) : 'red';
    const [x, y, w, h] = [b.x, b.y, b.width, b.height].map((n) => Math.max(0, Math.round(n)));
    parts.push(`drawbox=x=${x}:y=${y}:w=${w}:h=${h}:color=${color}:t=${thickness}`);
    const label = b.label ? sanitizeLabel(b.label) : '';
    if (fontFile && label) {
      const ty = Math.max(0, (y ?? 0) - 22);
      parts.push(
        `drawtext=fontfile='${fontFile}':text='${label}':x=${x}:y=${ty}:fontsize=18:fontcolor=white:box=1:boxcolor=${color}@0.7:boxborderw=3`,
      );
    }
  }
  return parts.length ? parts.join(',') : 'null';
}

/** ffmpeg arguments reading the input on pipe:0 and writing one JPEG to pipe:1 (pure). */
export function buildAnnotateArgs(input: AnnotateInput, filter: string, quality = 3): string[] {
  const inArgs =
    input.kind === 'jpeg'
      ? ['-f', 'image2pipe', '-c:v', 'mjpeg', '-i', 'pipe:0']
      : ['-f', 'rawvideo', '-pix_fmt', input.pixFmt ?? 'rgb24', '-s', `${input.width}x${input.height}`, '-i', 'pipe:0'];
  return [...inArgs, '-vf', filter, '-frames:v', '1', '-q:v', String(quality), '-pix_fmt', 'yuvj420p', '-f', 'image2pipe', '-c:v', 'mjpeg', 'pipe:1'];
}

/** Runs ffmpeg over one frame; resolves with the JPEG bytes. */
export async function annotateFrame(input: AnnotateInput, boxes: readonly AnnotationBox[], opts: AnnotateOptions = {}): Promise<Buffer> {
  const filter = buildAnnotateFilter(boxes, opts.fontFile === false ? undefined : findFont(opts.fontFile), opts.thickness);
  const proc = spawnFfmpeg(buildAnnotateArgs(input, filter, opts.quality), { stdin: 'pipe', stdout: 'pipe' });
  const chunks: Buffer[] = [];
  proc.stdout?.on('data', (c: Buffer) => chunks.push(c));
  const stdoutDone = new Promise<void>((resolve) => {
    if (!proc.stdout) return resolve();
    proc.stdout.once('close', () => resolve());
    proc.stdout.once('error', () => resolve());
  });
  proc.stdin?.end(input.data);
  const exit = await proc.exited;
  await stdoutDone;
  if (exit.code !== 0) throw new Error(describeFailure(exit, proc.stderrTail()));
  const out = Buffer.concat(chunks);
  if (out.length < 4 || out[0] !== 0xff || out[1] !== 0xd8) throw new Error('ffmpeg produced no JPEG');
  return out;
}

/** Convenience for the common case: JPEG in, annotated JPEG out. */
export function annotateJpeg(jpeg: Buffer, boxes: readonly AnnotationBox[], opts?: AnnotateOptions): Promise<Buffer> {
  return annotateFrame({ kind: 'jpeg', data: jpeg }, boxes, opts);
}
