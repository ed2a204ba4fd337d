import { invalidArgument } from '../shared/errors.ts';

export type TimecodeType = 'ABSOLUTE' | 'RELATIVE';

export function parseTimecodeType(value: string | undefined): TimecodeType {
  if (value === undefined || value === '') return 'ABSOLUTE';
  const v = value.toUpperCase();
  if (v === 'ABSOLUTE' || v === 'RELATIVE') return v;
  throw invalidArgument(`x-amzn-fragment-timecode-type must be ABSOLUTE or RELATIVE, got "${value}".`);
}

/**
 * Parses x-amzn-producer-start-timestamp (decimal seconds) into ms. The C producer prints
 * `%llu.%llu` of (ms / 1000, ms % 1000) without zero padding, so "645.5" from it means 5 ms;
 * we cannot tell which writer sent it, so we follow the decimal reading, which every other
 * client (and the docs) use. It only affects RELATIVE-mode producer timestamps.
 */
export function parseProducerStartTimestamp(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+(\.\d+)?$/.test(value)) {
    throw invalidArgument(`x-amzn-producer-start-timestamp must be decimal seconds, got "${value}".`);
  }
  return Math.round(Number(value) * 1000);
}
