/**
 * Person-detection events. One tracked person is one event (one `id`); the detection worker emits
 * a lifecycle of messages for it, Frigate style: `start` once, `update` while the track lives,
 * `end` once. Each message carries the object state `before` (previous message's `after`, null on
 * start) and `after`.
 */

export type DetectionEventType = 'start' | 'update' | 'end';
export type DetectionLabel = 'person';

/** Box relative to the frame, each value 0..1 (the Rekognition `BoundingBox` convention). */
export interface NormalizedBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Box in source pixels plus its normalised form. */
export interface DetectionBox {
  x: number;
  y: number;
  width: number;
  height: number;
  /** Source frame size the pixel values refer to. */
  frameWidth: number;
  frameHeight: number;
  normalized: NormalizedBox;
}

export interface StreamRef {
  name: string;
  arn: string;
}

/** Where the snapshot JPEGs live. URLs are presigned GET URLs for S3, `/snapshots/<key>` locally. */
export interface SnapshotLinks {
  /** The frame itself. */
  clean: { key: string; url: string };
  /** The frame with boxes (and labels when a font is available) drawn on it. */
  annotated?: { key: string; url: string };
}

/** The tracked object's state at one message (Frigate's `before`/`after`). */
export interface ObjectState {
  /** Event id (same as DetectionEvent.id). */
  id: string;
  trackId: string;
  label: DetectionLabel;
  /** Score on this frame. */
  score: number;
  /** Best score so far for the track. */
  topScore: number;
  box: DetectionBox;
  zone: string | null;
  /** Producer time of the first frame of the track (ms epoch). */
  startTime: number;
  /** Producer time of the last frame, set once the track has ended (ms epoch). */
  endTime: number | null;
  /** Producer time of the frame this state describes (ms epoch). */
  frameTime: number;
  fragmentNumber: string;
  active: boolean;
}

export interface DetectionEvent {
  /** uuid of the tracked person; identical on start/update/end. */
  id: string;
  stream: StreamRef;
  type: DetectionEventType;
  label: DetectionLabel;
  /** Best score seen for this track. */
  score: number;
  box: DetectionBox;
  zone: string | null;
  /** Fragments the track has been seen in so far, oldest first. */
  fragmentNumbers: string[];
  /** Fragment start producer timestamp (ms epoch) of the frame in `after`. */
  producerTimestamp: number;
  /** Fragment server timestamp (ms epoch). */
  serverTimestamp: number;
  /** Producer time of the frame (ms epoch). */
  frameTime: number;
  trackId: string;
  snapshot: SnapshotLinks | null;
  before: ObjectState | null;
  after: ObjectState;
  /** Set on events from a batch analysis job (src/jobs); absent on live detection events. */
  jobId?: string;
}

export function isDetectionEventType(v: unknown): v is DetectionEventType {
  return v === 'start' || v === 'update' || v === 'end';
}

/** Pixel box → DetectionBox with the normalised form filled in (clamped to 0..1). */
export function makeBox(x: number, y: number, width: number, height: number, frameWidth: number, frameHeight: number): DetectionBox {
  const c = (v: number): number => Math.min(1, Math.max(0, v));
  return {
    x,
    y,
    width,
    height,
    frameWidth,
    frameHeight,
    normalized: {
      left: c(x / frameWidth),
      top: c(y / frameHeight),
      width: c(width / frameWidth),
      height: c(height / frameHeight),
    },
  };
}
