/**
 * KVS fragment numbers (kvs-api.md §4.4): 47-digit decimal strings built as
 * (1 << 156) | (sequence << 92) | (serverTimestampMs << 28) | 28 random bits.
 * Fixed width makes string order equal numeric order, which consumers rely on (String.compareTo).
 *
 * The 60-bit sequence is the stream's fencing epoch (high 24 bits, from its ownership lease) and a
 * counter within that epoch (low 36 bits). Every change of owner starts a higher epoch, so numbers
 * keep increasing across nodes, restarts and clock skew without consulting any wall clock; the
 * server timestamp inside is informational only.
 */
import { randomInt } from 'node:crypto';

const MARKER = 1n << 156n;
const MAX_SEQUENCE = (1n << 60n) - 1n; // keeps the value below 10^47, i.e. always 47 digits
const IN_EPOCH_BITS = 36n;
/** Largest fencing epoch a fragment number can carry (24 bits). */
export const MAX_EPOCH = 2 ** 24 - 1;
/** Fragments one owner may number within one epoch (2^36: centuries at KVS's 5 fragments/s). */
export const MAX_IN_EPOCH = (1n << IN_EPOCH_BITS) - 1n;

export const FRAGMENT_NUMBER_PATTERN = /^[0-9]{1,128}$/;

export function makeFragmentNumber(sequence: bigint, serverTimestampMs: number): string {
  if (sequence < 0n || sequence > MAX_SEQUENCE) throw new RangeError(`sequence out of range: ${sequence}`);
  const ts = BigInt(Math.max(0, Math.floor(serverTimestampMs))) & ((1n << 64n) - 1n);
  const value = MARKER | (sequence << 92n) | (ts << 28n) | BigInt(randomInt(0, 1 << 28));
  return value.toString().padStart(47, '0');
}

export function sequenceOf(fragmentNumber: string): bigint {
  return (BigInt(fragmentNumber) - MARKER) >> 92n;
}

/** The sequence for the `n`-th fragment (0-based) numbered under fencing `epoch`. */
export function fencedSequence(epoch: number, n: bigint): bigint {
  if (!Number.isSafeInteger(epoch) || epoch < 0 || epoch > MAX_EPOCH) throw new RangeError(`epoch out of range: ${epoch}`);
  if (n < 0n || n > MAX_IN_EPOCH) throw new RangeError(`sequence within epoch ${epoch} out of range: ${n}`);
  return (BigInt(epoch) << IN_EPOCH_BITS) | n;
}

/** The fencing epoch a fragment number was issued under. */
export function epochOf(fragmentNumber: string): number {
  return Number(sequenceOf(fragmentNumber) >> IN_EPOCH_BITS);
}

/** The fragment's position within its epoch. */
export function inEpochSequenceOf(fragmentNumber: string): bigint {
  return sequenceOf(fragmentNumber) & MAX_IN_EPOCH;
}

/**
 * The lowest epoch a new owner may take so that its numbers sort after `latest` (the stream's
 * newest stored fragment). Numbers from before epochs existed (sequence = ms × 1024) decode to an
 * epoch around 25,000, so upgraded streams continue above them too.
 */
export function epochFloor(latestFragmentNumber: string | undefined): number {
  return latestFragmentNumber === undefined ? 1 : epochOf(latestFragmentNumber) + 1;
}

/**
 * Numbers one owner's fragments within its epoch: strictly increasing, no clock involved. A
 * counter for an epoch starts at 0 unless the index already holds fragments of that epoch.
 */
export class EpochCounter {
  private next: bigint;
  constructor(
    readonly epoch: number,
    latestFragmentNumber?: string,
  ) {
    this.next = latestFragmentNumber !== undefined && epochOf(latestFragmentNumber) === epoch ? inEpochSequenceOf(latestFragmentNumber) + 1n : 0n;
  }

  /** The next fragment number; the timestamp is carried for information only. */
  number(serverTimestampMs: number): string {
    const seq = fencedSequence(this.epoch, this.next);
    this.next++;
    return makeFragmentNumber(seq, serverTimestampMs);
  }
}
