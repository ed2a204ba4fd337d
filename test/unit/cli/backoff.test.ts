import { describe, expect, it } from 'vitest';
import { Backoff, seconds } from '../../../src/cli/ingest.ts';

describe('ingest reconnect backoff', () => {
  it('starts at 0.5 s and doubles up to 30 s', () => {
    const b = new Backoff();
    const delays = Array.from({ length: 10 }, () => b.next());
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
  });

  it('keeps growing after short-lived connections', () => {
    const b = new Backoff();
    expect([b.next(), b.next(59_999), b.next(10_000)]).toEqual([500, 1000, 2000]);
  });

  it('starts over after a connection that was healthy for a minute', () => {
    const b = new Backoff();
    for (let i = 0; i < 8; i++) b.next();
    expect(b.next(60_000)).toBe(500);
    expect(b.next()).toBe(1000);
  });

  it('honours custom limits', () => {
    const b = new Backoff(100, 250, 1000);
    expect([b.next(), b.next(), b.next(), b.next(5000)]).toEqual([100, 200, 250, 100]);
  });

  it('prints delays readably', () => {
    expect([500, 2000, 30_000, 1250].map(seconds)).toEqual(['0.5s', '2s', '30s', '1.3s']);
  });
});
