/**
 * DetectionWorker: one StreamPipeline per stream, fed from a FragmentSource, resuming each stream from
 * its saved checkpoint (continuation token + objects with open events), publishing lifecycle events to an EventSink. Entry point:
 * `startDetectionWorker(opts)`. The composition root (app.ts / CLI) wires source, detector and sink.
 */
import type { CheckpointStore } from './checkpoints.ts';
import { resolveDetectConfig, type DetectConfig } from './detect-config.ts';
import type { FragmentSource } from './fragment-source.ts';
import type { LifecycleEvent } from './lifecycle.ts';
import { StreamPipeline, type PipelineStats } from './stream-pipeline.ts';
import type { DetectorLike } from './types.ts';

export interface EventSink {
  publish(event: LifecycleEvent): Promise<void>;
}

export interface DetectionWorkerOptions {
  source: FragmentSource;
  /** One detector shared by all streams, or one per stream. */
  detector: DetectorLike | ((stream: string) => DetectorLike);
  sink: EventSink;
  checkpoints: CheckpointStore;
  /** Fixed stream names, or a discovery function polled every `discoveryIntervalMs` (e.g. listStreamsViaSdk). */
  streams: readonly string[] | (() => Promise<string[]>);
  discoveryIntervalMs?: number;
  /** Per-stream settings (validated; defaults from DEFAULT_DETECT_CONFIG). */
  config?: (stream: string) => Partial<DetectConfig> | undefined;
  onLog?: (line: string) => void;
  /** Delay before re-opening a stream whose source failed; default 1000 ms. */
  retryDelayMs?: number;
}

interface Running {
  abort: AbortController;
  pipeline?: StreamPipeline;
  done: Promise<void>;
  stats: PipelineStats[];
}

export class DetectionWorker {
  private readonly running = new Map<string, Running>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly opts: DetectionWorkerOptions) {}

  async start(): Promise<void> {
    await this.discover();
    if (typeof this.opts.streams === 'function') {
      this.timer = setInterval(() => void this.discover(), this.opts.discoveryIntervalMs ?? 30_000);
      this.timer.unref();
    }
  }

  /** Streams currently processed. */
  get streams(): string[] {
    return [...this.running.keys()];
  }

  /** Counters of the stream's current pipeline. */
  stats(stream: string): PipelineStats | undefined {
    const r = this.running.get(stream);
    return r?.pipeline?.stats;
  }

  /** Stops every stream at once; unfinished fragments are processed again after a restart. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    const all = [...this.running.values()];
    for (const r of all) r.abort.abort();
    await Promise.all(all.map(async (r) => {
      await r.pipeline?.close();
      await r.done;
    }));
    this.running.clear();
  }

  private async discover(): Promise<void> {
    let names: readonly string[];
    try {
      names = typeof this.opts.streams === 'function' ? await this.opts.streams() : this.opts.streams;
    } catch (err) {
      this.opts.onLog?.(`stream discovery failed: ${(err as Error).message}`);
      return;
    }
    if (this.stopped) return;
    for (const s of names) if (!this.running.has(s)) this.launch(s);
    for (const [s, r] of this.running) {
      if (names.includes(s)) continue;
      r.abort.abort();
      void r.pipeline?.close();
      this.running.delete(s);
    }
  }

  private launch(stream: string): void {
    let config: DetectConfig;
    try {
      config = resolveDetectConfig(this.opts.config?.(stream) ?? {});
    } catch (err) {
      this.opts.onLog?.(`${stream}: ${(err as Error).message}`);
      return;
    }
    if (!config.enabled) return;
    const r: Running = { abort: new AbortController(), done: Promise.resolve(), stats: [] };
    this.running.set(stream, r);
    r.done = this.run(stream, config, r);
  }

  private async run(stream: string, config: DetectConfig, r: Running): Promise<void> {
    const detector = typeof this.opts.detector === 'function' ? this.opts.detector(stream) : this.opts.detector;
    const signal = r.abort.signal;
    while (!signal.aborted) {
      let checkpoint;
      try {
        checkpoint = await this.opts.checkpoints.load(stream);
      } catch (err) {
        this.opts.onLog?.(`${stream}: cannot load checkpoint: ${(err as Error).message}`);
        await new Promise((res) => setTimeout(res, this.opts.retryDelayMs ?? 1000));
        continue;
      }
      const token = checkpoint?.token;
      const pipeline = new StreamPipeline({
        stream, detector, config,
        onEvent: (e) => this.opts.sink.publish(e),
        onFragmentDone: async (f, open) => {
          if (!signal.aborted) await this.opts.checkpoints.save(stream, { token: f.continuationToken, open });
        },
        restore: checkpoint?.open ?? [],
        ...(this.opts.onLog ? { onLog: this.opts.onLog } : {}),
      });
      r.pipeline = pipeline;
      try {
        for await (const f of this.opts.source.fragments(stream, token !== undefined ? { continuationToken: token } : {}, signal)) {
          if (signal.aborted) break;
          await pipeline.push(f);
        }
        if (!signal.aborted) await pipeline.flush();
      } catch (err) {
        if (!signal.aborted) this.opts.onLog?.(`${stream}: ${(err as Error).message}`);
      }
      await pipeline.close();
      if (!signal.aborted) await new Promise((res) => setTimeout(res, this.opts.retryDelayMs ?? 1000));
    }
  }
}

/** Creates and starts a DetectionWorker. */
export async function startDetectionWorker(opts: DetectionWorkerOptions): Promise<DetectionWorker> {
  const w = new DetectionWorker(opts);
  await w.start();
  return w;
}
