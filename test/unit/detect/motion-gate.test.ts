import { describe, expect, it } from 'vitest';
import { MotionGate, toGrey } from '../../../src/detect/motion-gate.ts';
import type { RgbFrame } from '../../../src/detect/types.ts';

function frame(w: number, h: number, square?: { x: number; y: number; s: number }): RgbFrame {
  const rgb = new Uint8Array(w * h * 3).fill(30);
  if (square) {
    for (let y = square.y; y < square.y + square.s; y++) for (let x = square.x; x < square.x + square.s; x++) rgb.fill(220, (y * w + x) * 3, (y * w + x) * 3 + 3);
  }
  return { width: w, height: h, rgb };
}

describe('MotionGate', () => {
  it('downscales to grey keeping the aspect', () => {
    const g = toGrey(frame(320, 240), 64);
    expect([g.width, g.height]).toEqual([64, 48]);
    expect(g.grey[0]).toBe(30);
  });
  it('first frame passes; identical frames do not; a moving object does', () => {
    const gate = new MotionGate();
    expect(gate.hasMotion(frame(320, 240, { x: 10, y: 10, s: 40 }))).toBe(true);
    expect(gate.hasMotion(frame(320, 240, { x: 10, y: 10, s: 40 }))).toBe(false);
    expect(gate.hasMotion(frame(320, 240, { x: 60, y: 10, s: 40 }))).toBe(true);
  });
  it('thresholds are configurable', () => {
    const gate = new MotionGate({ areaThreshold: 0.5 });
    gate.hasMotion(frame(320, 240));
    expect(gate.hasMotion(frame(320, 240, { x: 0, y: 0, s: 100 }))).toBe(false); // ~13% changed
    expect(gate.changed(frame(320, 240))).toBeGreaterThan(0.1);
    gate.reset();
    expect(gate.hasMotion(frame(320, 240))).toBe(true);
  });
});
