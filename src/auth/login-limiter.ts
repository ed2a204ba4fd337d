/**
 * Rate limit for viewer sign-in: failed attempts are counted per client address and per user name
 * in fixed windows. Once either count reaches its limit, further attempts are refused (429 with
 * Retry-After) until that window ends, without checking the password, so guessing costs the
 * attacker time and us no scrypt work. Both maps are LRU-bounded (an attacker cycling through
 * made-up user names evicts old entries, counted in `evicted`, but still meets the address limit).
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../shared/clock.ts';

export interface LoginLimits {
  /** Length of a counting window. */
  windowMs: number;
  maxFailuresPerAddress: number;
  maxFailuresPerUser: number;
  /** Entries kept in each map (addresses, user names). */
  maxTracked: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  windowMs: 15 * 60_000,
  maxFailuresPerAddress: 20,
  maxFailuresPerUser: 10,
  maxTracked: 10_000,
};

interface Window {
  failures: number;
  endsAt: number;
}

export type LoginVerdict = { allowed: true } | { allowed: false; retryAfterSec: number; reason: 'address' | 'user' };

export class LoginLimiter {
  /** Entries dropped to stay within `maxTracked` (both maps). */
  evicted = 0;
  /** Attempts refused without checking the password. */
  refused = 0;
  private readonly byAddress: LRUCache<string, Window>;
  private readonly byUser: LRUCache<string, Window>;

  constructor(
    private readonly limits: LoginLimits,
    private readonly clock: Clock,
  ) {
    const dispose = (_v: Window, _k: string, reason: LRUCache.DisposeReason) => {
      if (reason === 'evict') this.evicted++;
    };
    this.byAddress = new LRUCache({ max: limits.maxTracked, dispose });
    this.byUser = new LRUCache({ max: limits.maxTracked, dispose });
  }

  /** Whether an attempt from `address` for `user` may be checked at all. */
  check(address: string, user: string): LoginVerdict {
    const now = this.clock.now();
    const a = this.blockedFor(this.byAddress, address, this.limits.maxFailuresPerAddress, now);
    const u = this.blockedFor(this.byUser, userKey(user), this.limits.maxFailuresPerUser, now);
    if (a === 0 && u === 0) return { allowed: true };
    this.refused++;
    return { allowed: false, retryAfterSec: Math.max(1, Math.ceil(Math.max(a, u) / 1000)), reason: a >= u ? 'address' : 'user' };
  }

  recordFailure(address: string, user: string): void {
    const now = this.clock.now();
    this.bump(this.byAddress, address, now);
    this.bump(this.byUser, userKey(user), now);
  }

  /** A correct password clears the user's count (the address keeps its failures). */
  recordSuccess(user: string): void {
    this.byUser.delete(userKey(user));
  }

  get tracked(): number {
    return this.byAddress.size + this.byUser.size;
  }

  private blockedFor(map: LRUCache<string, Window>, key: string, max: number, now: number): number {
    const w = map.peek(key);
    if (!w || w.endsAt <= now) return 0;
    return w.failures >= max ? w.endsAt - now : 0;
  }

  private bump(map: LRUCache<string, Window>, key: string, now: number): void {
    const w = map.get(key);
    if (!w || w.endsAt <= now) map.set(key, { failures: 1, endsAt: now + this.limits.windowMs });
    else w.failures++;
  }
}

/** User names compare case-insensitively here so `Admin` and `admin` share one budget. */
const userKey = (user: string) => user.trim().toLowerCase().slice(0, 128);
