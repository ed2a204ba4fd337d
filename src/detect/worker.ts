/**
 * DetectionWorker: one StreamPipeline per stream, fed from a FragmentSource, resuming each stream from
 * its saved checkpoint (continuation token + objects with open events), publishing lifecycle events to an EventSink. Entry point:
 * `startDetectionWorker(opts)`. The composition root (app.ts / CLI) wires source, detector and sink.
 *
 * Streams come from a discovery function, polled (a safety net) and re-run at once by `refresh()` (the
 * in-process server calls it when an unknown stream publishes its first fragment). A stream's config is
 * resolved when its pipeline (re)starts; `reconfigure(stream)` (API change) and the optional periodic
 * `configRefreshMs` restart only the streams whose effective config changed, from their checkpoint.
 * When a stream goes silent the pipeline flushes its decoder (`idleFlushMs`) and, `endAfterMs` later,
 * ends the objects still open (`StreamPipeline.endIdle`), so an `end` is sent without further input.
 */
import type { CheckpointStore } from './checkpoints.ts';
import { resolveDetectConfig, type DetectConfig } from './detect-config.ts';
import type { FragmentSource } from './fragment-source.ts';
import type { LifecycleEvent } from './lifecycle.ts';
import { StreamPipeline, type PipelineStats } from './stream-pipeline.ts';
import type { DetectorLike } from './types.ts';

export interface EventSink {
  publish(event: LifecycleEvent): Promise<void>;
  /** Optional: called when the event is queued for publish(), to start slow work (snapshots) early. */
  prepare?(event: LifecycleEvent): void;
}

type MaybePromise<T> = T | Promise<T>;

export interface DetectionWorkerOptions {
  source: FragmentSource;
  /** One detector shared by all streams, or one per stream. */
  detector: DetectorLike | ((stream: string) => DetectorLike);
  sink: EventSink;
  checkpoints: CheckpointStore;
  /** Fixed stream names, or a discovery function polled every `discoveryIntervalMs` (e.g. listStreamsViaSdk). */
  streams: readonly string[] | (() => Promise<string[]>);
  discoveryIntervalMs?: number;
  /** Per-stream settings (validated; defaults from DEFAULT_DETECT_CONFIG); read when a stream's pipeline (re)starts. */
  config?: (stream: string) => MaybePromise<Partial<DetectConfig> | undefined>;
  /** Re-read every stream's config this often and restart the streams whose config changed; default never. */
  configRefreshMs?: number;
  onLog?: (line: string) => void;
  /** Delay before re-opening a stream whose source failed; default 1000 ms. */
  retryDelayMs?: number;
}

interface Running {
  abort: AbortController;
  /** Undefined when the stream is disabled or its config is invalid (nothing runs). */
  config: DetectConfig | undefined;
  /** Identity of the resolved config, to see whether a refresh changed it. */
  configKey: string;
  pipeline?: StreamPipeline;
  done: Promise<void>;
}

interface Resolved {
  config?: DetectConfig;
  key: string;
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

export class DetectionWorker {
  private readonly running = new Map<string, Running>();
  private known = new Set<string>();
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private control: Promise<unknown> = Promise.resolve();
  private queuedDiscovery: Promise<void> | undefined;

  constructor(private readonly opts: DetectionWorkerOptions) {}

  async start(): Promise<void> {
    await this.refresh();
    const every = (ms: number, fn: () => Promise<unknown>) => {
      const t = setInterval(() => void fn().catch((err: unknown) => this.opts.onLog?.(`detection worker: ${(err as Error).message}`)), ms);
      t.unref();
      this.timers.push(t);
    };
    if (typeof this.opts.streams === 'function') every(this.opts.discoveryIntervalMs ?? 30_000, () => this.refresh());
    if (this.opts.configRefreshMs) every(this.opts.configRefreshMs, () => this.reconfigureAll());
  }

  /** Streams currently processed (config enabled and valid). */
  get streams(): string[] {
    return [...this.running].filter(([, r]) => r.config).map(([s]) => s);
  }

  /** Work waiting over all streams' pipelines (metrics). */
  get queueDepths(): { detection_frames: number; detection_publishes: number } {
    let frames = 0;
    let publishes = 0;
    for (const r of this.running.values()) {
      frames += r.pipeline?.queuedFrames ?? 0;
      publishes += r.pipeline?.pendingPublishes ?? 0;
    }
    return { detection_frames: frames, detection_publishes: publishes };
  }

  /** Counters of the stream's current pipeline. */
  stats(stream: string): PipelineStats | undefined {
    return this.running.get(stream)?.pipeline?.stats;
  }

  /** The config the stream's pipeline runs with (undefined: not running). */
  configOf(stream: string): DetectConfig | undefined {
    return this.running.get(stream)?.config;
  }

  /** Re-runs discovery now (coalesced: calls made while one is queued share it). */
  refresh(): Promise<void> {
    if (this.queuedDiscovery) return this.queuedDiscovery;
    const p = this.serial(async () => {
      this.queuedDiscovery = undefined;
      await this.discover();
    });
    this.queuedDiscovery = p;
    return p;
  }

  /** Re-reads the stream's config; restarts its pipeline (from its checkpoint) when it changed. True if restarted. */
  reconfigure(stream: string): Promise<boolean> {
    return this.serial(() => this.reconfigureNow(stream));
  }

