/**
 * Admission control at the HTTP edge: per-stream call rates (KVS's TPS quotas) and caps on
 * expensive concurrent work (GetClip, GetImages). Each refusal is counted and answered with
 * ClientLimitExceededException, as KVS does when throttling.
 */
import { KvsError } from '../shared/errors.ts';
import { KeyedBuckets } from '../shared/token-bucket.ts';

/** A counting semaphore that refuses instead of queueing. */
export class ConcurrencyGate {
  active = 0;
  refused = 0;

  constructor(
    readonly what: string,
    readonly max: number,
  ) {}

  /** Takes a slot or throws ClientLimitExceededException; call the returned release exactly once (extra calls are ignored). */
  enter(): () => void {
    if (this.active >= this.max) {
      this.refused++;
      throw new KvsError('ClientLimitExceededException', `Too many concurrent ${this.what} requests (limit ${this.max}); try again later.`);
    }
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
    };
  }

  /** Runs `work` inside a slot. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    const release = this.enter();
    try {
      return await work();
    } finally {
      release();
    }
  }
}

/** KVS's per-stream TPS quotas: a token bucket per (operation, stream), burst of two seconds' worth. */
export class CallLimiter {
  refused = 0;
  private readonly buckets: KeyedBuckets | undefined;

  constructor(
    readonly perSecond: number,
    now: () => number = Date.now,
  ) {
    this.buckets = perSecond > 0 ? new KeyedBuckets(perSecond, perSecond * 2, now) : undefined;
  }

  check(operation: string, streamName: string): void {
    if (!this.buckets || this.buckets.tryTake(`${operation}\u0000${streamName}`)) return;
    this.refused++;
    throw new KvsError('ClientLimitExceededException', `${operation} on stream ${streamName} exceeded ${this.perSecond} calls per second.`);
  }
}
