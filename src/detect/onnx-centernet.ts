/**
 * The bundled person detector: CenterNet (MobileNetV3, COCO-80) converted from TF.js to models/centernet.onnx.
 *
 * Contract (models/README.md): input `tower_0/images` float32 NHWC [1,512,512,3], RGB 0..255, stretched (no
 * letterbox); output `tower_0/detections` [1,100,6] rows of x1,y1,x2,y2 (512-px input space), score, class.
 * Post-processing here: class filter (default person = 0), score ≥ threshold (default 0.5), greedy NMS IoU 0.5.
 *
 * The onnxruntime session lives on a worker thread (`OnnxSessionThread`, onnx-thread.ts): onnxruntime-node
 * runs `session.run` synchronously on its calling thread, which would block the event loop (ingest, reads,
 * the ffmpeg decoders' pipes) for the whole inference. Calls are served one at a time, in order.
 */
import { fileURLToPath } from 'node:url';
import { COCO_LABELS, checkFrame, clampBox, labelFor, resizeRgb } from './detector.ts';
import type { Detection, Detector, RgbFrame } from './detector.ts';
import { nms } from './nms.ts';
import { detectorSessionOptions, OnnxSessionThread } from './onnx-thread.ts';

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

/** onnxruntime session options of the detector (benchmarks use the same for their bare baseline). */
export const centerNetSessionOptions = detectorSessionOptions;

const INPUT = 'tower_0/images';
const OUTPUT = 'tower_0/detections';

export class CenterNetDetector implements Detector {
  readonly inputSize = { width: SIZE, height: SIZE };
  /** Duration of the last session.run in ms (for metrics/benchmarks). */
  lastInferenceMs = 0;

  private constructor(
    private readonly session: OnnxSessionThread,
    private readonly classIds: ReadonlySet<number>,
    private readonly scoreThreshold: number,
    private readonly iouThreshold: number,
  ) {}

  static async create(opts: CenterNetOptions = {}): Promise<CenterNetDetector> {
    const session = await OnnxSessionThread.create(opts.modelPath ?? DEFAULT_CENTERNET_PATH, centerNetSessionOptions(opts.threads), 'CenterNet');
    if (!session.inputNames.includes(INPUT) || !session.outputNames.includes(OUTPUT)) {
      await session.close();
      throw new Error(`not a CenterNet model (inputs ${session.inputNames.join(',')}; outputs ${session.outputNames.join(',')})`);
    }
    return new CenterNetDetector(session, new Set(opts.classIds ?? [0]), opts.scoreThreshold ?? 0.5, opts.iouThreshold ?? 0.5);
  }

  /** `threadId` of the thread running the session (not the caller's). */
  get inferenceThreadId(): number {
    return this.session.threadId;
  }

  async detect(frame: RgbFrame): Promise<Detection[]> {
    checkFrame(frame);
    const resized = resizeRgb(frame, SIZE, SIZE);
    // The pixels go to the inference thread by transfer, as uint8 (0.8 MB; widened to float32 there):
    // a copy of the caller's frame, which it keeps (`new Uint8Array`, not slice(): a Buffer's slice is a view).
    const rgb = resized === frame.rgb ? new Uint8Array(frame.rgb) : resized;
    const { outputs, ms } = await this.session.run({ [INPUT]: { type: 'uint8', data: rgb, dims: [1, SIZE, SIZE, 3], asFloat32: true } }, [OUTPUT]);
    this.lastInferenceMs = ms;
    const rows = outputs[OUTPUT]?.data;
    if (!(rows instanceof Float32Array)) throw new Error(`CenterNet returned no float32 ${OUTPUT}`);
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
    await this.session.close();
  }
}
