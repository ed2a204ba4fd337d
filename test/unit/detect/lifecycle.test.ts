import { describe, expect, it } from 'vitest';
import { ObjectLifecycle, type FrameContext, type LifecycleEvent } from '../../../src/detect/lifecycle.ts';
import { IouTracker } from '../../../src/detect/tracker.ts';
import type { NormBox } from '../../../src/detect/types.ts';
import type { Zone } from '../../../src/detect/zones.ts';

const ctx = (t: number): FrameContext => ({
  stream: 'cam', fragmentNumber: `frag-${Math.floor(t / 1000)}`, producerTimestampMs: t, serverTimestampMs: t + 7,
  frameIndex: t / 500, sourceWidth: 640, sourceHeight: 480, frame: { width: 2, height: 2, rgb: new Uint8Array(12).fill(t % 256) },
});

/** Runs frames every 500 ms; `at(t)` gives the detections at time t. */
function run(until: number, at: (t: number) => Array<{ box: NormBox; score: number }>, zones: Zone[] = [], minHits = 2): LifecycleEvent[] {
  const tracker = new IouTracker({ minHits, maxAgeMs: 3000 });
  const life = new ObjectLifecycle({ zones, endAfterMs: 2000 });
  const out: LifecycleEvent[] = [];
  for (let t = 0; t <= until; t += 500) {
    const tracks = tracker.update(at(t).map((d) => ({ ...d, label: 'person' })), t);
    out.push(...life.update(tracks, ctx(t)));
  }
  return out;
}

describe('ObjectLifecycle', () => {
  it('start when confirmed, update when the best score rises materially, end after T unseen', () => {
    const scores: Record<number, number> = { 1000: 0.6, 1500: 0.62, 2000: 0.8, 2500: 0.7, 3000: 0.82 };
    const events = run(8000, (t) => (t >= 1000 && t <= 3000 ? [{ box: [0.1 + t / 100_000, 0.2, 0.3 + t / 100_000, 0.9], score: scores[t]! }] : []));
    expect(events.map((e) => `${e.type}@${e.producerTimestampMs}`)).toEqual(['start@1500', 'update@2000', 'end@5000']);
    const [start, update, end] = events as [LifecycleEvent, LifecycleEvent, LifecycleEvent];
    expect(start.before).toBeUndefined();
    expect(start.after.startTimeMs).toBe(1000);
    expect(start.fragmentNumber).toBe('frag-1');
    expect(start.serverTimestampMs).toBe(1507);
    expect(start.after.current.box).toEqual([(0.1 + 0.015) * 640, 0.2 * 480, (0.3 + 0.015) * 640, 0.9 * 480]);
    expect(update.before!.best.score).toBe(0.62);
    expect(update.after.best.score).toBe(0.8);
    expect(update.bestFrame!.rgb[0]).toBe(2000 % 256);
    expect(end.after.active).toBe(false);
    expect(end.after.endTimeMs).toBe(3000);
    expect(end.after.best.score).toBe(0.82); // 0.82 - 0.8 < delta: no update, but best still tracked
    expect(end.after.best.frameIndex).toBe(6);
    expect(end.bestFrame!.rgb[0]).toBe(3000 % 256);
    expect(new Set(events.map((e) => e.id)).size).toBe(1);
  });

  it('single-frame blips never start (min hits)', () => {
    expect(run(6000, (t) => (t === 1000 ? [{ box: [0.1, 0.1, 0.3, 0.9], score: 0.9 }] : []))).toEqual([]);
  });

  it('with zones, starts only inside a zone and reports zone changes', () => {
    const right: Zone = { name: 'right', points: [[0.5, 0], [1, 0], [1, 1], [0.5, 1]] };
    // Walks from left to right: feet x = 0.2 + t/10000.
    const events = run(9000, (t) => (t <= 6000 ? [{ box: [0.1 + t / 10_000, 0.1, 0.3 + t / 10_000, 0.9], score: 0.9 }] : []), [right]);
    expect(events.map((e) => `${e.type}@${e.producerTimestampMs}`)).toEqual(['start@3000', 'end@8000']);
    expect(events[0]!.after.zones).toEqual(['right']);
    expect(events[1]!.after.enteredZones).toEqual(['right']);
    const back = run(9000, (t) => {
      const x = t <= 3000 ? t / 10_000 : 0.6 - t / 10_000;
      return t <= 6000 ? [{ box: [0.1 + x, 0.1, 0.3 + x, 0.9], score: 0.9 }] : [];
    }, [right]);
    expect(back.map((e) => `${e.type}:${e.after.zones.join(',')}`)).toEqual(['start:right', 'update:', 'end:']);
  });

  it('endAll closes open objects', () => {
    const life = new ObjectLifecycle();
    const tracker = new IouTracker({ minHits: 1 });
    expect(life.update(tracker.update([{ box: [0, 0, 0.5, 0.5], score: 0.7, label: 'person' }], 0), ctx(0)).map((e) => e.type)).toEqual(['start']);
    expect(life.endAll(ctx(500)).map((e) => e.type)).toEqual(['end']);
    expect(life.openCount).toBe(0);
  });
});

