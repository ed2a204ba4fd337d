import { randomUUID } from 'node:crypto';
import type { DetectionBox, DetectionEvent, ObjectState, SnapshotLinks, StreamRef } from './types.ts';

/** One observation of a tracked person on one frame (what the detection worker knows). */
export interface TrackObservation {
  trackId: string;
  score: number;
  box: DetectionBox;
  zone: string | null;
  /** Producer time of the frame (ms). */
  frameTime: number;
  fragmentNumber: string;
  /** Fragment producer/server timestamps (ms). */
  producerTimestamp: number;
  serverTimestamp: number;
}

function message(
  type: DetectionEvent['type'],
  id: string,
  stream: StreamRef,
  before: ObjectState | null,
  after: ObjectState,
  obs: TrackObservation,
  fragments: string[],
  snapshot: SnapshotLinks | null,
): DetectionEvent {
  return {
    id,
    stream,
    type,
    label: 'person',
    score: after.topScore,
    box: after.box,
    zone: after.zone,
    fragmentNumbers: fragments,
    producerTimestamp: obs.producerTimestamp,
    serverTimestamp: obs.serverTimestamp,
    frameTime: obs.frameTime,
    trackId: obs.trackId,
    snapshot,
    before,
    after,
  };
}

/** First message of a track. Pure apart from the default id. */
export function startEvent(stream: StreamRef, obs: TrackObservation, snapshot: SnapshotLinks | null = null, id: string = randomUUID()): DetectionEvent {
  const after: ObjectState = {
    id,
    trackId: obs.trackId,
    label: 'person',
    score: obs.score,
    topScore: obs.score,
    box: obs.box,
    zone: obs.zone,
    startTime: obs.frameTime,
    endTime: null,
    frameTime: obs.frameTime,
    fragmentNumber: obs.fragmentNumber,
    active: true,
  };
  return message('start', id, stream, null, after, obs, [obs.fragmentNumber], snapshot);
}

/** Follow-up message (`update`, or `end` with the last observation). Snapshot defaults to the previous one. */
export function nextEvent(prev: DetectionEvent, type: 'update' | 'end', obs: TrackObservation, snapshot?: SnapshotLinks | null): DetectionEvent {
  const before = prev.after;
  const after: ObjectState = {
    ...before,
    score: obs.score,
    topScore: Math.max(before.topScore, obs.score),
    box: obs.box,
    zone: obs.zone,
    frameTime: obs.frameTime,
    fragmentNumber: obs.fragmentNumber,
    endTime: type === 'end' ? obs.frameTime : null,
    active: type !== 'end',
  };
  const fragments = prev.fragmentNumbers.includes(obs.fragmentNumber) ? prev.fragmentNumbers : [...prev.fragmentNumbers, obs.fragmentNumber];
  return message(type, prev.id, prev.stream, before, after, { ...obs, trackId: prev.trackId }, fragments, snapshot === undefined ? prev.snapshot : snapshot);
}
