/**
 * IoU tracker: greedy matching of detections to tracks of the same label by box overlap. Time based
 * (ms), since the sampling rate varies per stream. Pure; no I/O.
 */
import type { NormBox } from './types.ts';

export interface TrackInput {
  box: NormBox;
  score: number;
  label: string;
}

export interface Track {
  id: number;
  label: string;
  box: NormBox;
  score: number;
  /** Frames in which the track was matched. */
  hits: number;
  firstSeenMs: number;
  lastSeenMs: number;
  /** hits >= minHits at some point; stays true afterwards. */
  confirmed: boolean;
  /** Matched in the latest update. */
  matched: boolean;
}

export interface TrackerOptions {
  /** Minimum IoU for a detection to continue a track; default 0.3. */
  iouThreshold?: number;
  /** A track unmatched for longer than this is dropped; default 5000 ms. */
  maxAgeMs?: number;
  /** Matches needed before a track is confirmed; default 2. */
  minHits?: number;
}

/** What a tracker needs to continue exactly where it was (persisted with the worker's checkpoint). */
export interface TrackerState {
  nextId: number;
  tracks: Track[];
}

const copyTrack = (t: Track): Track => ({ ...t, box: [...t.box] });

export function iou(a: NormBox, b: NormBox): number {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

export class IouTracker {
  private tracks: Track[] = [];
  private nextId = 1;
  readonly iouThreshold: number;
  readonly maxAgeMs: number;
  readonly minHits: number;

  constructor(opts: TrackerOptions = {}) {
    this.iouThreshold = opts.iouThreshold ?? 0.3;
    this.maxAgeMs = opts.maxAgeMs ?? 5000;
    this.minHits = opts.minHits ?? 2;
  }

  /** Matches this frame's detections; returns the live tracks (matched or not yet expired). */
  update(detections: readonly TrackInput[], nowMs: number): readonly Track[] {
    // Expire first: a track not seen for longer than maxAge is over, even if a box shows up where it
    // was (a looping or periodic scene would otherwise keep one track, and its event, alive forever).
    this.tracks = this.tracks.filter((t) => nowMs - t.lastSeenMs <= this.maxAgeMs);
    const pairs: Array<{ t: number; d: number; iou: number }> = [];
    this.tracks.forEach((t, ti) =>
      detections.forEach((d, di) => {
        if (d.label !== t.label) return;
        const v = iou(t.box, d.box);
        if (v >= this.iouThreshold) pairs.push({ t: ti, d: di, iou: v });
      }),
    );
    pairs.sort((a, b) => b.iou - a.iou);
    const usedT = new Set<number>();
    const usedD = new Set<number>();
    for (const t of this.tracks) t.matched = false;
    for (const p of pairs) {
      if (usedT.has(p.t) || usedD.has(p.d)) continue;
      usedT.add(p.t);
      usedD.add(p.d);
      const t = this.tracks[p.t]!;
      const d = detections[p.d]!;
      t.box = d.box;
      t.score = d.score;
      t.hits++;
      t.lastSeenMs = nowMs;
      t.matched = true;
      if (t.hits >= this.minHits) t.confirmed = true;
    }
    detections.forEach((d, di) => {
      if (usedD.has(di)) return;
      this.tracks.push({
        id: this.nextId++, label: d.label, box: d.box, score: d.score, hits: 1,
        firstSeenMs: nowMs, lastSeenMs: nowMs, confirmed: this.minHits <= 1, matched: true,
      });
    });
    return this.tracks;
  }

  get active(): readonly Track[] {
    return this.tracks;
  }

  /** Forgets every track; ids keep counting, so a later track never reuses an earlier one's id. */
  reset(): void {
    this.tracks = [];
  }

  snapshot(): TrackerState {
    return { nextId: this.nextId, tracks: this.tracks.map(copyTrack) };
  }

  /** Continues from a snapshot: a restarted worker gives the same track ids to the same people. */
  restore(state: TrackerState): void {
    this.nextId = state.nextId;
    this.tracks = state.tracks.map(copyTrack);
  }
}
