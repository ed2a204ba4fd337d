import { describe, expect, it } from 'vitest';
import {
  EpochCounter,
  MAX_EPOCH,
  MAX_IN_EPOCH,
  epochFloor,
  epochOf,
  fencedSequence,
  inEpochSequenceOf,
  makeFragmentNumber,
  sequenceOf,
} from '../../../src/shared/fragment-number.ts';

describe('fragment numbers', () => {
  it('are 47-digit strings whose string order is ingestion order', () => {
    const counter = new EpochCounter(7);
    const numbers: string[] = [];
    for (let i = 0; i < 1000; i++) numbers.push(counter.number(1_700_000_000_000 + Math.floor(i / 10))); // many in the same ms
    for (const n of numbers) expect(n).toMatch(/^\d{47}$/);
    expect([...numbers].sort()).toEqual(numbers);
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(numbers.every((n) => epochOf(n) === 7)).toBe(true);
  });

  it('do not follow the wall clock: a clock stepping back keeps them increasing within an epoch', () => {
    const counter = new EpochCounter(3);
    const a = counter.number(1_700_000_000_000);
    const b = counter.number(1_600_000_000_000);
    expect(b > a).toBe(true);
    expect(inEpochSequenceOf(a)).toBe(0n);
    expect(inEpochSequenceOf(b)).toBe(1n);
  });

  it('keep increasing across owners: a later epoch sorts after every number of an earlier one, whatever the clocks say', () => {
    const oldOwner = new EpochCounter(4);
    let last = '';
    for (let i = 0; i < 50; i++) last = oldOwner.number(1_900_000_000_000); // old owner's clock far ahead
    const newOwner = new EpochCounter(epochFloor(last));
    const first = newOwner.number(1_500_000_000_000); // new owner's clock far behind
    expect(first > last).toBe(true);
    expect(epochOf(first)).toBe(5);
  });

  it('continue after the newest stored fragment when the same epoch is resumed', () => {
    const counter = new EpochCounter(9);
    counter.number(1);
    const latest = counter.number(2);
    const resumed = new EpochCounter(9, latest);
    const next = resumed.number(0);
    expect(next > latest).toBe(true);
    expect(inEpochSequenceOf(next)).toBe(2n);
    // A counter for another epoch starts at 0.
    expect(inEpochSequenceOf(new EpochCounter(10, latest).number(0))).toBe(0n);
  });

  it('sort after numbers issued before epochs existed (sequence = ms × 1024)', () => {
    const legacy = makeFragmentNumber(BigInt(1_765_000_000_000) * 1024n + 17n, 1_765_000_000_000);
    const floor = epochFloor(legacy);
    expect(floor).toBeGreaterThan(20_000);
    expect(floor).toBeLessThan(MAX_EPOCH);
    expect(new EpochCounter(floor).number(0) > legacy).toBe(true);
  });

  it('refuse epochs and in-epoch counters that would not fit 47 digits', () => {
    expect(() => fencedSequence(MAX_EPOCH + 1, 0n)).toThrow(RangeError);
    expect(() => fencedSequence(-1, 0n)).toThrow(RangeError);
    expect(() => fencedSequence(1, MAX_IN_EPOCH + 1n)).toThrow(RangeError);
    const top = makeFragmentNumber(fencedSequence(MAX_EPOCH, MAX_IN_EPOCH), 2 ** 52);
    expect(top).toMatch(/^\d{47}$/);
    expect(epochOf(top)).toBe(MAX_EPOCH);
    expect(epochFloor(undefined)).toBe(1);
  });

  it('embed the server timestamp like real KVS numbers', () => {
    const n = BigInt(makeFragmentNumber(5n, 1511852109126));
    expect((n >> 28n) & ((1n << 64n) - 1n)).toBe(1511852109126n);
    expect(n >> 156n).toBe(1n);
    expect(sequenceOf(n.toString())).toBe(5n);
  });
});
