/**
 * Bytes received over a sliding window, in one-second buckets (pure; the caller passes the time).
 * Used for the PutMedia minimum-rate rule: a producer trickling a byte now and then must not hold
 * the stream's single producer slot.
 */
export class RateWindow {
  private readonly buckets: number[];
  private readonly seconds: number;
  private lastSecond: number;

  constructor(
    windowMs: number,
    private readonly startedAt: number,
  ) {
    this.seconds = Math.max(1, Math.ceil(windowMs / 1000));
    this.buckets = new Array<number>(this.seconds).fill(0);
    this.lastSecond = Math.floor(startedAt / 1000);
  }

  add(now: number, bytes: number): void {
    this.advance(now);
    this.buckets[this.lastSecond % this.seconds]! += bytes;
  }

  /** Bytes in the last full window, or undefined while the session is younger than the window. */
  bytesInWindow(now: number): number | undefined {
    if (now - this.startedAt < this.seconds * 1000) return undefined;
    this.advance(now);
    return this.buckets.reduce((a, b) => a + b, 0);
  }

  get windowSeconds(): number {
    return this.seconds;
  }

  private advance(now: number): void {
    const sec = Math.floor(now / 1000);
    const steps = Math.min(sec - this.lastSecond, this.seconds);
    for (let i = 1; i <= steps; i++) this.buckets[(this.lastSecond + i) % this.seconds] = 0;
    if (sec > this.lastSecond) this.lastSecond = sec;
  }
}
