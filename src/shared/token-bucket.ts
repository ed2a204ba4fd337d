/**
 * A token bucket on an injected clock: `ratePerSec` tokens refill continuously up to `burst`.
 * Pure (no timers): callers ask how long to wait or whether a take succeeds.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
    private readonly now: () => number,
  ) {
    this.tokens = burst;
    this.at = now();
  }

  /** Takes `n` tokens if available now. */
  tryTake(n = 1): boolean {
    this.refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /**
   * Takes `n` tokens, going into debt if needed, and returns the ms to wait until the debt is
   * repaid (0 when there was enough). Used for throttling by delay rather than refusal.
   */
  take(n: number): number {
    this.refill();
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.ratePerSec) * 1000);
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.at) / 1000) * this.ratePerSec);
    this.at = t;
  }
}

/** Token buckets by key, forgetting keys whose bucket has been full for a while (bounded memory). */
export class KeyedBuckets {
  private readonly buckets = new Map<string, { bucket: TokenBucket; usedAt: number }>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly now: () => number,
    private readonly maxKeys = 10_000,
  ) {}

  tryTake(key: string, n = 1): boolean {
    const t = this.now();
    let entry = this.buckets.get(key);
    if (!entry) {
      if (this.buckets.size >= this.maxKeys) this.prune(t);
      entry = { bucket: new TokenBucket(this.ratePerSec, this.burst, this.now), usedAt: t };
      this.buckets.set(key, entry);
    }
    entry.usedAt = t;
    return entry.bucket.tryTake(n);
  }

  private prune(t: number): void {
    const idleMs = (this.burst / this.ratePerSec) * 1000;
    for (const [k, e] of this.buckets) if (t - e.usedAt > idleMs) this.buckets.delete(k);
    // Still full (a flood of distinct keys): drop the oldest half rather than grow.
    if (this.buckets.size >= this.maxKeys) {
      let n = Math.floor(this.buckets.size / 2);
      for (const k of this.buckets.keys()) {
        if (n-- <= 0) break;
        this.buckets.delete(k);
      }
    }
  }
}
