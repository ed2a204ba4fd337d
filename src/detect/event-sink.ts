/**
 * EventSink adapter: LifecycleEvent (detection pipeline) → DetectionEvent (public event model).
 * Writes the best frame as clean + annotated JPEG snapshots, records the message in the EventStore
 * and hands it to a Notifier (normally a Fanout of webhook / MQTT / EventFeed).
 */
import { createHash } from 'node:crypto';
import type { EventStore } from '../events/event-store.ts';
import { nextEvent, startEvent, type TrackObservation } from '../events/lifecycle.ts';
import { makeBox, type DetectionEvent, type SnapshotLinks, type StreamRef } from '../events/types.ts';
import { encodeSnapshotPair } from '../media-tools/annotate.ts';
import type { Notifier } from '../notify/notifier.ts';
import { kvsImageMetadata, type SnapshotStore } from '../notify/snapshot-store.ts';
import { captureSnapshots } from '../notify/snapshotter.ts';
import type { LifecycleEvent, Sighting, TrackedObject } from './lifecycle.ts';
import type { RgbFrame } from './types.ts';
import type { EventSink } from './worker.ts';

export interface DetectionEventSinkOptions {
  /** Stream name → name + ARN (cached by the sink). */
  resolveStream: (name: string) => Promise<StreamRef>;
  accountId: string;
  store: EventStore;
  notifier: Notifier;
  /** Omitted: events carry no snapshot. */
  snapshots?: SnapshotStore;
  /**
   * Injectable for tests: encodes the clean JPEG, then ffmpeg annotates it (two runs). Default: both
   * JPEGs from one ffmpeg run (`encodeSnapshotPair`).
   */
  encodeJpeg?: (frame: RgbFrame, outWidth: number, outHeight: number) => Promise<Buffer>;
  /** Snapshot encodes (ffmpeg processes) at a time across streams; default 2. */
  snapshotConcurrency?: number;
  onLog?: (line: string) => void;
}

