/** Greedy non-maximum suppression (pure). */

export type Box = readonly [number, number, number, number];

export function iou(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const area = (r: Box): number => Math.max(0, r[2] - r[0]) * Math.max(0, r[3] - r[1]);
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

export interface NmsOptions {
  /** Boxes overlapping a kept box by more than this are dropped. Default 0.5. */
  iouThreshold?: number;
  /** Only suppress boxes of the same classId (default true). */
  perClass?: boolean;
}

/**
 * Keeps the highest-scoring box, drops every box overlapping it by IoU > threshold, repeats.
 * Output is sorted by descending score (ties keep input order); the input is not modified.
 */
export function nms<T extends { box: Box; score: number; classId?: number }>(items: readonly T[], opts: NmsOptions = {}): T[] {
  const thr = opts.iouThreshold ?? 0.5;
  const perClass = opts.perClass ?? true;
  const order = items.map((_, i) => i).sort((i, j) => (items[j] as T).score - (items[i] as T).score || i - j);
  const kept: T[] = [];
  for (const i of order) {
    const cand = items[i] as T;
    const clash = kept.some((k) => (!perClass || k.classId === cand.classId) && iou(k.box, cand.box) > thr);
    if (!clash) kept.push(cand);
  }
  return kept;
}
