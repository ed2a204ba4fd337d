/**
 * Object detection contract shared by the bundled CenterNet person detector and user-supplied YOLO models.
 *
 * Frames are HWC rgb24 (what `ffmpeg -f rawvideo -pix_fmt rgb24` writes). Callers should have ffmpeg scale frames
 * to `inputSize` (cheapest); other sizes are resized here (bilinear) and boxes still come back in the
 * frame's own pixel coordinates.
 */

export interface RgbFrame {
  width: number;
  height: number;
  /** HWC rgb24, `width * height * 3` bytes. */
  rgb: Uint8Array;
}

export interface Detection {
  /** [x1, y1, x2, y2] in source-frame pixels. */
  box: [number, number, number, number];
  score: number;
  classId: number;
  label: string;
}

export interface Detector {
  /** The model's native input size; scale frames to this to skip the JS resize. */
  readonly inputSize: { width: number; height: number };
  detect(frame: RgbFrame): Promise<Detection[]>;
  /** Releases the onnxruntime session. */
  close(): Promise<void>;
}

/** COCO-80 class names in the usual contiguous order (CenterNet and most YOLO exports). */
export const COCO_LABELS: readonly string[] = [
  'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light',
  'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
  'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee',
  'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard',
  'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
  'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch',
  'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone',
  'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear',
  'hair drier', 'toothbrush',
];

export function labelFor(labels: readonly string[] | undefined, classId: number): string {
  return labels?.[classId] ?? `class${classId}`;
}

export function checkFrame(frame: RgbFrame): void {
  if (!(frame.width > 0 && frame.height > 0) || frame.rgb.length !== frame.width * frame.height * 3) {
    throw new Error(`frame is ${frame.width}x${frame.height} but has ${frame.rgb.length} bytes (expected w*h*3 rgb24)`);
  }
}

/** Bilinear resize of an rgb24 frame (half-pixel centres). Returns the input when the size already matches. */
export function resizeRgb(frame: RgbFrame, width: number, height: number): Uint8Array {
  if (frame.width === width && frame.height === height) return frame.rgb;
  const out = new Uint8Array(width * height * 3);
  const sx = frame.width / width;
  const sy = frame.height / height;
  const src = frame.rgb;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), frame.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, frame.height - 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), frame.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, frame.width - 1);
      const wx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const a = src[(y0 * frame.width + x0) * 3 + c] as number;
        const b = src[(y0 * frame.width + x1) * 3 + c] as number;
        const d = src[(y1 * frame.width + x0) * 3 + c] as number;
        const e = src[(y1 * frame.width + x1) * 3 + c] as number;
        const top = a + (b - a) * wx;
        const bot = d + (e - d) * wx;
        out[(y * width + x) * 3 + c] = Math.round(top + (bot - top) * wy);
      }
    }
  }
  return out;
}

export function clampBox(box: [number, number, number, number], width: number, height: number): [number, number, number, number] {
  const cx = (v: number): number => Math.min(Math.max(v, 0), width);
  const cy = (v: number): number => Math.min(Math.max(v, 0), height);
  return [cx(box[0]), cy(box[1]), cx(box[2]), cy(box[3])];
}