/** Stable uuid-shaped id for a pipeline object id (same across restarts: the pipeline id is). */
export function detectionEventId(streamArn: string, lifecycleId: string): string {
  const h = createHash('sha1').update(`${streamArn}|${lifecycleId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Source frame size implied by a sighting (pixel box vs normalised box); 1×1 when unknown. */
export function sourceSize(s: Sighting): { width: number; height: number } {
  const w = s.boxNorm[2] > 0 ? s.box[2] / s.boxNorm[2] : 1;
  const h = s.boxNorm[3] > 0 ? s.box[3] / s.boxNorm[3] : 1;
  return { width: Math.max(1, Math.round(w)), height: Math.max(1, Math.round(h)) };
}

/** One sighting as the events model's observation (pure). */
export function observation(obj: TrackedObject, s: Sighting): TrackObservation {
  const { width, height } = sourceSize(s);
  const [x1, y1, x2, y2] = s.box;
  const zone = obj.zones.find((z) => z !== '*') ?? null;
  return {
    trackId: String(obj.trackId),
    score: s.score,
    box: makeBox(x1, y1, x2 - x1, y2 - y1, width, height),
    zone,
    frameTime: s.producerTimestampMs,
    fragmentNumber: s.fragmentNumber,
    producerTimestamp: s.producerTimestampMs,
    serverTimestamp: s.serverTimestampMs,
  };
}

export class DetectionEventSink implements EventSink {
  private readonly streams = new Map<string, Promise<StreamRef>>();
  /** Newest message per open event (falls back to the store after a restart). */
  private readonly last = new Map<string, DetectionEvent>();
  /** Snapshots started by prepare(), taken by publish(). */
  private readonly prepared = new WeakMap<LifecycleEvent, Promise<SnapshotLinks | undefined>>();
  /** Snapshot encodes running / waiting (FIFO, so the next event to publish goes first). */
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly o: DetectionEventSinkOptions) {}

  private stream(name: string): Promise<StreamRef> {
    let p = this.streams.get(name);
    if (!p) {
      p = this.o.resolveStream(name);
      p.catch(() => this.streams.delete(name));
      this.streams.set(name, p);
    }
    return p;
  }

  /**
   * Starts the event's snapshot now (the pipeline calls it when the event is queued), so the snapshots of
   * several events queued together are made while the earlier ones are published; at most
   * `snapshotConcurrency` at a time, in queue order.
   */
  prepare(e: LifecycleEvent): void {
    if (!this.o.snapshots || this.prepared.has(e)) return;
    const p = this.stream(e.stream).then((stream) => this.snapshotFor(e, stream, detectionEventId(stream.arn, e.id)));
    p.catch(() => undefined);
    this.prepared.set(e, p);
  }

  async publish(e: LifecycleEvent): Promise<void> {
    const stream = await this.stream(e.stream);
    const id = detectionEventId(stream.arn, e.id);
    const obs = observation(e.after, e.after.current);
    const snapshot = await (this.prepared.get(e) ?? this.snapshotFor(e, stream, id));
    this.prepared.delete(e);

    let prev = this.last.get(id) ?? (await this.o.store.get(id))?.latest;
    let ev: DetectionEvent;
    if (e.type === 'start' || !prev) {
      ev = startEvent(stream, obs, snapshot ?? null, id);
      ev.after.startTime = Math.min(ev.after.startTime, e.after.startTimeMs);
      if (e.type !== 'start') {
        prev = ev;
        ev = nextEvent(prev, e.type, obs, snapshot);
      }
    } else {
      ev = nextEvent(prev, e.type, obs, snapshot);
    }
    ev.after.topScore = Math.max(ev.after.topScore, e.after.best.score);
    ev.score = ev.after.topScore;
    if (e.type === 'end') {
      ev.after.endTime = e.after.endTimeMs ?? ev.after.endTime;
      this.last.delete(id);
    } else {
      this.last.set(id, ev);
    }
    // A worker killed after publishing a fragment's events, but before saving its checkpoint, analyses
    // that fragment again and makes the same messages (same ids and times): they were sent already.
    if (await this.o.store.hasMessage(ev)) return;
    await this.o.store.record(ev);
    await this.o.notifier.publish(ev);
  }

  private async snapshotFor(e: LifecycleEvent, stream: StreamRef, id: string): Promise<SnapshotLinks | undefined> {
    const bestChanged = !e.before || e.before.best.producerTimestampMs !== e.after.best.producerTimestampMs || e.before.best.frameIndex !== e.after.best.frameIndex;
    if (e.type === 'end' || !bestChanged || !e.bestFrame || !this.o.snapshots) return undefined;
    const max = Math.max(1, this.o.snapshotConcurrency ?? 2);
    if (this.running >= max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await this.snapshot(stream, id, e.after, e.bestFrame);
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  private async snapshot(stream: StreamRef, id: string, obj: TrackedObject, frame: RgbFrame): Promise<SnapshotLinks | undefined> {
    const store = this.o.snapshots;
    if (!store) return undefined;
    const best = obj.best;
    const size = sourceSize(best);
    const known = size.width > 1 && size.height > 1;
    const outW = known ? size.width : frame.width;
    const outH = known ? size.height : frame.height;
    try {
      const [nx1, ny1, nx2, ny2] = best.boxNorm;
      const boxes = [{ x: nx1 * outW, y: ny1 * outH, width: (nx2 - nx1) * outW, height: (ny2 - ny1) * outH, label: `${obj.label} ${Math.round(best.score * 100)}%` }];
      let jpeg: Buffer;
      let annotate: ((j: Buffer) => Promise<Buffer>) | undefined;
      if (this.o.encodeJpeg) {
        jpeg = await this.o.encodeJpeg(frame, outW, outH);
      } else {
        const rgb = Buffer.from(frame.rgb.buffer, frame.rgb.byteOffset, frame.rgb.byteLength);
        const pair = await encodeSnapshotPair({ kind: 'raw', data: rgb, width: frame.width, height: frame.height }, boxes, { outWidth: outW, outHeight: outH });
        jpeg = pair.clean;
        annotate = () => Promise.resolve(pair.annotated);
      }
      return await captureSnapshots(store, {
        jpeg,
        boxes,
        key: { accountId: this.o.accountId, stream: stream.name, timestampMs: best.producerTimestampMs, guid: id },
        metadata: kvsImageMetadata({ producerTimestamp: best.producerTimestampMs, serverTimestamp: best.serverTimestampMs, fragmentNumber: best.fragmentNumber }),
      }, annotate);
    } catch (err) {
      this.o.onLog?.(`snapshot for ${stream.name} ${id} failed: ${(err as Error).message}`);
      return undefined;
    }
  }
}
