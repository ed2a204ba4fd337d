import { describe, expect, it } from 'vitest';
import { LoginLimiter } from '../../../src/auth/login-limiter.ts';

const clockAt = (t: { now: number }) => ({ now: () => t.now });

describe('LoginLimiter', () => {
  it('refuses a user after maxFailuresPerUser failures, from any address, until the window ends', () => {
    const t = { now: 1_000_000 };
    const l = new LoginLimiter({ windowMs: 60_000, maxFailuresPerAddress: 100, maxFailuresPerUser: 3, maxTracked: 100 }, clockAt(t));
    for (let i = 0; i < 3; i++) {
      expect(l.check(`10.0.0.${i}`, 'admin').allowed).toBe(true);
      l.recordFailure(`10.0.0.${i}`, 'admin');
    }
    const v = l.check('10.0.0.9', 'ADMIN ');
    expect(v).toEqual({ allowed: false, retryAfterSec: 60, reason: 'user' });
    expect(l.check('10.0.0.9', 'someone-else').allowed).toBe(true);
    t.now += 59_001;
    expect(l.check('10.0.0.9', 'admin')).toMatchObject({ allowed: false, retryAfterSec: 1 });
    t.now += 1000;
    expect(l.check('10.0.0.9', 'admin').allowed).toBe(true);
    expect(l.refused).toBe(2);
  });

  it('refuses an address after maxFailuresPerAddress failures, whatever user it tries', () => {
    const t = { now: 0 };
    const l = new LoginLimiter({ windowMs: 10_000, maxFailuresPerAddress: 5, maxFailuresPerUser: 100, maxTracked: 100 }, clockAt(t));
    for (let i = 0; i < 5; i++) l.recordFailure('192.0.2.1', `user${i}`);
    expect(l.check('192.0.2.1', 'fresh')).toMatchObject({ allowed: false, reason: 'address' });
    expect(l.check('192.0.2.2', 'fresh').allowed).toBe(true);
  });

  it('a success clears the user count but not the address count', () => {
    const l = new LoginLimiter({ windowMs: 10_000, maxFailuresPerAddress: 3, maxFailuresPerUser: 2, maxTracked: 100 }, clockAt({ now: 0 }));
    l.recordFailure('a', 'u');
    l.recordFailure('a', 'u');
    expect(l.check('b', 'u').allowed).toBe(false);
    l.recordSuccess('u');
    expect(l.check('b', 'u').allowed).toBe(true);
    l.recordFailure('a', 'v');
    expect(l.check('a', 'w')).toMatchObject({ allowed: false, reason: 'address' });
  });

  it('stays within maxTracked entries and counts what it evicts', () => {
    const l = new LoginLimiter({ windowMs: 10_000, maxFailuresPerAddress: 3, maxFailuresPerUser: 3, maxTracked: 10 }, clockAt({ now: 0 }));
    for (let i = 0; i < 50; i++) l.recordFailure(`addr${i}`, `user${i}`);
    expect(l.tracked).toBe(20);
    expect(l.evicted).toBe(80);
  });
});
