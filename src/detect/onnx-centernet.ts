/**
 * The bundled person detector: CenterNet (MobileNetV3, COCO-80) converted from TF.js to models/centernet.onnx.
 *
 * Contract (models/README.md): input `tower_0/images` float32 NHWC [1,512,512,3], RGB 0..255, stretched (no
 * letterbox); output `tower_0/detections` [1,100,6] rows of x1,y1,x2,y2 (512-px input space), score, class.
 * Post-processing here: class filter (default person = 0), score ≥ threshold (default 0.5), greedy NMS IoU 0.5.
 *
 * The onnxruntime session lives on a worker thread (`onnx-centernet.worker.js`): onnxruntime-node runs
 * `session.run` synchronously on its calling thread, which would block the event loop (ingest, reads,
 * the ffmpeg decoders' pipes) for the whole inference. Calls are served one at a time, in order.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
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

/** onnxruntime session options of the detector (benchmarks use the same for their bare baseline). */
export function centerNetSessionOptions(threads = 2): { intraOpNumThreads: number; graphOptimizationLevel: 'all'; extra: Record<string, unknown> } {
  // No spinning between ops: the decoders, ingest and the event loop share these cores, and spinning
  // onnxruntime threads take CPU from them while they wait.
  return { intraOpNumThreads: threads, graphOptimizationLevel: 'all', extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } };
}

interface Reply {
  id: number;
  rows?: Float32Array;
  ms?: number;
  error?: string;
}

export class CenterNetDetector implements Detector {
  readonly inputSize = { width: SIZE, height: SIZE };
  /** Duration of the last session.run in ms (for metrics/benchmarks). */
  lastInferenceMs = 0;
  private nextId = 1;
  private readonly calls = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    private readonly classIds: ReadonlySet<number>,
    private readonly scoreThreshold: number,
    private readonly iouThreshold: number,
  ) {
    worker.on('message', (m: Reply) => {
      const call = this.calls.get(m.id);
      this.calls.delete(m.id);
      if (this.calls.size === 0) worker.unref();
      if (m.error !== undefined) call?.reject(new Error(m.error));
      else call?.resolve(m);
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', () => this.failAll(new Error('CenterNet inference thread exited')));
  }

  static async create(opts: CenterNetOptions = {}): Promise<CenterNetDetector> {
    const worker = new Worker(new URL('./onnx-centernet.worker.js', import.meta.url), {
      workerData: { modelPath: opts.modelPath ?? DEFAULT_CENTERNET_PATH, sessionOptions: centerNetSessionOptions(opts.threads), size: SIZE },
    });
    type Ready = { ready: boolean; error?: string; inputNames?: string[]; outputNames?: string[] };
    let onMessage!: (m: Ready) => void;
    let onError!: (e: Error) => void;
    let onExit!: (code: number) => void;
    const ready = await new Promise<Ready>((resolve, reject) => {
      onMessage = resolve;
      onError = reject;
      onExit = (code) => reject(new Error(`CenterNet inference thread exited (${code}) while loading`));
      worker.once('message', onMessage).once('error', onError).once('exit', onExit);
    }).finally(() => {
      // (Not removeAllListeners: Worker keeps internal listeners of its own.)
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    });
    if (!ready.ready || !ready.inputNames?.includes('tower_0/images') || !ready.outputNames?.includes('tower_0/detections')) {
      await worker.terminate();
      throw new Error(ready.error ?? `not a CenterNet model (inputs ${ready.inputNames?.join(',')}; outputs ${ready.outputNames?.join(',')})`);
    }
    worker.unref();
    return new CenterNetDetector(worker, new Set(opts.classIds ?? [0]), opts.scoreThreshold ?? 0.5, opts.iouThreshold ?? 0.5);
  }

  async detect(frame: RgbFrame): Promise<Detection[]> {
    checkFrame(frame);
    const resized = resizeRgb(frame, SIZE, SIZE);
    // The pixels go to the inference thread by transfer: a copy of the caller's frame (it keeps its own), 0.8 MB.
    const rgb = resized === frame.rgb ? frame.rgb.slice() : resized;
    const reply = await this.call({ op: 'run', rgb }, [rgb.buffer as ArrayBuffer]);
    this.lastInferenceMs = reply.ms ?? 0;
    const rows = reply.rows!;
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
    if (this.closed) return;
    try {
      await this.call({ op: 'close' }, []);
    } finally {
      this.closed = true;
      await this.worker.terminate();
    }
  }

  private call(msg: Record<string, unknown>, transfer: ArrayBuffer[]): Promise<Reply> {
    if (this.closed) return Promise.reject(new Error('CenterNet detector is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.calls.size === 0) this.worker.ref();
      this.calls.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  private failAll(err: Error): void {
    for (const c of this.calls.values()) c.reject(err);
    this.calls.clear();
  }
}
