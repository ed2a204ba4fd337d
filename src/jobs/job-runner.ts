/**
 * Runs batch analysis jobs: the live worker's StreamPipeline (sampler → motion gate → detector → filters
 * → tracker → lifecycle) fed with the archived fragments of a range, then `finish()` ends what is still
 * open. Events go through the same DetectionEventSink into the event store, marked with the job id (no
 * webhook / MQTT / SSE: those are for live events).
 *
 * Resume: after each fragment the runner commits, in one transaction, that fragment's events and frames,
 * the position in the fragment list, the open objects and the last "quiet" position (nothing open and no
 * detection for longer than `endAfterMs`: the tracker and lifecycle are empty there). A restarted job
 * replays from the fragment before the quiet position with its output dropped, so the sampler, motion
 * gate, tracker and lifecycle reach the position in the state they had; objects open at the position
 * are mapped back to their committed events; then it carries on. The pipeline is deterministic on the
 * same frames, so the result equals an uninterrupted run (the cost: re-analysing back to a quiet point).
 */
import { randomUUID } from 'node:crypto';
import type { DetectConfig } from '../detect/detect-config.ts';
import { DetectionEventSink } from '../detect/event-sink.ts';
import type { LifecycleEvent, TrackedObject } from '../detect/lifecycle.ts';
import { StreamPipeline, type FrameDetections } from '../detect/stream-pipeline.ts';
import type { DetectorLike } from '../detect/types.ts';
import type { EventPage, EventStore, StoredEvent } from '../events/event-store.ts';
import type { StreamRef } from '../events/types.ts';
import type { SnapshotStore } from '../notify/snapshot-store.ts';
import type { ArchiveFragments } from './archive-fragments.ts';
import { BufferedJobEvents } from './job-events.ts';
import { JobLeaseLostError, type JobStore } from './job-store.ts';
import { FINAL_STATUSES, JobRequestError, jobConfig, parseJobRequest, type FrameRecord, type Job } from './job-types.ts';

type MaybePromise<T> = T | Promise<T>;

export interface JobRunnerOptions {
  store: JobStore;
  events: EventStore;
  archive: ArchiveFragments;
  /** Stream name → internal id + ARN; undefined when unknown. */
  lookupStream: (name: string) => Promise<(StreamRef & { id: number }) | undefined>;
  /** Called on the first job (the model loads lazily). */
  detector: () => Promise<DetectorLike>;
  /** The stream's detection config (the same layers the live worker uses). */
  baseConfig?: (stream: string) => MaybePromise<Partial<DetectConfig> | undefined>;
  accountId: string;
  snapshots?: SnapshotStore;
  /** Jobs running at the same time on this node; default 1. */
  concurrency?: number;
  /**
   * Several nodes on one (PostgreSQL) job store: a job runs only while this node holds its lease
   * (`owner` must be stable across restarts, e.g. the node id), renewed every third of `durationMs`
   * (default 60 s); a job leased by another node is left to it, a lost lease stops the run here.
   * Absent (single node): no leases, as before.
   */
  lease?: { owner: string; durationMs?: number };
  now?: () => number;
  onLog?: (line: string) => void;
}

export interface JobResult {
  job: Job;
  events: StoredEvent[];
  frames: FrameRecord[];
}

interface Running {
  abort: AbortController;
  done: Promise<void>;
}

export class JobRunner {
  private readonly queue: string[] = [];
  private readonly running = new Map<string, Running>();
  private stopped = false;

  constructor(private readonly o: JobRunnerOptions) {}

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** Queues the unfinished jobs of a previous run (oldest first). */
  async start(): Promise<void> {
    for (const s of await this.o.store.unfinished()) this.queue.push(s.job.id);
    this.pump();
  }

  /** Validates, creates and queues a job. Throws JobRequestError (400 / 404). */
  async submit(body: unknown): Promise<Job> {
    const req = parseJobRequest(body);
    if (!(await this.o.lookupStream(req.stream))) throw new JobRequestError(`stream ${req.stream} not found`, 404);
    let config: DetectConfig;
    try {
      config = jobConfig(await this.o.baseConfig?.(req.stream), req);
    } catch (err) {
      throw new JobRequestError((err as Error).message);
    }
    const job = await this.o.store.create({ id: randomUUID(), request: req, config, createdAt: this.now() });
    this.queue.push(job.id);
    this.pump();
    return job;
  }

  /** Jobs queued or running (the HTTP edge caps this). */
  get pending(): number {
    return this.queue.length + this.running.size;
  }

  async get(id: string): Promise<Job | undefined> {
    return (await this.o.store.get(id))?.job;
  }

  list(limit?: number): Promise<Job[]> {
    return this.o.store.list(limit);
  }