  async reconfigureAll(): Promise<void> {
    await Promise.all([...this.known].map((s) => this.reconfigure(s)));
  }

  /** Stops every stream at once; unfinished fragments are processed again after a restart. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await this.control.catch(() => undefined);
    const all = [...this.running.values()];
    for (const r of all) r.abort.abort();
    await Promise.all(all.map(async (r) => {
      await r.pipeline?.close();
      await r.done;
    }));
    this.running.clear();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.control.then(fn);
    this.control = p.catch(() => undefined);
    return p;
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
    this.known = new Set(names);
    const added = names.filter((s) => !this.running.has(s));
    const resolved = await Promise.all(added.map((s) => this.resolveConfig(s)));
    if (this.stopped) return;
    added.forEach((s, i) => this.launch(s, resolved[i]!));
    for (const [s, r] of this.running) {
      if (this.known.has(s)) continue;
      r.abort.abort();
      void r.pipeline?.close();
      this.running.delete(s);
    }
  }

  private async reconfigureNow(stream: string): Promise<boolean> {
    if (this.stopped || !this.known.has(stream)) return false;
    const next = await this.resolveConfig(stream);
    const r = this.running.get(stream);
    if (this.stopped || (r && r.configKey === next.key)) return false;
    if (r) {
      r.abort.abort();
      await r.pipeline?.close();
      await r.done;
      this.running.delete(stream);
    }
    this.opts.onLog?.(`${stream}: detection config changed; ${next.config ? 'restarting the pipeline' : 'stopped'}`);
    this.launch(stream, next);
    return true;
  }

  private async resolveConfig(stream: string): Promise<Resolved> {
    try {
      const config = resolveDetectConfig((await this.opts.config?.(stream)) ?? {});
      return config.enabled ? { config, key: JSON.stringify(config) } : { key: 'disabled' };
    } catch (err) {
      this.opts.onLog?.(`${stream}: ${(err as Error).message}`);
      return { key: `invalid: ${(err as Error).message}` };
    }
  }

  private launch(stream: string, resolved: Resolved): void {
    const r: Running = { abort: new AbortController(), config: resolved.config, configKey: resolved.key, done: Promise.resolve() };
    this.running.set(stream, r);
    if (r.config) r.done = this.run(stream, r, r.config);
  }

  private async run(stream: string, r: Running, initial: DetectConfig): Promise<void> {
    const detector = typeof this.opts.detector === 'function' ? this.opts.detector(stream) : this.opts.detector;
    const signal = r.abort.signal;
    let config = initial;
    for (let attempt = 0; !signal.aborted; attempt++) {
      if (attempt > 0) {
        // (Re)start of the stream: pick up a config changed meanwhile.
        const next = await this.resolveConfig(stream);
        if (signal.aborted) break;
        r.config = next.config;
        r.configKey = next.key;
        if (!next.config) return;
        config = next.config;
      }
      let checkpoint;
      try {
        checkpoint = await this.opts.checkpoints.load(stream);
      } catch (err) {
        this.opts.onLog?.(`${stream}: cannot load checkpoint: ${(err as Error).message}`);
        await sleep(this.opts.retryDelayMs ?? 1000);
        continue;
      }
      const token = checkpoint?.token;
      const pipeline = new StreamPipeline({
        stream, detector, config,
        onEvent: (e) => this.opts.sink.publish(e),
        ...(this.opts.sink.prepare ? { onQueued: (e: LifecycleEvent) => this.opts.sink.prepare?.(e) } : {}),
        onFragmentDone: async (f, open, state) => {
          if (!signal.aborted) await this.opts.checkpoints.save(stream, { token: f.continuationToken, open, state });
        },
        restore: checkpoint?.open ?? [],
        ...(checkpoint?.state ? { restoreState: checkpoint.state } : {}),
        ...(this.opts.onLog ? { onLog: this.opts.onLog } : {}),
      });
      r.pipeline = pipeline;
      // Wall-clock end: no fragment for idleFlushMs (decoder flushed) + endAfterMs → end what is still open.
      let idle: NodeJS.Timeout | undefined;
      const armIdle = () => {
        clearTimeout(idle);
        idle = setTimeout(() => {
          pipeline.endIdle().catch((err: unknown) => this.opts.onLog?.(`${stream}: ${(err as Error).message}`));
        }, config.idleFlushMs + config.endAfterMs);
        idle.unref();
      };
      try {
        for await (const f of this.opts.source.fragments(stream, token !== undefined ? { continuationToken: token } : {}, signal)) {
          if (signal.aborted) break;
          clearTimeout(idle);
          await pipeline.push(f);
          armIdle();
        }
        if (!signal.aborted) await pipeline.flush();
      } catch (err) {
        if (!signal.aborted) this.opts.onLog?.(`${stream}: ${(err as Error).message}`);
      }
      clearTimeout(idle);
      await pipeline.close();
      if (!signal.aborted) await sleep(this.opts.retryDelayMs ?? 1000);
    }
  }
}

/** Creates and starts a DetectionWorker. */
export async function startDetectionWorker(opts: DetectionWorkerOptions): Promise<DetectionWorker> {
  const w = new DetectionWorker(opts);
  await w.start();
  return w;
}