describe('ObjectLifecycle restore (worker restart)', () => {
  const seen = (life: ObjectLifecycle, tracker: IouTracker, t: number, box?: NormBox) =>
    life.update(tracker.update(box ? [{ box, score: 0.9, label: 'person' }] : [], t), ctx(t));

  it('a new track of the same object continues the open event; an unmatched one ends after T', () => {
    const a = new ObjectLifecycle({ endAfterMs: 2000 });
    const ta = new IouTracker({ minHits: 1 });
    const started = seen(a, ta, 0, [0.1, 0.1, 0.3, 0.9]);
    expect(started.map((e) => e.type)).toEqual(['start']);
    const open = JSON.parse(JSON.stringify(a.snapshot()));
    expect(open).toHaveLength(1);

    const b = new ObjectLifecycle({ endAfterMs: 2000 });
    b.restore(open);
    const tb = new IouTracker({ minHits: 1 });
    const cont = seen(b, tb, 1000, [0.2, 0.1, 0.4, 0.9]);
    expect(cont.map((e) => e.type)).toEqual(['update']);
    expect(cont[0]!.id).toBe(started[0]!.id);
    expect(cont[0]!.before!.current.producerTimestampMs).toBe(0);
    expect(cont[0]!.after.startTimeMs).toBe(0);
    expect(seen(b, tb, 3500).map((e) => `${e.type}:${e.id}`)).toEqual([`end:${started[0]!.id}`]);

    // Nobody comes back: the orphan ends T after it was last seen.
    const c = new ObjectLifecycle({ endAfterMs: 2000 });
    c.restore(open);
    const tc = new IouTracker({ minHits: 1 });
    expect(seen(c, tc, 1000)).toEqual([]);
    const ended = seen(c, tc, 2000);
    expect(ended.map((e) => e.type)).toEqual(['end']);
    expect(ended[0]!.after.endTimeMs).toBe(0);
    // A far-away person is someone else.
    const d = new ObjectLifecycle({ endAfterMs: 2000 });
    d.restore(open);
    const td = new IouTracker({ minHits: 1 });
    expect(seen(d, td, 500, [0.7, 0.1, 0.9, 0.9]).map((e) => e.type)).toEqual(['start']);
  });

  it('with the tracker state, a restart replays the same frames into the same events under the same ids', () => {
    // Person A is open at the checkpoint (t=1000); person B was seen once (not confirmed yet, minHits 2).
    const frames: Array<[number, NormBox[]]> = [
      [0, [[0.1, 0.1, 0.3, 0.9]]],
      [500, [[0.11, 0.1, 0.31, 0.9]]],
      [1000, [[0.12, 0.1, 0.32, 0.9], [0.6, 0.1, 0.8, 0.9]]],
      [1500, [[0.13, 0.1, 0.33, 0.9], [0.61, 0.1, 0.81, 0.9]]],
      [2000, [[0.62, 0.1, 0.82, 0.9]]],
      [5000, []],
    ];
    const feed = (life: ObjectLifecycle, tracker: IouTracker, from: number, to: number) =>
      frames.filter(([t]) => t >= from && t <= to).flatMap(([t, boxes]) => life.update(tracker.update(boxes.map((box) => ({ box, score: 0.9, label: 'person' })), t), ctx(t)));
    const key = (e: LifecycleEvent) => `${e.type}:${e.id}@${e.producerTimestampMs}`;

    const once = new ObjectLifecycle({ endAfterMs: 2000 });
    const onceTracker = new IouTracker({ minHits: 2, maxAgeMs: 2000 });
    const uninterrupted = feed(once, onceTracker, 0, 5000).map(key);

    const first = new ObjectLifecycle({ endAfterMs: 2000 });
    const firstTracker = new IouTracker({ minHits: 2, maxAgeMs: 2000 });
    const before = feed(first, firstTracker, 0, 1000).map(key);
    // The checkpoint, through JSON as the worker stores it.
    const saved = JSON.parse(JSON.stringify({ open: first.snapshot(), tracker: firstTracker.snapshot(), pending: first.pending() }));
    expect(saved.open).toHaveLength(1);
    expect(saved.pending).toHaveLength(1);

    const second = new ObjectLifecycle({ endAfterMs: 2000 });
    const secondTracker = new IouTracker({ minHits: 2, maxAgeMs: 2000 });
    secondTracker.restore(saved.tracker);
    second.restore(saved.open, saved.pending, new Set(saved.tracker.tracks.map((t: { id: number }) => t.id)));
    const after = feed(second, secondTracker, 1500, 5000);
    expect([...before, ...after.map(key)]).toEqual(uninterrupted);
    // B's start after the restart still carries a frame for its snapshot.
    expect(after.find((e) => e.type === 'start')?.bestFrame).toBeDefined();
  });
});
