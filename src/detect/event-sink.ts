/**
 * EventSink adapter: LifecycleEvent (detection pipeline) → DetectionEvent (public event model).
 * Writes the best frame as clean + annotated JPEG snapshots, records the message in the EventStore
 * and hands it to a Notifier (normally a Fanout of webhook / MQTT / EventFeed).
 */
import { createHash } from 'node:crypto';
import type { EventStore } from '../events/event-store.ts';
import { nextEvent, startEvent, type TrackObservation } from '../events/lifecycle.ts';
import { makeBox, type DetectionEvent, type SnapshotLinks, type StreamRef } from '../events/types.ts';
import { encodeJpeg } from '../media-tools/jpeg.ts';
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
  /** Injectable for tests; default ffmpeg via media-tools. */
  encodeJpeg?: (frame: RgbFrame, outWidth: number, outHeight: number) => Promise<Buffer>;
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

  async publish(e: LifecycleEvent): Promise<void> {
    const stream = await this.stream(e.stream);
    const id = detectionEventId(stream.arn, e.id);
    const obs = observation(e.after, e.after.current);
    const bestChanged = !e.before || e.before.best.producerTimestampMs !== e.after.best.producerTimestampMs || e.before.best.frameIndex !== e.after.best.frameIndex;
    const snapshot = e.type !== 'end' && bestChanged && e.bestFrame ? await this.snapshot(stream, id, e.after, e.bestFrame) : undefined;

    let prev = this.last.get(id) ?? this.o.store.get(id)?.latest;
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
    this.o.store.record(ev);
    await this.o.notifier.publish(ev);
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
      const encode = this.o.encodeJpeg ?? ((f, w, h) => encodeJpeg(f.rgb, f.width, f.height, { outWidth: w, outHeight: h }));
      const jpeg = await encode(frame, outW, outH);
      const [nx1, ny1, nx2, ny2] = best.boxNorm;
      return await captureSnapshots(store, {
        jpeg,
        boxes: [{ x: nx1 * outW, y: ny1 * outH, width: (nx2 - nx1) * outW, height: (ny2 - ny1) * outH, label: `${obj.label} ${Math.round(best.score * 100)}%` }],
        key: { accountId: this.o.accountId, stream: stream.name, timestampMs: best.producerTimestampMs, guid: id },
        metadata: kvsImageMetadata({ producerTimestamp: best.producerTimestampMs, serverTimestamp: best.serverTimestampMs, fragmentNumber: best.fragmentNumber }),
      });
    } catch (err) {
      this.o.onLog?.(`snapshot for ${stream.name} ${id} failed: ${(err as Error).message}`);
      return undefined;
    }
  }
}
