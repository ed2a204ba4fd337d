/** Detection filters applied before tracking (pure). */
import type { DetectionLike, NormBox } from './types.ts';

export interface FilterOptions {
  labels: readonly string[];
  scoreThreshold: number;
  /** Minimum box area as a fraction of the frame (0..1). */
  minBoxArea: number;
}

export interface NormDetection {
  box: NormBox;
  score: number;
  label: string;
  classId: number;
}

/** Converts detector pixel boxes (of a frame of width x height) to clamped normalised boxes. */
export function normalise(d: DetectionLike, width: number, height: number): NormDetection {
  const c = (v: number) => Math.min(1, Math.max(0, v));
  return { box: [c(d.box[0] / width), c(d.box[1] / height), c(d.box[2] / width), c(d.box[3] / height)], score: d.score, label: d.label, classId: d.classId };
}

export function boxArea(b: NormBox): number {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}

export function filterDetections(ds: readonly NormDetection[], o: FilterOptions): NormDetection[] {
  return ds.filter((d) => o.labels.includes(d.label) && d.score >= o.scoreThreshold && boxArea(d.box) >= o.minBoxArea);
}
