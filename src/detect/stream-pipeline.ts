/**
 * One stream's detection pipeline: sampler (one long-lived ffmpeg) → motion gate → detector → filters →
 * tracker → lifecycle → onEvent. A frame with motion goes to the detector as soon as it arrives
 * (DetectAhead), so inference overlaps the rest. Frames and "fragment done" notifications go through one serial queue.
 * Events are held back until the fragment whose frame caused them is done, then handed to a second,
 * per-stream ordered queue, the publish queue: onEvent (snapshots, event store, notifications) runs
 * there while the next frames are analysed. The fragment's onFragmentDone (the worker saves the
 * continuation token) is queued behind its events, with the open objects captured when the fragment
 * was done, so it runs only after they were all published (and not at all if one failed): a worker
 * killed mid-fragment re-processes that fragment after a restart without having saved its token, and
 * the events it had not published yet are published then. The publish queue is bounded
 * (`maxPendingPublishes`): when it is longer, the frame queue waits, and so does push().
 */
import { FrameSampler, type SampledFrame } from '../media-tools/frame-sampler.ts';
import { DetectAhead } from './detect-ahead.ts';
import type { DetectConfig } from './detect-config.ts';
import { filterDetections, normalise, type NormDetection } from './filters.ts';
import type { SourceFragment } from './fragment-source.ts';
import { ObjectLifecycle, type FrameContext, type LifecycleEvent, type TrackedObject } from './lifecycle.ts';
import { MotionGate } from './motion-gate.ts';
import { IouTracker, type TrackerState } from './tracker.ts';
import type { DetectionLike, DetectorLike } from './types.ts';

export interface StreamPipelineOptions {
  stream: string;
  detector: DetectorLike;
  config: DetectConfig;
  onEvent: (event: LifecycleEvent) => void | Promise<void>;
  /** The event was queued for onEvent (publish queue), e.g. to start its snapshot meanwhile. */
  onQueued?: (event: LifecycleEvent) => void;
  /**
   * After every frame of the fragment went through the pipeline and its events were handled; `open` =
   * objects with an open event, `state` = the tracker's tracks and the objects not started yet.
   */
  onFragmentDone?: (fragment: SourceFragment, open: TrackedObject[], state: PipelineState) => void | Promise<void>;
  /** Objects open when the previous run stopped (from the checkpoint). */
  restore?: readonly TrackedObject[];
  /** The rest of that checkpoint: with it, a restart continues the same tracks under the same ids. */
  restoreState?: PipelineState;
  onLog?: (line: string) => void;
  /** Frames waiting for the detector before push() waits; default 4. */
  maxQueuedFrames?: number;
  /** Events + fragment-done calls waiting in the publish queue before frame processing waits; default 16. */
  maxPendingPublishes?: number;
  /**
   * Every sampled frame after filtering (batch reports): `detected` false when the motion gate skipped it.
   * Called from the publish queue, in order with onEvent and onFragmentDone (as if they were serial).
   */
  onFrame?: (frame: FrameDetections) => void;
}

export interface FrameDetections {
  fragmentNumber: string;
  producerTimestampMs: number;
  serverTimestampMs: number;
  frameIndex: number;
  sourceWidth: number;
  sourceHeight: number;
  detected: boolean;
  detections: NormDetection[];
}

/** Tracking state at a fragment boundary, saved with the checkpoint next to the open objects. */
export interface PipelineState {
  tracker: TrackerState;
  pending: TrackedObject[];
}

interface Ahead {
  motion: boolean;
  detections?: Promise<DetectionLike[]>;
}

export interface PipelineStats {
  fragmentsIn: number;
  fragmentsDone: number;
  framesSampled: number;
  framesDetected: number;
  framesSkippedNoMotion: number;
  events: number;
  decoderSpawns: number;
}

export class StreamPipeline {
  private readonly sampler: FrameSampler<SourceFragment>;
  private readonly gate: MotionGate | undefined;
  private readonly ahead: DetectAhead;
  private readonly tracker: IouTracker;
  private lastDone: SourceFragment | undefined;
  private readonly lifecycle: ObjectLifecycle;
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;
  private lastCtx: FrameContext | undefined;
  private held: LifecycleEvent[] = [];
  /** Publish queue: its tail, and one promise per queued item, oldest first (they settle in order). */
  private publishing: Promise<void> = Promise.resolve();
  private readonly inflight: Promise<void>[] = [];
  private closed = false;
  readonly stats: PipelineStats = { fragmentsIn: 0, fragmentsDone: 0, framesSampled: 0, framesDetected: 0, framesSkippedNoMotion: 0, events: 0, decoderSpawns: 0 };

