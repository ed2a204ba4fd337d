/**
 * Cheap motion gate (peers.md §1 lesson 3): downscale to a small grey frame, compare with the previous
 * one, and report motion when enough pixels changed. Pure; state is the previous grey frame.
 */
import type { RgbFrame } from './types.ts';

export interface MotionGateOptions {
  /** Grey frame width used for comparison (height keeps the aspect); default 64. */
  gridWidth?: number;
  /** Per-pixel change (0..255) that counts as changed; default 25. */
  pixelThreshold?: number;
  /** Fraction of changed pixels (0..1) that counts as motion; default 0.002. */
  areaThreshold?: number;
}

export function toGrey(frame: RgbFrame, gridWidth: number): { width: number; height: number; grey: Uint8Array } {
  const w = Math.max(1, Math.min(gridWidth, frame.width));
  const h = Math.max(1, Math.round((frame.height * w) / frame.width));
  const grey = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(frame.height - 1, Math.floor(((y + 0.5) * frame.height) / h));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(frame.width - 1, Math.floor(((x + 0.5) * frame.width) / w));
      const i = (sy * frame.width + sx) * 3;
      grey[y * w + x] = (frame.rgb[i]! * 77 + frame.rgb[i + 1]! * 150 + frame.rgb[i + 2]! * 29) >> 8;
    }
  }
  return { width: w, height: h, grey };
}

export class MotionGate {
  private prev: Uint8Array | undefined;
  private readonly gridWidth: number;
  private readonly pixelThreshold: number;
  private readonly areaThreshold: number;

  constructor(opts: MotionGateOptions = {}) {
    this.gridWidth = opts.gridWidth ?? 64;
    this.pixelThreshold = opts.pixelThreshold ?? 25;
    this.areaThreshold = opts.areaThreshold ?? 0.002;
  }

  /** Fraction of changed pixels versus the previous frame (1 for the first frame). */
  changed(frame: RgbFrame): number {
    const { grey } = toGrey(frame, this.gridWidth);
    const prev = this.prev;
    this.prev = grey;
    if (!prev || prev.length !== grey.length) return 1;
    let n = 0;
    for (let i = 0; i < grey.length; i++) if (Math.abs(grey[i]! - prev[i]!) > this.pixelThreshold) n++;
    return n / grey.length;
  }

  /** True when the frame differs enough from the previous one (the first frame always passes). */
  hasMotion(frame: RgbFrame): boolean {
    return this.changed(frame) >= this.areaThreshold;
  }

  reset(): void {
    this.prev = undefined;
  }
}
