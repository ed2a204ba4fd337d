/**
 * Per tracked object: `start` once the track is confirmed (and inside a zone), `update` when its best
 * score rises materially or its zones change, `end` once it has not been seen for `endAfterMs`.
 * Payloads are Frigate-like `{ type, before, after }`. Pure: time is the frame's producer timestamp.
 */
import { iou, type Track } from './tracker.ts';
import type { Box, NormBox, RgbFrame } from './types.ts';
import { zonesForBox, type Zone } from './zones.ts';

export interface FrameContext {
  stream: string;
  fragmentNumber: string;
  producerTimestampMs: number;
  serverTimestampMs: number;
  frameIndex: number;
  /** Source video size, to report boxes in source pixels (0 = unknown: boxes stay normalised). */
  sourceWidth: number;
  sourceHeight: number;
  /** The sampled frame, kept for the best detection's snapshot. */
  frame?: RgbFrame;
}

export interface Sighting {
  score: number;
  /** Source pixels. */
  box: Box;
  boxNorm: NormBox;
  fragmentNumber: string;
  producerTimestampMs: number;
  serverTimestampMs: number;
  frameIndex: number;
}

export interface TrackedObject {
  /** Unique per event: `${stream}:${startProducerMs}:${trackId}`. */
  id: string;
  stream: string;
  label: string;
  trackId: number;
  startTimeMs: number;
  endTimeMs?: number;
  /** Latest sighting. */
  current: Sighting;
  /** Highest-score sighting. */
  best: Sighting;
  /** Zones the object is in now (['*'] = no zones configured). */
  zones: string[];
  /** Every zone entered during the event. */
  enteredZones: string[];
  active: boolean;
}

export type LifecycleEventType = 'start' | 'update' | 'end';

export interface LifecycleEvent {
  type: LifecycleEventType;
  stream: string;
  /** Same as after.id. */
  id: string;
  fragmentNumber: string;
  producerTimestampMs: number;
  serverTimestampMs: number;
  frameIndex: number;
  before?: TrackedObject;
  after: TrackedObject;
  /** Frame of the best sighting (only in memory, for the snapshot writer). */
  bestFrame?: RgbFrame;
}

export interface LifecycleOptions {
  zones?: readonly Zone[];
  /** End an object not seen for this long; default 5000 ms. */
  endAfterMs?: number;
  /** Minimum rise of the best score that triggers an update; default 0.05. */
  scoreDelta?: number;
}

interface State {
  obj: TrackedObject;
  bestFrame?: RgbFrame;
  started: boolean;
}

const clone = (o: TrackedObject): TrackedObject => structuredClone(o);
const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));

export class ObjectLifecycle {
  private readonly states = new Map<number, State>();
  /** Objects open when a previous run stopped (restore()); a new track of the same object adopts one. */
  private orphans: TrackedObject[] = [];
  private readonly zones: readonly Zone[];
  private readonly endAfterMs: number;
  private readonly scoreDelta: number;

  constructor(opts: LifecycleOptions = {}) {
    this.zones = opts.zones ?? [];
    this.endAfterMs = opts.endAfterMs ?? 5000;
    this.scoreDelta = opts.scoreDelta ?? 0.05;
  }

  /** Feeds the tracker's tracks after one frame; returns the events this frame causes. */
  update(tracks: readonly Track[], ctx: FrameContext): LifecycleEvent[] {
    const out: LifecycleEvent[] = [];
    const now = ctx.producerTimestampMs;
    const live = new Set<number>();
    for (const t of tracks) {
      live.add(t.id);
      if (!t.matched) continue;
      const sighting = this.sighting(t, ctx);
      const zones = zonesForBox(t.box, this.zones);
      let s = this.states.get(t.id);
      if (!s) {
        s = {
          obj: {
            id: `${ctx.stream}:${now}:${t.id}`, stream: ctx.stream, label: t.label, trackId: t.id, startTimeMs: now,
            current: sighting, best: sighting, zones, enteredZones: [...zones], active: true,
          },
          started: false,
        };
        if (ctx.frame) s.bestFrame = ctx.frame;
        this.states.set(t.id, s);
      }
      const before = clone(s.obj);
      const o = s.obj;
      o.current = sighting;
      const rose = sighting.score >= o.best.score + this.scoreDelta;
      // A not-yet-started object restored from a checkpoint has no frame for its best sighting: take
      // this one, so its start still gets a snapshot.
      if (sighting.score > o.best.score || (!s.started && !s.bestFrame && ctx.frame)) {
        o.best = sighting;
        if (ctx.frame) s.bestFrame = ctx.frame;
      }
      const zonesChanged = !sameSet(zones, o.zones);
      o.zones = zones;
      for (const z of zones) if (!o.enteredZones.includes(z)) o.enteredZones.push(z);
      if (!s.started) {
        if (t.confirmed && zones.length > 0) {
          s.started = true;
          const orphan = this.adopt(t, now);
          if (orphan) {
            // Same object as before the restart: continue its event instead of starting a new one.
            const prev = clone(orphan);
            s.obj = { ...orphan, trackId: t.id, current: o.current, zones: o.zones, active: true };
            for (const z of o.enteredZones) if (!s.obj.enteredZones.includes(z)) s.obj.enteredZones.push(z);
            if (o.best.score > orphan.best.score) s.obj.best = o.best;
            else delete s.bestFrame;
            out.push(this.event('update', prev, s, ctx));
          } else {
            o.startTimeMs = Math.min(o.startTimeMs, now);
            out.push(this.event('start', undefined, s, ctx));
          }
        }
      } else if (rose || zonesChanged) {
        out.push(this.event('update', before, s, ctx));
      }
    }
    for (const orphan of this.orphans.filter((x) => now - x.current.producerTimestampMs >= this.endAfterMs)) {
      this.orphans.splice(this.orphans.indexOf(orphan), 1);
      out.push(this.finish(-1, { obj: orphan, started: true }, ctx)[0]!);
    }
    for (const [id, s] of this.states) {
      const gone = !live.has(id) || now - s.obj.current.producerTimestampMs >= this.endAfterMs;
      if (gone) out.push(...this.finish(id, s, ctx));
    }
    return out;
  }