  /** Cancels a queued or running job (no-op on a finished one); undefined when unknown. */
  async cancel(id: string): Promise<Job | undefined> {
    const st = await this.o.store.get(id);
    if (!st) return undefined;
    if (FINAL_STATUSES.includes(st.job.status)) return st.job;
    const r = this.running.get(id);
    // Abort first: the runner checks the signal right before every commit, so nothing lands afterwards.
    r?.abort.abort();
    await this.o.store.finish(id, 'cancelled', this.now());
    const i = this.queue.indexOf(id);
    if (i >= 0) this.queue.splice(i, 1);
    await r?.done;
    return (await this.o.store.get(id))!.job;
  }

  /** Every event of the job (folded) and every sampled frame. */
  async result(id: string): Promise<JobResult | undefined> {
    const st = await this.o.store.get(id);
    if (!st) return undefined;
    const events: StoredEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page: EventPage = await this.o.events.list({ job: id, limit: 1000, ...(nextToken ? { nextToken } : {}) });
      events.push(...page.events);
      nextToken = page.nextToken;
    } while (nextToken);
    return { job: st.job, events, frames: await this.o.store.frames(id) };
  }

  /** Stops the running jobs where they are (they stay `running` and resume on the next start). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    const all = [...this.running.values()];
    for (const r of all) r.abort.abort();
    await Promise.all(all.map((r) => r.done));
  }

  private pump(): void {
    while (!this.stopped && this.running.size < Math.max(1, this.o.concurrency ?? 1) && this.queue.length > 0) {
      const id = this.queue.shift()!;
      if (this.running.has(id)) continue;
      const r: Running = { abort: new AbortController(), done: Promise.resolve() };
      this.running.set(id, r);
      r.done = this.run(id, r.abort.signal)
        .catch((err: unknown) => {
          if (this.stopped) return; // shutdown: the job resumes on the next start
          if (err instanceof JobLeaseLostError) {
            this.o.onLog?.(`${err.message}; another node carries on`);
            return;
          }
          // (no-op when the job was cancelled meanwhile)
          this.o.onLog?.(`job ${id} failed: ${(err as Error).message}`);
          return this.finishFailed(id, (err as Error).message);
        })
        .catch((err: unknown) => this.o.onLog?.(`job ${id}: cannot record its failure: ${(err as Error).message}`))
        .finally(() => {
          this.running.delete(id);
          this.pump();
        });
    }
  }

  private async run(id: string, signal: AbortSignal): Promise<void> {
    const lease = this.o.lease;
    if (!lease) return this.runJob(id, signal);
    const ms = lease.durationMs ?? 60_000;
    if (!(await this.o.store.claim(id, lease.owner, this.now(), ms))) {
      this.o.onLog?.(`job ${id} is leased by another node; left to it`);
      return;
    }
    const renew = setInterval(() => {
      this.o.store.renewLease(id, lease.owner, this.now(), ms).then(
        (held) => {
          if (held) return;
          this.o.onLog?.(`job ${id}: lease lost to another node; stopped here`);
          this.abortRun(id);
        },
        // The store is unreachable: keep going; the next renewal tells whether the lease survived.
        (err: unknown) => this.o.onLog?.(`job ${id}: lease renewal failed: ${(err as Error).message}`),
      );
    }, ms / 3);
    renew.unref();
    try {
      await this.runJob(id, signal);
    } finally {
      clearInterval(renew);
    }
  }

  private async runJob(id: string, signal: AbortSignal): Promise<void> {
    let st = await this.o.store.get(id);
    if (!st || FINAL_STATUSES.includes(st.job.status)) return;
    const { stream, startMs, endMs } = st.request;
    const ref = await this.o.lookupStream(stream);
    if (!ref) throw new Error(`stream ${stream} no longer exists`);
    const fragments = st.fragments ?? (await this.o.archive.list(ref.id, startMs, endMs));
    if (signal.aborted) return;
    st = await this.o.store.markRunning(id, fragments, this.now());
    const position = st.position;
    const detector = fragments.length > position ? await this.o.detector() : undefined;
    if (signal.aborted) return;

    const index = new Map(fragments.map((f, i) => [f, i]));
    const events = new BufferedJobEvents(this.o.events, id);
    const sink = new DetectionEventSink({
      accountId: this.o.accountId,
      store: events,
      notifier: { name: 'none', publish: async () => {} },
      ...(this.o.snapshots ? { snapshots: this.o.snapshots } : {}),
      resolveStream: async () => ({ name: ref.name, arn: ref.arn }),
      ...(this.o.onLog ? { onLog: this.o.onLog } : {}),
    });
    let held: LifecycleEvent[] = [];
    let frames: FrameRecord[] = [];
    let fatal: Error | undefined;
    let replayFrom = st.replayFrom;
    let lastFrameMs: number | undefined;
    let lastDetectionMs: number | undefined;
    // Replayed object id → the id its events were committed under (objects open at the resume position).
    const ids = new Map<string, string>();
    const checkpointOpen = st.open;
    const endAfterMs = st.config.endAfterMs;
    const publishHeld = async () => {
      const list = held;
      held = [];
      // Distinct ids per job: the same range can also have live events (and other jobs).
      for (const e of list) await sink.publish({ ...e, id: `job:${id}:${ids.get(e.id) ?? e.id}` });
    };

    let pipeline: StreamPipeline | undefined;
    if (detector) {
      pipeline = new StreamPipeline({
        stream,
        detector,
        config: st.config,
        onEvent: (e) => void held.push(e),
        onFrame: (f) => {
          lastFrameMs = f.producerTimestampMs;
          if (f.detections.length) lastDetectionMs = f.producerTimestampMs;
          frames.push(frameRecord(f));
        },
        onFragmentDone: async (f, open) => {
          const i = index.get(f.fragmentNumber) ?? -1;
          if (i < position) {
            // Replay: already committed before the restart.
            held = [];
            frames = [];
            if (i === position - 1) for (const [a, b] of matchObjects(open, checkpointOpen)) ids.set(a, b);
            return;
          }
          try {
            await publishHeld();
            const done = frames;
            frames = [];
            if (signal.aborted) return;
            const quiet = open.length === 0 && (lastDetectionMs === undefined || (lastFrameMs ?? 0) - lastDetectionMs > endAfterMs);
            if (quiet) replayFrom = i + 1;
            await this.o.store.commit(id, { position: i + 1, open, replayFrom, frames: done, events: events.take(), ...this.fence() });
          } catch (err) {
            fatal ??= err as Error;
            this.abortRun(id);
          }
        },
        ...(this.o.onLog ? { onLog: this.o.onLog } : {}),
      });
      try {
        // One fragment before the quiet point: the sampler's and motion gate's previous frame.
        const from = position > 0 ? Math.max(0, Math.min(replayFrom, position) - 1) : 0;
        for (let i = from; i < fragments.length && !signal.aborted; i++) {
          const f = await this.o.archive.load(ref.id, stream, fragments[i]!);
          if (signal.aborted) break;
          if (!f) {
            this.o.onLog?.(`job ${id}: fragment ${fragments[i]} is gone (retention); skipped`);
            continue;
          }
          await pipeline.push(f);
        }
        if (!signal.aborted) await pipeline.finish();
      } finally {
        if (signal.aborted || fatal) await pipeline.close();
      }
      if (fatal) throw fatal;
      if (signal.aborted) return;
      await publishHeld();
    }
    if (signal.aborted) return;
    const rest = frames;
    await this.o.store.finish(id, 'succeeded', this.now(), undefined, { position: fragments.length, open: [], replayFrom: fragments.length, frames: rest, events: events.take(), ...this.fence() });
    this.o.onLog?.(`job ${id}: ${stream} ${fragments.length} fragments analysed`);
  }

  private async finishFailed(id: string, message: string): Promise<void> {
    const lease = this.o.lease;
    // With leases: a node that lost the job does not fail it under the node now running it.
    if (lease && !(await this.o.store.renewLease(id, lease.owner, this.now(), lease.durationMs ?? 60_000))) return;
    await this.o.store.finish(id, 'failed', this.now(), message);
  }

  /** With leases, commits land only while this node holds the job. */
  private fence(): { owner?: string } {
    return this.o.lease ? { owner: this.o.lease.owner } : {};
  }

  private abortRun(id: string): void {
    this.running.get(id)?.abort.abort();
  }
}

