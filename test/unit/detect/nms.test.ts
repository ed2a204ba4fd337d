import { describe, expect, it } from 'vitest';
import { iou, nms } from '../../../src/detect/nms.ts';
import type { Box } from '../../../src/detect/nms.ts';

const d = (box: Box, score: number, classId = 0): { box: Box; score: number; classId: number } => ({ box, score, classId });

describe('iou', () => {
  it('is 1 for identical boxes, 0 for disjoint or touching ones', () => {
    expect(iou([0, 0, 10, 10], [0, 0, 10, 10])).toBe(1);
    expect(iou([0, 0, 10, 10], [20, 20, 30, 30])).toBe(0);
    expect(iou([0, 0, 10, 10], [10, 0, 20, 10])).toBe(0);
  });
  it('computes intersection over union', () => {
    // 10x10 boxes shifted by 5: inter 50, union 150
    expect(iou([0, 0, 10, 10], [5, 0, 15, 10])).toBeCloseTo(1 / 3, 10);
    expect(iou([0, 0, 10, 10], [2, 2, 8, 8])).toBeCloseTo(36 / 100, 10);
  });
  it('handles degenerate boxes', () => {
    expect(iou([0, 0, 0, 0], [0, 0, 0, 0])).toBe(0);
  });
});

describe('nms', () => {
  it('returns [] for no input', () => {
    expect(nms([])).toEqual([]);
  });
  it('keeps the best of overlapping boxes and sorts by score', () => {
    const a = d([0, 0, 10, 10], 0.6);
    const b = d([1, 0, 11, 10], 0.9); // IoU with a = 90/110 > 0.5
    const c = d([50, 50, 60, 60], 0.7);
    expect(nms([a, b, c])).toEqual([b, c]);
  });
  it('suppresses only above the threshold (IoU exactly 0.5 survives)', () => {
    const a = d([0, 0, 30, 10], 0.9);
    const b = d([10, 0, 40, 10], 0.8); // inter 200, union 400 → 0.5
    expect(nms([a, b])).toEqual([a, b]);
    expect(nms([a, b], { iouThreshold: 0.4 })).toEqual([a]);
  });
  it('is per class by default, class-agnostic on request', () => {
    const person = d([0, 0, 10, 10], 0.9, 0);
    const car = d([0, 0, 10, 10], 0.8, 2);
    expect(nms([person, car])).toEqual([person, car]);
    expect(nms([person, car], { perClass: false })).toEqual([person]);
  });
  it('is greedy: a suppressed box does not suppress others', () => {
    const a = d([0, 0, 10, 10], 0.9);
    const b = d([4, 0, 14, 10], 0.8); // overlaps a (0.43) — kept at 0.5
    const c = d([3, 0, 13, 10], 0.85); // overlaps a (0.54) → dropped; overlaps b (0.82) but is gone already
    expect(nms([a, b, c])).toEqual([a, b]);
  });
  it('does not modify its input and keeps input order on score ties', () => {
    const a = d([0, 0, 1, 1], 0.5);
    const b = d([5, 5, 6, 6], 0.5);
    const input = [a, b];
    expect(nms(input)).toEqual([a, b]);
    expect(input).toEqual([a, b]);
  });
});