  constructor(private readonly opts: StreamPipelineOptions) {
    const c = opts.config;
    this.sampler = new FrameSampler<SourceFragment>({
      width: opts.detector.inputSize.width,
      height: opts.detector.inputSize.height,
      sampling: c.sampling,
      onFrame: (f) => {
        const ahead = this.detectAhead(f);
        this.enqueue(() => this.processFrame(f, ahead), true);
      },
      onFragmentDone: (f) => this.enqueue(async () => {
        this.stats.fragmentsDone++;
        this.lastDone = f;
        await this.releaseDone(f);
      }, false),
      onLog: opts.onLog,
      idleFlushMs: c.idleFlushMs,
    });
    this.gate = c.motionGate ? new MotionGate(c.motion) : undefined;
    this.ahead = new DetectAhead(opts.detector);
    this.tracker = new IouTracker({ iouThreshold: c.iouThreshold, minHits: c.minHits, maxAgeMs: c.endAfterMs });
    this.lifecycle = new ObjectLifecycle({ zones: c.zones, endAfterMs: c.endAfterMs, scoreDelta: c.scoreDelta });
    if (opts.restoreState) this.tracker.restore(opts.restoreState.tracker);
    const live = opts.restoreState ? new Set(opts.restoreState.tracker.tracks.map((t) => t.id)) : undefined;
    if (opts.restore) this.lifecycle.restore(opts.restore, opts.restoreState?.pending ?? [], live);
  }

  async push(fragment: SourceFragment): Promise<void> {
    this.stats.fragmentsIn++;
    await this.sampler.push(fragment);
    this.stats.decoderSpawns = this.sampler.spawns;
    while (this.queued > (this.opts.maxQueuedFrames ?? 4)) await this.queue;
  }

  /** Decodes everything written so far and waits until it went through the pipeline and was published. */
  async flush(): Promise<void> {
    await this.sampler.flush();
    await this.queue;
    await this.published();
  }

  /** Frames waiting for the detector (bounded by maxQueuedFrames). */
  get queuedFrames(): number {
    return this.queued;
  }

  /** Events and fragment-done calls queued for publication and not finished yet. */
  get pendingPublishes(): number {
    return this.inflight.length;
  }

  /** Flushes, then ends every open object (finite inputs, tests). */
  async finish(): Promise<void> {
    await this.flush();
    if (this.lastCtx) for (const e of this.lifecycle.endAll(this.lastCtx)) this.held.push(e);
    await this.release();
    await this.published();
  }

  /**
   * The input went silent (no fragment for idleFlushMs + endAfterMs of wall-clock): decodes what is left,
   * then ends every object still open and saves the checkpoint again (same token, nothing open) so a
   * restart does not end them twice. No-op when a fragment arrived meanwhile or nothing is open.
   */
  async endIdle(): Promise<void> {
    const fragmentsIn = this.stats.fragmentsIn;
    await this.flush();
    if (this.closed || fragmentsIn !== this.stats.fragmentsIn || this.lifecycle.openCount === 0) return;
    this.enqueue(async () => {
      if (!this.lastCtx || this.lifecycle.openCount === 0) return;
      const ended = this.lifecycle.endAll(this.lastCtx);
      this.tracker.reset();
      if (ended.length === 0) return;
      this.held.push(...ended);
      await this.releaseDone(this.lastDone);
    }, false);
    await this.queue;
    await this.published();
  }

  /**
   * Stops at once: frames not yet processed are dropped, and so are queued publications not started yet
   * (their fragments are not reported done, so a restart processes them again).
   */
  async close(): Promise<void> {
    this.closed = true;
    this.ahead.clear();
    await this.sampler.close();
  }

  /** Releases the held events, then reports `fragment` done with the tracking state as it is now. */
  private releaseDone(fragment: SourceFragment | undefined): Promise<void> {
    if (!fragment) return this.release();
    const open = this.lifecycle.snapshot();
    const state: PipelineState = { tracker: this.tracker.snapshot(), pending: this.lifecycle.pending() };
    return this.release(() => this.opts.onFragmentDone?.(fragment, open, state));
  }