  /** Open (started) objects, to persist with the checkpoint. */
  snapshot(): TrackedObject[] {
    return [...[...this.states.values()].filter((s) => s.started).map((s) => clone(s.obj)), ...this.orphans.map(clone)];
  }

  /** Objects seen but not started yet (track not confirmed), to persist with the checkpoint next to the tracker's state. */
  pending(): TrackedObject[] {
    return [...this.states.values()].filter((s) => !s.started).map((s) => clone(s.obj));
  }

  /**
   * Objects that were open (and, with the tracker's state, pending) when a previous run stopped.
   * With `liveTrackIds` (the restored tracker's tracks), an object whose track is still live continues
   * on it exactly, under the same id; the others are orphans: continued by a matching new track, else ended.
   */
  restore(objects: readonly TrackedObject[], pending: readonly TrackedObject[] = [], liveTrackIds?: ReadonlySet<number>): void {
    this.orphans = [];
    for (const o of objects) {
      if (liveTrackIds?.has(o.trackId)) this.states.set(o.trackId, { obj: clone(o), started: true });
      else this.orphans.push(clone(o));
    }
    for (const o of pending) if (liveTrackIds?.has(o.trackId)) this.states.set(o.trackId, { obj: clone(o), started: false });
  }

  /** The orphan a newly confirmed track continues: same label, seen recently, overlapping or close by. */
  private adopt(t: Track, now: number): TrackedObject | undefined {
    let best: { o: TrackedObject; d: number } | undefined;
    for (const o of this.orphans) {
      if (o.label !== t.label || now - o.current.producerTimestampMs > this.endAfterMs) continue;
      const b = o.current.boxNorm;
      const d = iou(b, t.box) > 0 ? 0 : Math.hypot((b[0] + b[2] - t.box[0] - t.box[2]) / 2, (b[1] + b[3] - t.box[1] - t.box[3]) / 2);
      if (d <= 0.25 && (!best || d < best.d)) best = { o, d };
    }
    if (best) this.orphans.splice(this.orphans.indexOf(best.o), 1);
    return best?.o;
  }

  /** Ends every open object (e.g. at the end of a finite stream). */
  endAll(ctx: FrameContext): LifecycleEvent[] {
    const out: LifecycleEvent[] = [];
    for (const o of this.orphans) out.push(...this.finish(-1, { obj: o, started: true }, ctx));
    this.orphans = [];
    for (const [id, s] of this.states) out.push(...this.finish(id, s, ctx));
    return out;
  }

  get openCount(): number {
    return this.states.size + this.orphans.length;
  }

  private finish(id: number, s: State, ctx: FrameContext): LifecycleEvent[] {
    this.states.delete(id);
    if (!s.started) return [];
    const before = clone(s.obj);
    s.obj.active = false;
    s.obj.endTimeMs = s.obj.current.producerTimestampMs;
    return [this.event('end', before, s, ctx)];
  }

  private sighting(t: Track, ctx: FrameContext): Sighting {
    const sx = ctx.sourceWidth || 1;
    const sy = ctx.sourceHeight || 1;
    return {
      score: t.score,
      box: [t.box[0] * sx, t.box[1] * sy, t.box[2] * sx, t.box[3] * sy],
      boxNorm: [...t.box],
      fragmentNumber: ctx.fragmentNumber,
      producerTimestampMs: ctx.producerTimestampMs,
      serverTimestampMs: ctx.serverTimestampMs,
      frameIndex: ctx.frameIndex,
    };
  }

  private event(type: LifecycleEventType, before: TrackedObject | undefined, s: State, ctx: FrameContext): LifecycleEvent {
    const e: LifecycleEvent = {
      type, stream: ctx.stream, id: s.obj.id, fragmentNumber: ctx.fragmentNumber, producerTimestampMs: ctx.producerTimestampMs,
      serverTimestampMs: ctx.serverTimestampMs, frameIndex: ctx.frameIndex, after: clone(s.obj),
    };
    if (before) e.before = before;
    if (s.bestFrame) e.bestFrame = s.bestFrame;
    return e;
  }
}
