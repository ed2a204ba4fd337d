import { describe, expect, it } from 'vitest';
import { DetectAhead } from '../../../src/detect/detect-ahead.ts';
import type { DetectionLike, DetectorLike, RgbFrame } from '../../../src/detect/types.ts';

/** A detector whose calls finish only when the test says so; each result names its frame. */
class ManualDetector implements DetectorLike {
  readonly inputSize = { width: 1, height: 1 };
  readonly started: number[] = [];
  private readonly finishers = new Map<number, () => void>();
  detect(frame: RgbFrame): Promise<DetectionLike[]> {
    const n = frame.rgb[0]!;
    this.started.push(n);
    return new Promise((resolve) => this.finishers.set(n, () => resolve([{ box: [n, 0, n + 1, 1], score: 1, classId: 0, label: `f${n}` }])));
  }
  finish(n: number): void {
    this.finishers.get(n)!();
  }
}

const frame = (n: number): RgbFrame => ({ width: 1, height: 1, rgb: Uint8Array.of(n, 0, 0) });
const tick = () => new Promise((r) => setImmediate(r));

describe('DetectAhead', () => {
  it('keeps at most `depth` calls outstanding, starts them in submission order, and gives each frame its own result', async () => {
    const d = new ManualDetector();
    const ahead = new DetectAhead(d, 2);
    const results = [1, 2, 3, 4].map((n) => ahead.submit(frame(n)));
    await tick();
    expect(d.started).toEqual([1, 2]);
    d.finish(2); // finishing out of order frees a slot; frame 3 starts next
    await tick();
    expect(d.started).toEqual([1, 2, 3]);
    d.finish(1);
    d.finish(3);
    await tick();
    d.finish(4);
    const labels = (await Promise.all(results)).map((r) => r[0]!.label);
    expect(labels).toEqual(['f1', 'f2', 'f3', 'f4']);
  });

  it('clear() drops frames not started yet; started ones finish', async () => {
    const d = new ManualDetector();
    const ahead = new DetectAhead(d, 1);
    const first = ahead.submit(frame(1));
    const second = ahead.submit(frame(2));
    ahead.clear('closed');
    await expect(second).rejects.toThrow('closed');
    d.finish(1);
    expect((await first)[0]!.label).toBe('f1');
    await tick();
    expect(d.started).toEqual([1]);
  });
});
