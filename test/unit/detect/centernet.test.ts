/** The bundled CenterNet person detector on the committed fixtures (fixtures/README.md). */
import { fileURLToPath } from 'node:url';
import { threadId } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDetector } from '../../../src/detect/create-detector.ts';
import type { Detection } from '../../../src/detect/detector.ts';
import { CenterNetDetector } from '../../../src/detect/onnx-centernet.ts';
import type { DetectorLike } from '../../../src/detect/types.ts';
import { describeFailure, spawnFfmpeg } from '../../../src/media-tools/ffmpeg.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../../../fixtures/${name}`, import.meta.url));

/** Decodes every frame of `file` to rgb24, scaled to w×h when given (otherwise w×h must be the source size). */
async function rgbFrames(file: string, w: number, h: number, scale: boolean): Promise<Uint8Array[]> {
  const proc = spawnFfmpeg(['-i', file, ...(scale ? ['-vf', `scale=${w}:${h}`] : []), '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { stdout: 'pipe' });
  const chunks: Buffer[] = [];
  proc.stdout?.on('data', (c: Buffer) => chunks.push(c));
  const exit = await proc.exited;
  if (exit.code !== 0) throw new Error(describeFailure(exit, proc.stderrTail()));
  const all = Buffer.concat(chunks);
  const size = w * h * 3;
  expect(all.length % size).toBe(0);
  return Array.from({ length: all.length / size }, (_, i) => new Uint8Array(all.subarray(i * size, (i + 1) * size)));
}

const persons = (ds: Detection[]): Detection[] => ds.filter((d) => d.label === 'person' && d.score >= 0.5);
const near = (box: number[], ref: number[], tol: number): boolean => box.every((v, i) => Math.abs(v - (ref[i] as number)) <= tol);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

let det: CenterNetDetector;
beforeAll(async () => {
  det = await CenterNetDetector.create();
});
afterAll(async () => {
  await det?.close();
});

describe('CenterNet person detector', () => {
  it('finds the vtest pedestrians on the 768×576 frame (detector-side resize)', async () => {
    const [rgb] = await rgbFrames(fixture('people_vtest_frame.jpg'), 768, 576, false);
    const found = persons(await det.detect({ width: 768, height: 576, rgb: rgb! }));
    expect(found.length).toBeGreaterThanOrEqual(4);
    expect(found.some((d) => near(d.box, [586, 158, 620, 236], 15))).toBe(true);
    expect(found.some((d) => near(d.box, [345, 202, 379, 274], 15))).toBe(true);
    for (const d of found) expect(d.classId).toBe(0);
  });

  it('gives the same people when ffmpeg scales the frame to 512×512', async () => {
    expect(det.inputSize).toEqual({ width: 512, height: 512 });
    const [rgb] = await rgbFrames(fixture('people_vtest_frame.jpg'), 512, 512, true);
    const found = persons(await det.detect({ width: 512, height: 512, rgb: rgb! }));
    expect(found.length).toBeGreaterThanOrEqual(4);
    // [586,158,620,236] in 768×576 → ×(512/768, 512/576)
    expect(found.some((d) => near(d.box, [390.7, 140.4, 413.3, 209.8], 15))).toBe(true);
  });

  it('finds at least one person in every frame of the people clip', async () => {
    const frames = await rgbFrames(fixture('people_vtest_3s.mp4'), 512, 512, true);
    expect(frames.length).toBe(30);
    const counts: number[] = [];
    const ms: number[] = [];
    for (const rgb of frames) {
      counts.push(persons(await det.detect({ width: 512, height: 512, rgb })).length);
      ms.push(det.lastInferenceMs);
    }
    console.log(`people clip: persons per frame ${counts.join(',')}; inference median ${median(ms).toFixed(1)} ms, min ${Math.min(...ms).toFixed(1)} ms`);
    expect(counts.every((n) => n >= 1)).toBe(true);
  }, 180_000);

  it('finds no person ≥ 0.5 in any frame of the no-people clip', async () => {
    const frames = await rgbFrames(fixture('nopeople_tree_3s.mp4'), 512, 512, true);
    expect(frames.length).toBeGreaterThanOrEqual(40);
    // Threshold 0.2 to log the margin; NMS never lets a lower score suppress a ≥ 0.5 box, so filtering
    // this output at 0.5 equals running at 0.5.
    const wide = await createDetector({ type: 'centernet', scoreThreshold: 0.2 });
    try {
      let top = 0;
      for (const rgb of frames) {
        const all = await wide.detect({ width: 512, height: 512, rgb });
        expect(persons(all)).toEqual([]);
        for (const d of all) top = Math.max(top, d.score);
      }
      console.log(`no-people clip: ${frames.length} frames, highest person score ≥0.2: ${top || 'none'}`);
    } finally {
      await wide.close();
    }
  }, 180_000);

  it('reports other COCO classes when configured', async () => {
    const all = await createDetector({ type: 'centernet', classIds: Array.from({ length: 80 }, (_, i) => i), scoreThreshold: 0.3 });
    try {
      const [rgb] = await rgbFrames(fixture('people_vtest_frame.jpg'), 512, 512, true);
      const labels = new Set((await all.detect({ width: 512, height: 512, rgb: rgb! })).map((d) => d.label));
      expect(labels.has('person')).toBe(true);
    } finally {
      await all.close();
    }
  });

  it('serves two concurrent detect() calls on its inference thread, each with its own result', async () => {
    const [rgb] = await rgbFrames(fixture('people_vtest_frame.jpg'), 768, 576, false);
    // A Buffer on purpose: its slice() is a view, so a careless copy would detach the caller's memory.
    const black = { width: 512, height: 512, rgb: Buffer.alloc(512 * 512 * 3) };
    const [people, none] = await Promise.all([det.detect({ width: 768, height: 576, rgb: rgb! }), det.detect(black)]);
    expect(persons(people).length).toBeGreaterThanOrEqual(4);
    expect(persons(people).some((d) => near(d.box, [586, 158, 620, 236], 15))).toBe(true);
    expect(persons(none)).toEqual([]);
    // The caller keeps its frame (the 512×512 one is not resized): the inference thread gets a copy.
    expect(black.rgb.byteLength).toBe(512 * 512 * 3);
    expect(det.inferenceThreadId).not.toBe(threadId);
  });

  it('fits the pipeline\'s DetectorLike shape', () => {
    const like: DetectorLike = det;
    expect(like.inputSize.width).toBe(512);
  });

  it('rejects frames whose byte length does not match', async () => {
    await expect(det.detect({ width: 10, height: 10, rgb: new Uint8Array(5) })).rejects.toThrow(/rgb24/);
  });
});
