/**
 * Shapes the pipeline needs from a detector. Structurally identical to `Detector` / `Detection` in
 * detector.ts (written separately), so any Detector can be passed where a DetectorLike is expected
 * without this folder importing the ONNX code.
 */
export type Box = [x1: number, y1: number, x2: number, y2: number];

export interface DetectionLike {
  /** Pixel coordinates of the frame given to detect(). */
  box: Box;
  score: number;
  classId: number;
  label: string;
}

export interface RgbFrame {
  width: number;
  height: number;
  /** HWC rgb24. */
  rgb: Uint8Array;
}

export interface DetectorLike {
  inputSize: { width: number; height: number };
  detect(frame: RgbFrame): Promise<DetectionLike[]>;
}

/** Box in normalised [0,1] frame coordinates. */
export type NormBox = Box;
