/**
 * Hands frames to the detector as they arrive, keeping up to `depth` calls outstanding (started in
 * arrival order), so the inference thread has the next frame queued when it finishes one instead of
 * waiting for the pipeline to consume the result and send the next. Results are awaited in order by
 * the pipeline's serial queue. Pure orchestration; no I/O.
 */
import type { DetectionLike, DetectorLike, RgbFrame } from './types.ts';

interface Waiting {
  frame: RgbFrame;
  resolve: (d: DetectionLike[]) => void;
  reject: (e: Error) => void;
}

export class DetectAhead {
  private running = 0;
  private readonly waiting: Waiting[] = [];

  constructor(
    private readonly detector: DetectorLike,
    /** Calls outstanding at most; 2 = one being inferred and one queued behind it. */
    private readonly depth = 2,
  ) {}

  /** Detection of this frame: started now if fewer than `depth` are outstanding, else when one finishes. */
  submit(frame: RgbFrame): Promise<DetectionLike[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ frame, resolve, reject });
      this.pump();
    });
  }

  /** Frames not started yet are dropped (their promises reject); calls already started finish. */
  clear(reason = 'pipeline closed'): void {
    for (const w of this.waiting.splice(0)) w.reject(new Error(reason));
  }

  private pump(): void {
    while (this.running < this.depth && this.waiting.length > 0) {
      const w = this.waiting.shift()!;
      this.running++;
      this.detector
        .detect(w.frame)
        .then(w.resolve, w.reject)
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }
}