  private enqueue(task: () => Promise<void>, isFrame: boolean): void {
    if (isFrame) this.queued++;
    this.queue = this.queue.then(async () => {
      if (isFrame) this.queued--;
      if (this.closed) return;
      try {
        await task();
      } catch (err) {
        this.opts.onLog?.(`detect pipeline ${this.opts.stream}: ${(err as Error).message}`);
      }
    });
  }

  /**
   * On arrival (frames arrive in order): the motion gate's verdict, and for a frame with motion its
   * detection started at once, ahead of the frames still queued before it.
   */
  private detectAhead(f: SampledFrame<SourceFragment>): Ahead {
    const motion = this.gate ? this.gate.hasMotion(f) : true;
    if (!motion || this.closed) return { motion };
    const detections = this.ahead.submit({ width: f.width, height: f.height, rgb: f.rgb });
    detections.catch(() => undefined); // awaited (and reported) by processFrame
    return { motion, detections };
  }

  private async processFrame(f: SampledFrame<SourceFragment>, ahead: Ahead): Promise<void> {
    this.stats.framesSampled++;
    const c = this.opts.config;
    const ctx: FrameContext = {
      stream: this.opts.stream,
      fragmentNumber: f.fragment.fragmentNumber,
      producerTimestampMs: f.producerTimestampMs,
      serverTimestampMs: f.fragment.serverTimestampMs,
      frameIndex: f.frameIndex,
      sourceWidth: f.sourceWidth,
      sourceHeight: f.sourceHeight,
      frame: { width: f.width, height: f.height, rgb: f.rgb },
    };
    this.lastCtx = { ...ctx, frame: undefined } as FrameContext;
    let detections: ReturnType<typeof filterDetections> = [];
    // No motion, but someone is being tracked: detect anyway (a person standing still).
    const detected = ahead.motion || this.tracker.active.length > 0;
    if (detected) {
      this.stats.framesDetected++;
      const raw = await (ahead.detections ?? this.ahead.submit({ width: f.width, height: f.height, rgb: f.rgb }));
      detections = filterDetections(raw.map((d) => normalise(d, f.width, f.height)), c);
    } else {
      this.stats.framesSkippedNoMotion++;
    }
    const onFrame = this.opts.onFrame;
    if (onFrame) {
      // Through the publish queue, so it keeps its place before the fragment's events and onFragmentDone.
      const rec: FrameDetections = { fragmentNumber: ctx.fragmentNumber, producerTimestampMs: ctx.producerTimestampMs, serverTimestampMs: ctx.serverTimestampMs,
        frameIndex: ctx.frameIndex, sourceWidth: ctx.sourceWidth, sourceHeight: ctx.sourceHeight, detected, detections };
      this.chain(() => Promise.resolve(onFrame(rec)));
    }
    const tracks = this.tracker.update(detections, f.producerTimestampMs);
    this.held.push(...this.lifecycle.update(tracks, ctx));
  }

  /**
   * Queues the held events, then `done` (unless one of them failed), on the publish queue without waiting
   * for them; waits only while the queue is longer than maxPendingPublishes (backpressure).
   */
  private async release(done?: () => void | Promise<void>): Promise<void> {
    const events = this.held;
    this.held = [];
    let failed = false;
    for (const e of events) {
      this.stats.events++;
      try {
        this.opts.onQueued?.(e);
      } catch (err) {
        this.opts.onLog?.(`detect publish ${this.opts.stream}: ${(err as Error).message}`);
      }
      this.chain(async () => {
        if (failed) return;
        try {
          await this.opts.onEvent(e);
        } catch (err) {
          failed = true;
          throw err;
        }
      });
    }
    if (done) this.chain(async () => {
      if (!failed) await done();
    });
    const max = Math.max(0, this.opts.maxPendingPublishes ?? 16);
    while (this.inflight.length > max && !this.closed) await this.inflight[this.inflight.length - max - 1];
  }

  private chain(task: () => Promise<void>): void {
    const p = this.publishing.then(async () => {
      if (this.closed) return;
      try {
        await task();
      } catch (err) {
        this.opts.onLog?.(`detect publish ${this.opts.stream}: ${(err as Error).message}`);
      }
    }).finally(() => {
      this.inflight.shift();
    });
    this.inflight.push(p);
    this.publishing = p;
  }

  /** Waits until the publish queue is empty (including items queued while waiting). */
  private async published(): Promise<void> {
    for (let tail = this.publishing; ; tail = this.publishing) {
      await tail;
      if (tail === this.publishing) return;
    }
  }
}
