/**
 * An onnxruntime session on its own worker thread (`onnx-thread.worker.js`, plain JS).
 *
 * Why: onnxruntime-node's `session.run` only defers with `setImmediate` and then runs synchronously on
 * its calling thread, so on the main thread it blocks the event loop (ingest ACKs, HTTP reads, the ffmpeg
 * decoders' pipes) for the whole inference. Here the main thread only posts tensors and awaits replies.
 *
 * - Feeds go over by transfer (no copy): do not use a feed's array after `run()`.
 * - `asFloat32` feeds send uint8 data (4× less to move) for a float32 input; the worker widens them with
 *   one native `set()` into a tensor it allocates once per input name and shape.
 * - Calls are served one at a time in submission order; each reply goes to its own caller (by id), so
 *   several `run()`s may be outstanding at once.
 * - The worker is unref'd while idle (it never keeps the process alive) and ref'd while calls are
 *   outstanding; if it dies, every outstanding and later call rejects.
 */
import { Worker } from 'node:worker_threads';
import type { InferenceSession, Tensor } from 'onnxruntime-node';

/** Session options for detectors that share the machine's cores with decoders and the server. */
export function detectorSessionOptions(threads = 2): { intraOpNumThreads: number; graphOptimizationLevel: 'all'; extra: Record<string, unknown> } {
  // No spinning between ops: the decoders, ingest and the event loop share these cores, and spinning
  // onnxruntime threads take CPU from them while they wait.
  return { intraOpNumThreads: threads, graphOptimizationLevel: 'all', extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } };
}

/** Model input/output metadata as onnxruntime reports it (shape entries: number, or a symbolic name). */
export interface ValueMeta {
  name: string;
  isTensor: boolean;
  type?: Tensor.Type;
  shape?: (number | string)[];
}

export type Feed =
  | { type: Tensor.Type; data: Tensor.DataType; dims: readonly number[] }
  /** uint8 data for a float32 input, widened on the worker thread. */
  | { type: 'uint8'; data: Uint8Array; dims: readonly number[]; asFloat32: true };

export interface OutputTensor {
  type: Tensor.Type;
  data: Tensor.DataType;
  dims: number[];
}

export interface RunResult {
  outputs: Record<string, OutputTensor>;
  /** Duration of `session.run` on the worker, ms. */
  ms: number;
  /** `threadId` of the thread that ran the session (never the caller's). */
  threadId: number;
}

interface Ready {
  ready: boolean;
  error?: string;
  inputNames?: string[];
  outputNames?: string[];
  inputMetadata?: ValueMeta[];
  outputMetadata?: ValueMeta[];
}

interface Reply {
  id: number;
  outputs?: Record<string, OutputTensor>;
  ms?: number;
  threadId?: number;
  error?: string;
}

/** True when `a` is the whole of a plain ArrayBuffer, so transferring it detaches nothing else. */
const ownsBuffer = (a: ArrayBufferView): boolean => a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength;

export class OnnxSessionThread {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ValueMeta[];
  readonly outputMetadata: readonly ValueMeta[];
  /** The worker's `threadId`: where `session.run` executes. */
  readonly threadId: number;
  private nextId = 1;
  private readonly calls = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private closed = false;
  private failure: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    ready: Ready,
    private readonly label: string,
  ) {
    this.inputNames = ready.inputNames ?? [];
    this.outputNames = ready.outputNames ?? [];
    this.inputMetadata = ready.inputMetadata ?? [];
    this.outputMetadata = ready.outputMetadata ?? [];
    this.threadId = worker.threadId;
    worker.on('message', (m: Reply) => {
      const call = this.calls.get(m.id);
      this.calls.delete(m.id);
      if (this.calls.size === 0) worker.unref();
      if (m.error !== undefined) call?.reject(new Error(m.error));
      else call?.resolve(m);
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', () => this.failAll(new Error(`${label} inference thread exited`)));
  }

  /**
   * Loads `modelPath` on a new worker thread. `sessionOptions` must be structured-cloneable (plain data);
   * `label` names the model in errors.
   */
  static async create(modelPath: string, sessionOptions: InferenceSession.SessionOptions, label = 'onnxruntime'): Promise<OnnxSessionThread> {
    const worker = new Worker(new URL('./onnx-thread.worker.js', import.meta.url), { workerData: { modelPath, sessionOptions } });
    let onMessage!: (m: Ready) => void;
    let onError!: (e: Error) => void;
    let onExit!: (code: number) => void;
    const ready = await new Promise<Ready>((resolve, reject) => {
      onMessage = resolve;
      onError = reject;
      onExit = (code) => reject(new Error(`${label} inference thread exited (${code}) while loading`));
      worker.once('message', onMessage).once('error', onError).once('exit', onExit);
    }).finally(() => {
      // (Not removeAllListeners: Worker keeps internal listeners of its own.)
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    });
    if (!ready.ready) {
      await worker.terminate();
      throw new Error(`${modelPath}: ${ready.error ?? 'onnxruntime session not created'}`);
    }
    worker.unref();
    return new OnnxSessionThread(worker, ready, label);
  }

  /** Runs the session on the worker; `fetches` limits the outputs computed and sent back (default all). */
  async run(feeds: Readonly<Record<string, Feed>>, fetches?: readonly string[]): Promise<RunResult> {
    const msg: Record<string, unknown> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, f] of Object.entries(feeds)) {
      let data = f.data;
      if (ArrayBuffer.isView(data)) {
        // A Buffer's slice() is a view, not a copy: treat it as a plain Uint8Array.
        if (Buffer.isBuffer(data)) data = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        // A view into a larger (or shared) buffer is copied: transferring would detach the rest of it.
        if (!ownsBuffer(data)) data = data.slice();
        transfer.push(data.buffer as ArrayBuffer);
      }
      msg[name] = { type: f.type, data, dims: [...f.dims], asFloat32: 'asFloat32' in f && f.asFloat32 };
    }
    const reply = await this.call({ op: 'run', feeds: msg, ...(fetches ? { fetches: [...fetches] } : {}) }, transfer);
    return { outputs: reply.outputs ?? {}, ms: reply.ms ?? 0, threadId: reply.threadId ?? this.threadId };
  }

  /** Releases the session (after the calls already submitted) and ends the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.failure) await this.call({ op: 'close' }, []);
    } finally {
      this.closed = true;
      await this.worker.terminate();
    }
  }

  private call(msg: Record<string, unknown>, transfer: ArrayBuffer[]): Promise<Reply> {
    if (this.closed) return Promise.reject(new Error(`${this.label} session is closed`));
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.calls.size === 0) this.worker.ref();
      this.calls.set(id, { resolve, reject });
      try {
        this.worker.postMessage({ ...msg, id }, transfer);
      } catch (err) {
        // Not cloneable (e.g. a bad feed): this call fails alone.
        this.calls.delete(id);
        if (this.calls.size === 0) this.worker.unref();
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  private failAll(err: Error): void {
    this.failure ??= err;
    for (const c of this.calls.values()) c.reject(err);
    this.calls.clear();
  }
}
