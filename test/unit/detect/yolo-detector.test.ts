/**
 * YOLO decoding against tiny ONNX models generated here (with onnx-proto via our builder): the output is a
 * constant table plus 0·sum(input), shaped [1,N,85] (YOLOv5) or [1,84,N] (YOLOv8).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { DT, OnnxBuilder } from '../../../models/tfjs2onnx/onnx-builder.ts';
import { createDetector } from '../../../src/detect/create-detector.ts';
import type { RgbFrame } from '../../../src/detect/detector.ts';
import { YoloDetector, decodeYolo, detectLayout, geometry } from '../../../src/detect/yolo-detector.ts';

const IN_W = 96;
const IN_H = 64;
const N = 100;
const C = 80;

interface Row { cx: number; cy: number; w: number; h: number; obj: number; cls: number; p: number }
// Input-space rows: a person, a weaker duplicate of it, a second person, a car, a weak person.
const ROWS: Row[] = [
  { cx: 48, cy: 32, w: 20, h: 40, obj: 0.9, cls: 0, p: 0.9 }, // 0.81
  { cx: 49, cy: 32, w: 20, h: 40, obj: 0.9, cls: 0, p: 0.8 }, // 0.72, IoU ≈ 0.9 with row 0 → NMS drops it
  { cx: 10, cy: 10, w: 8, h: 8, obj: 0.8, cls: 0, p: 0.9 }, // 0.72
  { cx: 70, cy: 40, w: 10, h: 10, obj: 0.95, cls: 2, p: 0.95 }, // car 0.9025
  { cx: 30, cy: 50, w: 6, h: 6, obj: 0.5, cls: 0, p: 0.5 }, // 0.25 < threshold
];

function table(layout: 'yolov5' | 'yolov8'): { dims: number[]; data: Float32Array } {
  const attrs = layout === 'yolov5' ? 5 + C : 4 + C;
  const data = new Float32Array(N * attrs);
  const set = layout === 'yolov5' ? (i: number, k: number, v: number) => (data[i * attrs + k] = v) : (i: number, k: number, v: number) => (data[k * N + i] = v);
  ROWS.forEach((r, i) => {
    [r.cx, r.cy, r.w, r.h].forEach((v, k) => set(i, k, v));
    if (layout === 'yolov5') {
      set(i, 4, r.obj);
      set(i, 5 + r.cls, r.p);
    } else set(i, 4 + r.cls, r.obj * r.p); // v8 has no objectness: same final score
  });
  return { dims: layout === 'yolov5' ? [1, N, attrs] : [1, attrs, N], data };
}

/**
 * The constant table plus 0·sum(input). Extras: `shift` moves row 0's cx by shift·mean(input), so the result
 * depends on the frame; `heavy` chains that many 1024×1024 MatMuls on an input-derived matrix into the 0·…
 * term, so a run takes a measurable time (tens of ms) without changing the result.
 */
function yoloModel(layout: 'yolov5' | 'yolov8', extra: { shift?: number; heavy?: number } = {}): Uint8Array {
  const b = new OnnxBuilder();
  const { dims, data } = table(layout);
  b.addInput({ name: 'images', elemType: DT.FLOAT, dims: [1, 3, IN_H, IN_W] });
  let k = b.constant('table', { dataType: DT.FLOAT, dims, raw: data });
  const s = b.op('ReduceSum', ['images'], 'sum', { keepdims: { i: 0 } });
  let z = b.op('Mul', [s, b.float(0)], 'zero');
  if (extra.shift) {
    const d = new Float32Array(data.length);
    d[0] = extra.shift; // row 0's cx in both layouts
    const mean = b.op('ReduceMean', ['images'], 'mean', { keepdims: { i: 0 } });
    k = b.op('Add', [k, b.op('Mul', [b.constant('shift', { dataType: DT.FLOAT, dims, raw: d }), mean], 'shifted')], 'table_shifted');
  }
  if (extra.heavy) {
    const S = 1024;
    const m = b.constant('mat', { dataType: DT.FLOAT, dims: [S, S], raw: new Float32Array(S * S).fill(1 / S) });
    let x = b.op('Mul', [m, s], 'x'); // depends on the input: not constant-folded at load
    for (let i = 0; i < extra.heavy; i++) x = b.op('MatMul', [x, m], 'x');
    z = b.op('Add', [z, b.op('Mul', [b.op('ReduceSum', [x], 'xsum', { keepdims: { i: 0 } }), b.float(0)], 'xzero')], 'zero');
  }
  b.node('Add', [k, z], [b.reserve('output0')]);
  b.addOutput({ name: 'output0', elemType: DT.FLOAT, dims });
  return b.encode('yolo-test', '');
}