/** Pairs replayed open objects with the checkpoint's (same start, same latest sighting); returns [replayedId, committedId]. */
export function matchObjects(replayed: readonly TrackedObject[], committed: readonly TrackedObject[]): Array<[string, string]> {
  const key = (o: TrackedObject) => `${o.label}|${o.startTimeMs}|${o.current.producerTimestampMs}|${o.current.boxNorm.map((v) => v.toFixed(4)).join(',')}`;
  const byKey = new Map<string, string[]>();
  for (const o of committed) byKey.set(key(o), [...(byKey.get(key(o)) ?? []), o.id]);
  const out: Array<[string, string]> = [];
  for (const o of replayed) {
    const match = byKey.get(key(o))?.shift();
    if (match !== undefined && match !== o.id) out.push([o.id, match]);
  }
  return out;
}

function frameRecord(f: FrameDetections): FrameRecord {
  const w = f.sourceWidth;
  const h = f.sourceHeight;
  return {
    fragmentNumber: f.fragmentNumber,
    timestampMs: f.producerTimestampMs,
    serverTimestampMs: f.serverTimestampMs,
    detected: f.detected,
    sourceWidth: w,
    sourceHeight: h,
    detections: f.detections.map((d) => ({
      label: d.label,
      score: d.score,
      box: d.box,
      boxPx: w > 0 && h > 0 ? [d.box[0] * w, d.box[1] * h, d.box[2] * w, d.box[3] * h] : null,
    })),
  };
}
