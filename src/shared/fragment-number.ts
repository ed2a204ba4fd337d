/**
 * KVS fragment numbers (kvs-api.md §4.4): 47-digit decimal strings built as
 * (1 << 156) | (sequence << 92) | (serverTimestampMs << 28) | 28 random bits.
 * Fixed width makes string order equal numeric order, which consumers rely on (String.compareTo).
 */
import { randomInt } from 'node:crypto';

const MARKER = 1n << 156n;
const MAX_SEQUENCE = (1n << 60n) - 1n; // keeps the value below 10^47, i.e. always 47 digits

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

/**
 * Next sequence for a stream: strictly greater than the previous one, and never below
 * serverTimeMs * 1024, so numbers keep increasing across restarts even for streams
 * whose fragments were never indexed (retention 0).
 */
export function nextSequence(previous: bigint | undefined, serverTimeMs: number): bigint {
  const floor = BigInt(Math.floor(serverTimeMs)) * 1024n;
  const next = previous === undefined ? floor : previous + 1n;
  return next > floor ? next : floor;
}
