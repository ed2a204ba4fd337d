import { describe, expect, it } from 'vitest';
import { ReadBuffers } from '../../../src/archive/read-buffers.ts';

describe('ReadBuffers', () => {
  it('hands a given-back buffer out again for any fragment up to its size', () => {
    const buffers = new ReadBuffers();
    const a = buffers.take(1000);
    expect(a.length).toBeGreaterThanOrEqual(1000);
    buffers.give(a);
    expect(buffers.take(800)).toBe(a);
  });

  it('allocates a new buffer when no spare one is large enough, and never hands one out twice', () => {
    const buffers = new ReadBuffers();
    const small = buffers.take(100);
    buffers.give(small);
    const big = buffers.take(10_000);
    expect(big).not.toBe(small);
    expect(big.length).toBeGreaterThanOrEqual(10_000);
    expect(buffers.take(50)).toBe(small);
    expect(buffers.take(50)).not.toBe(small);
  });

  it('keeps at most `keep` spares, the largest ones', () => {
    const buffers = new ReadBuffers(2);
    const [a, b, c] = [buffers.take(100), buffers.take(300), buffers.take(200)];
    buffers.give(a);
    buffers.give(b);
    buffers.give(c); // replaces the smallest (a)
    const got = [buffers.take(1), buffers.take(1), buffers.take(1)];
    expect(got).toContain(b);
    expect(got).toContain(c);
    expect(got).not.toContain(a);
  });

  it('does not keep a buffer above maxKeptBytes, so one huge fragment is not pinned for the connection', () => {
    const buffers = new ReadBuffers(2, 4096);
    const huge = buffers.take(10_000);
    expect(huge.length).toBe(10_000);
    buffers.give(huge);
    expect(buffers.take(10_000)).not.toBe(huge);
  });
});
