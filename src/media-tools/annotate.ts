/**
 * Draws detection boxes (and labels, when a font is available) on a frame with ffmpeg's drawbox /
 * drawtext, producing the "annotated" snapshot. The clean snapshot is the frame itself.
 */
import { existsSync } from 'node:fs';
import { runJpegFfmpeg, splitJpegs } from './jpeg.ts';

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

/** The -vf filter chain (pure). Empty boxes → `null` filter (re-encode only). `enable`: timeline expression for each filter. */
export function buildAnnotateFilter(boxes: readonly AnnotationBox[], fontFile: string | undefined, thickness = 3, enable?: string): string {
  const parts: string[] = [];
  for (const b of boxes) {
    const color = /^[#a-zA-Z0-9@.]+$/.test(b.color ?? '') ? (b.color as string) : 'red';
    const [x, y, w, h] = [b.x, b.y, b.width, b.height].map((n) => Math.max(0, Math.round(n)));
    const en = enable ? `:enable=${enable}` : '';
    parts.push(`drawbox=x=${x}:y=${y}:w=${w}:h=${h}:color=${color}:t=${thickness}${en}`);
    const label = b.label ? sanitizeLabel(b.label) : '';
    if (fontFile && label) {
      const ty = Math.max(0, (y ?? 0) - 22);
      parts.push(
        `drawtext=fontfile='${fontFile}':text='${label}':x=${x}:y=${ty}:fontsize=18:fontcolor=white:box=1:boxcolor=${color}@0.7:boxborderw=3${en}`,
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
  return runJpegFfmpeg(buildAnnotateArgs(input, filter, opts.quality), input.data);
}

export interface SnapshotPairOptions extends AnnotateOptions {
  /** Output size (the frame is scaled first); default the input size. */
  outWidth?: number;
  outHeight?: number;
}

/**
 * ffmpeg arguments for the clean and the annotated JPEG of one raw frame in one run (pure): the scaled
 * frame is looped once (`loop`), the boxes are drawn on the second copy only (`enable=n`), and both
 * JPEGs come out one after the other on pipe:1. Boxes are in output pixels.
 */
export function buildSnapshotPairArgs(input: Extract<AnnotateInput, { kind: 'raw' }>, boxes: readonly AnnotationBox[], o: SnapshotPairOptions = {}): string[] {
  const w = o.outWidth && o.outWidth > 0 ? Math.round(o.outWidth) : input.width;
  const h = o.outHeight && o.outHeight > 0 ? Math.round(o.outHeight) : input.height;
  const scale = w === input.width && h === input.height ? '' : `scale=${w}:${h},`;
  const draw = buildAnnotateFilter(boxes, o.fontFile === false ? undefined : findFont(o.fontFile), o.thickness, 'n');
  return [
    '-f', 'rawvideo', '-pix_fmt', input.pixFmt ?? 'rgb24', '-s', `${input.width}x${input.height}`, '-i', 'pipe:0',
    '-vf', `${scale}loop=loop=1:size=1:start=0,${draw}`, '-fps_mode', 'passthrough', '-frames:v', '2',
    '-q:v', String(o.quality ?? 3), '-pix_fmt', 'yuvj420p', '-f', 'image2pipe', '-c:v', 'mjpeg', 'pipe:1',
  ];
}

/** Clean + annotated JPEG of one raw frame with one ffmpeg process (instead of encode, then annotate). */
export async function encodeSnapshotPair(input: Extract<AnnotateInput, { kind: 'raw' }>, boxes: readonly AnnotationBox[], o: SnapshotPairOptions = {}): Promise<{ clean: Buffer; annotated: Buffer }> {
  const expected = input.width * input.height * 3;
  if ((input.pixFmt ?? 'rgb24') === 'rgb24' && input.data.length !== expected) throw new Error(`encodeSnapshotPair: expected ${expected} bytes, got ${input.data.length}`);
  const jpegs = splitJpegs(await runJpegFfmpeg(buildSnapshotPairArgs(input, boxes, o), input.data));
  if (jpegs.length !== 2) throw new Error(`ffmpeg produced ${jpegs.length} JPEGs, expected 2`);
  return { clean: jpegs[0]!, annotated: jpegs[1]! };
}

/** Convenience for the common case: JPEG in, annotated JPEG out. */
export function annotateJpeg(jpeg: Buffer, boxes: readonly AnnotationBox[], opts?: AnnotateOptions): Promise<Buffer> {
  return annotateFrame({ kind: 'jpeg', data: jpeg }, boxes, opts);
}
