/**
 * A user-supplied YOLO-family ONNX detector.
 *
 * - Input: the first model input, float32 NCHW [1,3,H,W], RGB scaled to 0..1. H and W are read from the model's
 *   input metadata (`options.inputSize` only when the model declares them symbolically).
 * - Resize: `letterbox` (default; what Ultralytics models are trained with: keep aspect ratio, pad with grey 114,
 *   centred) or `stretch` (scale each axis independently; use for models exported/trained that way).
 * - Output (first model output), layout detected from the shape or forced with `options.layout`:
 *   - YOLOv5-style [1, N, 5+C]: cx, cy, w, h, objectness, C class scores → score = obj · max class score;
 *   - YOLOv8-style [1, 4+C, N]: cx, cy, w, h, C class scores (no objectness) → score = max class score.
 *   Boxes are in input pixels; they are mapped back to source-frame pixels. The layout with more rows than
 *   attributes per row wins in `auto` (N anchors ≫ 5+C in real exports).
 * - Post-processing: keep classes in `classIds` (default [0]), score ≥ `scoreThreshold` (default 0.5), greedy NMS.
 *
 * Only `session.run` leaves the main thread (`OnnxSessionThread`, onnx-thread.ts): it is synchronous on its
 * calling thread and would block the event loop for the whole inference. Pre- and post-processing stay here.
 */
import { COCO_LABELS, checkFrame, clampBox, labelFor, resizeRgb } from './detector.ts';
import type { Detection, Detector, RgbFrame } from './detector.ts';
import { nms } from './nms.ts';
import { detectorSessionOptions, OnnxSessionThread } from './onnx-thread.ts';

export type YoloLayout = 'yolov5' | 'yolov8';

export interface YoloOptions {
  modelPath: string;
  /** Classes to report; default [0]. */
  classIds?: readonly number[];
  /** Class names by id; default COCO-80. */
  labels?: readonly string[];
  scoreThreshold?: number;
  iouThreshold?: number;
  resize?: 'letterbox' | 'stretch';
  layout?: YoloLayout | 'auto';
  /** Used only when the model's input H/W are symbolic. Default 640×640. */
  inputSize?: { width: number; height: number };
  threads?: number;
}

/** Letterbox/stretch geometry: input = source · scale + pad. */
export interface Geometry {
  scaleX: number;
  scaleY: number;
  padX: number;
  padY: number;
  /** Size of the resized image inside the input (before padding). */
  innerW: number;
  innerH: number;
}

export function geometry(srcW: number, srcH: number, inW: number, inH: number, mode: 'letterbox' | 'stretch'): Geometry {
  if (mode === 'stretch') return { scaleX: inW / srcW, scaleY: inH / srcH, padX: 0, padY: 0, innerW: inW, innerH: inH };
  const s = Math.min(inW / srcW, inH / srcH);
  const innerW = Math.round(srcW * s);
  const innerH = Math.round(srcH * s);
  return { scaleX: s, scaleY: s, padX: Math.floor((inW - innerW) / 2), padY: Math.floor((inH - innerH) / 2), innerW, innerH };
}

/** rgb24 HWC frame → float32 NCHW 0..1 tensor data at inW×inH. */
export function toNchw(frame: RgbFrame, inW: number, inH: number, g: Geometry): Float32Array {
  const inner = resizeRgb(frame, g.innerW, g.innerH);
  const plane = inW * inH;
  const out = new Float32Array(3 * plane).fill(114 / 255);
  for (let y = 0; y < g.innerH; y++)
    for (let x = 0; x < g.innerW; x++) {
      const s = (y * g.innerW + x) * 3;
      const d = (y + g.padY) * inW + (x + g.padX);
      out[d] = (inner[s] as number) / 255;
      out[plane + d] = (inner[s + 1] as number) / 255;
      out[2 * plane + d] = (inner[s + 2] as number) / 255;
    }
  return out;
}

export interface RawBox {
  box: [number, number, number, number];
  score: number;
  classId: number;
}

export function detectLayout(dims: readonly number[]): YoloLayout {
  if (dims.length !== 3 || dims[0] !== 1) throw new Error(`YOLO output must be [1, N, 5+C] or [1, 4+C, N], got [${dims.join(', ')}]`);
  return (dims[1] as number) >= (dims[2] as number) ? 'yolov5' : 'yolov8';
}

