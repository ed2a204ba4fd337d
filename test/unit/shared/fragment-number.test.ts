import { describe, expect, it } from 'vitest';
import { makeFragmentNumber, nextSequence, sequenceOf } from '../../../src/shared/fragment-number.ts';

describe('fragment numbers', () => {
  it('are 47-digit strings whose string order is ingestion order', () => {
    let seq: bigint | undefined;
    const numbers: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const now = 1_700_000_000_000 + Math.floor(i / 10); // many in the same millisecond
      seq = nextSequence(seq, now);
      numbers.push(makeFragmentNumber(seq, now));
    }
    for (const n of numbers) expect(n).toMatch(/^\d{47}$/);
    expect([...numbers].sort()).toEqual(numbers);
    expect(new Set(numbers).size).toBe(numbers.length);
  });

  it('keep increasing across a restart that forgot the last sequence, and when the clock steps back', () => {
    const before = nextSequence(undefined, 1_700_000_000_000);
    const afterRestart = nextSequence(undefined, 1_700_000_000_500);
    expect(afterRestart > before).toBe(true);
    const clockBack = nextSequence(afterRestart, 1_600_000_000_000);
    expect(clockBack).toBe(afterRestart + 1n);
    expect(sequenceOf(makeFragmentNumber(clockBack, 1_600_000_000_000))).toBe(clockBack);
  });

  it('embed the server timestamp like real KVS numbers', () => {
    const n = BigInt(makeFragmentNumber(5n, 1511852109126));
    expect((n >> 28n) & ((1n << 64n) - 1n)).toBe(1511852109126n);
    expect(n >> 156n).toBe(1n);
  });
});
