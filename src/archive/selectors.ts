/** Request validation for the read APIs (pure; throws InvalidArgumentException like KVS). */
import { invalidArgument } from '../shared/errors.ts';
import { FRAGMENT_NUMBER_PATTERN } from '../shared/fragment-number.ts';
import type { TimestampKind } from '../store/types.ts';

export type StartSelector =
  | { type: 'NOW' }
  | { type: 'EARLIEST' }
  | { type: 'FRAGMENT_NUMBER'; after: string }
  | { type: 'CONTINUATION_TOKEN'; after: string }
  | { type: 'SERVER_TIMESTAMP' | 'PRODUCER_TIMESTAMP'; atMs: number };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function epochSecondsToMs(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalidArgument(`${field} must be a timestamp in epoch seconds.`);
  }
  return Math.round(value * 1000);
}

export function fragmentNumber(value: unknown, field: string): string {
  if (typeof value !== 'string' || !FRAGMENT_NUMBER_PATTERN.test(value)) {
    throw invalidArgument(`${field} must be a fragment number (1-128 digits).`);
  }
  return value;
}

export function parseStartSelector(value: unknown): StartSelector {
  if (!isObject(value)) throw invalidArgument('StartSelector is required.');
  const type = value.StartSelectorType;
  switch (type) {
    case 'NOW':
    case 'EARLIEST':
      return { type };
    case 'FRAGMENT_NUMBER':
      return { type, after: fragmentNumber(value.AfterFragmentNumber, 'StartSelector.AfterFragmentNumber') };
    case 'CONTINUATION_TOKEN':
      return { type, after: fragmentNumber(value.ContinuationToken, 'StartSelector.ContinuationToken') };
    case 'SERVER_TIMESTAMP':
    case 'PRODUCER_TIMESTAMP':
      return { type, atMs: epochSecondsToMs(value.StartTimestamp, 'StartSelector.StartTimestamp') };
    default:
      throw invalidArgument(
        'StartSelector.StartSelectorType must be one of NOW, EARLIEST, FRAGMENT_NUMBER, SERVER_TIMESTAMP, PRODUCER_TIMESTAMP, CONTINUATION_TOKEN.',
      );
  }
}

export interface FragmentSelector {
  kind: TimestampKind;
  startMs: number;
  endMs: number;
}

export function parseFragmentSelector(value: unknown, name = 'FragmentSelector'): FragmentSelector {
  if (!isObject(value)) throw invalidArgument(`${name} is required.`);
  const kind = value.FragmentSelectorType;
  if (kind !== 'PRODUCER_TIMESTAMP' && kind !== 'SERVER_TIMESTAMP') {
    throw invalidArgument(`${name}.FragmentSelectorType must be PRODUCER_TIMESTAMP or SERVER_TIMESTAMP.`);
  }
  const range = value.TimestampRange;
  if (!isObject(range)) throw invalidArgument(`${name}.TimestampRange is required.`);
  const startMs = epochSecondsToMs(range.StartTimestamp, `${name}.TimestampRange.StartTimestamp`);
  const endMs = epochSecondsToMs(range.EndTimestamp, `${name}.TimestampRange.EndTimestamp`);
  if (endMs < startMs) throw invalidArgument(`${name}.TimestampRange.EndTimestamp is before StartTimestamp.`);
  return { kind, startMs, endMs };
}

export function intInRange(value: unknown, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(`${field} must be an integer from ${min} to ${max}.`);
  }
  return value;
}