/** Decodes a YOLO output tensor into input-space boxes (no threshold on class, score ≥ minScore). */
export function decodeYolo(data: Float32Array, dims: readonly number[], layout: YoloLayout, minScore: number): RawBox[] {
  const [, a = 0, b = 0] = dims;
  const v5 = layout === 'yolov5';
  const n = v5 ? a : b;
  const attrs = v5 ? b : a;
  const classes = attrs - (v5 ? 5 : 4);
  if (classes < 1) throw new Error(`YOLO output [${dims.join(', ')}] has no class scores for layout ${layout}`);
  // v5: row-major [N][attrs]; v8: [attrs][N].
  const at = v5 ? (i: number, k: number): number => data[i * attrs + k] as number : (i: number, k: number): number => data[k * n + i] as number;
  const first = v5 ? 5 : 4;
  const out: RawBox[] = [];
  for (let i = 0; i < n; i++) {
    const obj = v5 ? at(i, 4) : 1;
    if (obj < minScore) continue;
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < classes; c++) {
      const s = at(i, first + c);
      if (s > bestScore) {
        bestScore = s;
        best = c;
      }
    }
    const score = obj * bestScore;
    if (score < minScore) continue;
    const cx = at(i, 0);
    const cy = at(i, 1);
    const w = at(i, 2);
    const h = at(i, 3);
    out.push({ box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], score, classId: best });
  }
  return out;
}

export class YoloDetector implements Detector {
  /** Duration of the last session.run in ms (for metrics/benchmarks). */
  lastInferenceMs = 0;
  /** `threadId` of the thread that ran the last session.run (0 before the first; never the caller's). */
  lastInferenceThreadId = 0;

  private constructor(
    private readonly session: OnnxSessionThread,
    readonly inputSize: { width: number; height: number },
    private readonly opts: YoloOptions,
    private readonly inputName: string,
    private readonly outputName: string,
  ) {}

  static async create(opts: YoloOptions): Promise<YoloDetector> {
    const session = await OnnxSessionThread.create(opts.modelPath, detectorSessionOptions(opts.threads ?? 2), 'YOLO');
    try {
      const meta = session.inputMetadata[0];
      const inputName = session.inputNames[0];
      const outputName = session.outputNames[0];
      if (!meta || !inputName || !outputName) throw new Error(`${opts.modelPath}: model has no inputs or outputs`);
      const shape = meta.isTensor ? (meta.shape ?? []) : [];
      if (shape.length !== 4) throw new Error(`${opts.modelPath}: input ${inputName} must be NCHW [1,3,H,W], got [${shape.join(', ')}]`);
      if (meta.type !== 'float32') throw new Error(`${opts.modelPath}: input ${inputName} must be float32, got ${meta.type ?? 'a non-tensor'}`);
      const h = shape[2];
      const w = shape[3];
      const inputSize = typeof h === 'number' && typeof w === 'number' && h > 0 && w > 0 ? { width: w, height: h } : (opts.inputSize ?? { width: 640, height: 640 });
      return new YoloDetector(session, inputSize, opts, inputName, outputName);
    } catch (err) {
      await session.close();
      throw err;
    }
  }

  async detect(frame: RgbFrame): Promise<Detection[]> {
    checkFrame(frame);
    const { width: inW, height: inH } = this.inputSize;
    const g = geometry(frame.width, frame.height, inW, inH, this.opts.resize ?? 'letterbox');
    // A fresh array per call, handed to the inference thread by transfer.
    const input = toNchw(frame, inW, inH, g);
    const { outputs, ms, threadId } = await this.session.run({ [this.inputName]: { type: 'float32', data: input, dims: [1, 3, inH, inW] } }, [this.outputName]);
    this.lastInferenceMs = ms;
    this.lastInferenceThreadId = threadId;
    const t = outputs[this.outputName];
    if (!t) throw new Error(`YOLO model returned no ${this.outputName}`);
    if (!(t.data instanceof Float32Array)) throw new Error(`YOLO output ${this.outputName} must be float32, got ${t.type}`);
    const dims = t.dims;
    const layout = !this.opts.layout || this.opts.layout === 'auto' ? detectLayout(dims) : this.opts.layout;
    const wanted = new Set(this.opts.classIds ?? [0]);
    const labels = this.opts.labels ?? COCO_LABELS;
    const raw = decodeYolo(t.data, dims, layout, this.opts.scoreThreshold ?? 0.5).filter((r) => wanted.has(r.classId));
    const dets: Detection[] = raw.map((r) => ({
      box: clampBox([(r.box[0] - g.padX) / g.scaleX, (r.box[1] - g.padY) / g.scaleY, (r.box[2] - g.padX) / g.scaleX, (r.box[3] - g.padY) / g.scaleY], frame.width, frame.height),
      score: r.score,
      classId: r.classId,
      label: labelFor(labels, r.classId),
    }));
    return nms(dets, { iouThreshold: this.opts.iouThreshold ?? 0.5 });
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}