const dir = mkdtempSync(join(tmpdir(), 'kestrel-yolo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const modelFile = (layout: 'yolov5' | 'yolov8', extra: { shift?: number; heavy?: number } = {}): string => {
  const p = join(dir, `${layout}-${extra.shift ?? 0}-${extra.heavy ?? 0}.onnx`);
  writeFileSync(p, yoloModel(layout, extra));
  return p;
};
const frame = (width: number, height: number, fill = 90): RgbFrame => ({ width, height, rgb: new Uint8Array(width * height * 3).fill(fill) });
const rounded = (box: number[]): number[] => box.map((v) => Math.round(v * 100) / 100);

describe('YOLO decode (pure)', () => {
  it('detects the layout from the shape', () => {
    expect(detectLayout([1, 25200, 85])).toBe('yolov5');
    expect(detectLayout([1, 84, 8400])).toBe('yolov8');
    expect(() => detectLayout([25200, 85])).toThrow(/YOLO output/);
  });
  for (const layout of ['yolov5', 'yolov8'] as const) {
    it(`decodes ${layout} rows into input-space boxes with scores and classes`, () => {
      const { dims, data } = table(layout);
      const raw = decodeYolo(data, dims, layout, 0.5);
      expect(raw.map((r) => r.classId)).toEqual([0, 0, 0, 2]);
      expect(raw[0]?.score).toBeCloseTo(0.81, 5);
      expect(raw[0]?.box).toEqual([38, 12, 58, 52]);
      expect(raw[3]?.score).toBeCloseTo(0.9025, 5);
    });
  }
  it('computes letterbox and stretch geometry', () => {
    expect(geometry(192, 128, 96, 64, 'letterbox')).toEqual({ scaleX: 0.5, scaleY: 0.5, padX: 0, padY: 0, innerW: 96, innerH: 64 });
    expect(geometry(96, 128, 96, 64, 'letterbox')).toEqual({ scaleX: 0.5, scaleY: 0.5, padX: 24, padY: 0, innerW: 48, innerH: 64 });
    expect(geometry(96, 128, 96, 64, 'stretch')).toEqual({ scaleX: 1, scaleY: 0.5, padX: 0, padY: 0, innerW: 96, innerH: 64 });
  });
});

describe('YoloDetector on generated ONNX models', () => {
  for (const layout of ['yolov5', 'yolov8'] as const) {
    it(`${layout}: reads the input size, filters class 0, applies threshold and NMS, maps boxes back`, async () => {
      const det = await YoloDetector.create({ modelPath: modelFile(layout) });
      try {
        expect(det.inputSize).toEqual({ width: IN_W, height: IN_H });
        const out = await det.detect(frame(192, 128)); // exactly 2× the input: letterbox scale 0.5, no padding
        expect(out.map((d) => d.label)).toEqual(['person', 'person']);
        expect(out[0]?.score).toBeCloseTo(0.81, 5);
        expect(rounded(out[0]!.box)).toEqual([76, 24, 116, 104]);
        expect(rounded(out[1]!.box)).toEqual([12, 12, 28, 28]);
      } finally {
        await det.close();
      }
    });
  }

  it('undoes letterbox padding, or stretch when asked', async () => {
    const path = modelFile('yolov5');
    const lb = await YoloDetector.create({ modelPath: path });
    const st = await YoloDetector.create({ modelPath: path, resize: 'stretch' });
    try {
      // 96×128 portrait frame into 96×64: letterbox scale 0.5, 24 px padding left and right.
      expect(rounded((await lb.detect(frame(96, 128)))[0]!.box)).toEqual([28, 24, 68, 104]);
      expect(rounded((await st.detect(frame(96, 128)))[0]!.box)).toEqual([38, 24, 58, 104]);
    } finally {
      await lb.close();
      await st.close();
    }
  });

  it('alerts on a configured class with custom labels through the factory', async () => {
    const labels = Array.from({ length: C }, (_, i) => (i === 2 ? 'vehicle' : `c${i}`));
    const det = await createDetector({ type: 'yolo', modelPath: modelFile('yolov8'), classId: 2, labels });
    try {
      const out = await det.detect(frame(IN_W, IN_H));
      expect(out).toHaveLength(1);
      expect(out[0]).toMatchObject({ classId: 2, label: 'vehicle' });
      expect(rounded(out[0]!.box)).toEqual([65, 35, 75, 45]);
      expect(out[0]!.score).toBeCloseTo(0.9025, 5);
    } finally {
      await det.close();
    }
  });

  it('respects a custom score threshold', async () => {
    const det = await createDetector({ type: 'yolo', modelPath: modelFile('yolov5'), scoreThreshold: 0.2 });
    try {
      expect((await det.detect(frame(IN_W, IN_H))).map((d) => Math.round(d.score * 100))).toEqual([81, 72, 25]);
    } finally {
      await det.close();
    }
  });

  it('runs the session off the main thread: the event loop keeps turning during a detect', async () => {
    const det = await YoloDetector.create({ modelPath: modelFile('yolov5', { heavy: 8 }) });
    try {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      const pending = det.detect(frame(IN_W, IN_H));
      const ticksAtStart = ticks;
      let out;
      try {
        out = await pending;
      } finally {
        clearInterval(timer);
      }
      expect(out.map((d) => d.label)).toEqual(['person', 'person']);
      // Deterministic: the run happened on another thread than this one.
      expect(det.lastInferenceThreadId).not.toBe(0);
      expect(det.lastInferenceThreadId).not.toBe(threadId);
      // The 8 MatMuls take tens of ms on the worker; on the main thread they would block every tick.
      console.log(`heavy YOLO run ${det.lastInferenceMs.toFixed(1)} ms on thread ${det.lastInferenceThreadId}; ${ticks - ticksAtStart} 5-ms ticks meanwhile`);
      expect(ticks - ticksAtStart).toBeGreaterThan(0);
    } finally {
      await det.close();
    }
  });

  it('gives each of two concurrent detect() calls its own result', async () => {
    const det = await YoloDetector.create({ modelPath: modelFile('yolov8', { shift: 40, heavy: 2 }) });
    try {
      // Row 0's cx is 48 + 40·mean(input): a black frame keeps it at 48, a white one moves it to 88 (clamped at 96).
      const [black, white] = await Promise.all([det.detect(frame(IN_W, IN_H, 0)), det.detect(frame(2 * IN_W, 2 * IN_H, 255))]);
      expect(rounded(black[0]!.box)).toEqual([38, 12, 58, 52]);
      expect(rounded(white[0]!.box)).toEqual([156, 24, 192, 104]);
      expect(black[0]!.score).toBeCloseTo(0.81, 5);
      expect(white[0]!.score).toBeCloseTo(0.81, 5);
    } finally {
      await det.close();
    }
  });
});
