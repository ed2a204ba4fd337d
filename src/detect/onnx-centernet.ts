/**
 * The bundled person detector: CenterNet (MobileNetV3, COCO-80) converted from TF.js to models/centernet.onnx.
 *
 * Contract (models/README.md): input `tower_0/images` float32 NHWC [1,512,512,3], RGB 0..255, stretched (no
 * letterbox); output `tower_0/detections` [1,100,6] rows of x1,y1,x2,y2 (512-px input space), score, class.
 * Post-processing here: class filter (default person = 0), score ≥ threshold (default 0.5), greedy NMS IoU 0.5.
 */
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { COCO_LABELS, checkFrame, clampBox, labelFor, resizeRgb } from './detector.ts';
import type { Detection, Detector, RgbFrame } from './detector.ts';
import { nms } from './nms.ts';

export const DEFAULT_CENTERNET_PATH = fileURLToPath(new URL('../../models/centernet.onnx', import.meta.url));

export interface CenterNetOptions {
  modelPath?: string;
  /** COCO class ids to report; default [0] (person). */
  classIds?: readonly number[];
  /** Minimum score; default 0.5 (0.4 separates people/no-people on the fixtures, 0.5 has no false positives there). */
  scoreThreshold?: number;
  /** NMS IoU threshold; default 0.5. */
  iouThreshold?: number;
  /** onnxruntime intra-op threads; default 2. */
  threads?: number;
}

const SIZE = 512;

export class CenterNetDetector implements Detector {
  readonly inputSize = { width: SIZE, height: SIZE };
  /** Duration of the last session.run in ms (for metrics/benchmarks). */
  lastInferenceMs = 0;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly classIds: ReadonlySet<number>,
    private readonly scoreThreshold: number,
    private readonly iouThreshold: number,
  ) {}

  static async create(opts: CenterNetOptions = {}): Promise<CenterNetDetector> {
    const session = await ort.InferenceSession.create(opts.modelPath ?? DEFAULT_CENTERNET_PATH, {
      intraOpNumThreads: opts.threads ?? 2,
      graphOptimizationLevel: 'all',
    });
    if (!session.inputNames.includes('tower_0/images') || !session.outputNames.includes('tower_0/detections')) {
      await session.release();
      throw new Error(`not a CenterNet model (inputs ${session.inputNames.join(',')}; outputs ${session.outputNames.join(',')})`);
    }
    return new CenterNetDetector(session, new Set(opts.classIds ?? [0]), opts.scoreThreshold ?? 0.5, opts.iouThreshold ?? 0.5);
  }

  async detect(frame: RgbFrame): Promise<Detection[]> {
    checkFrame(frame);
    const rgb = resizeRgb(frame, SIZE, SIZE);
    const input = new ort.Tensor('float32', Float32Array.from(rgb), [1, SIZE, SIZE, 3]);
    const t0 = performance.now();
    const out = await this.session.run({ 'tower_0/images': input });
    this.lastInferenceMs = performance.now() - t0;
    const det = out['tower_0/detections'];
    if (!det) throw new Error('CenterNet returned no tower_0/detections');
    const rows = det.data as Float32Array;
    const sx = frame.width / SIZE;
    const sy = frame.height / SIZE;
    const found: Detection[] = [];
    for (let r = 0; r + 6 <= rows.length; r += 6) {
      const score = rows[r + 4] as number;
      const classId = Math.round(rows[r + 5] as number);
      if (score < this.scoreThreshold || !this.classIds.has(classId)) continue;
      const box = clampBox([(rows[r] as number) * sx, (rows[r + 1] as number) * sy, (rows[r + 2] as number) * sx, (rows[r + 3] as number) * sy], frame.width, frame.height);
      found.push({ box, score, classId, label: labelFor(COCO_LABELS, classId) });
    }
    return nms(found, { iouThreshold: this.iouThreshold });
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
