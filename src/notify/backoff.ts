export interface BackoffOptions {
  /** First retry delay (ms). Default 1000. */
  baseMs?: number;
  /** Cap (ms). Default 300_000 (5 min). */
  maxMs?: number;
  /** Fraction of the delay that is randomised away, 0..1. Default 0.2. */
  jitter?: number;
}

/**
 * Delay before retry number `attempt` (1 = after the first failure): base·2^(attempt-1), capped,
 * then reduced by up to `jitter` of itself so many clients do not retry in lockstep.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = opts.baseMs ?? 1000;
  const max = opts.maxMs ?? 300_000;
  const jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.2));
  const raw = Math.min(max, base * 2 ** Math.max(0, Math.min(attempt - 1, 40)));
  return Math.max(0, Math.round(raw * (1 - jitter * random())));
}
