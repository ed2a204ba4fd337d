import { invalidArgument } from '../shared/errors.ts';

/**
 * ABSOLUTE / RELATIVE as in KVS. ARRIVAL (Kestrel): the producer sent neither
 * x-amzn-fragment-timecode-type nor x-amzn-producer-start-timestamp (ffmpeg, GStreamer
 * souphttpclientsink, curl), so its cluster timecodes are a clock of its own, usually from 0.
 * They are taken as RELATIVE to the server's receive time of the first fragment minus that
 * fragment's timecode: producer timestamps are then near the wall clock, and a producer that
 * reconnects continues in time instead of repeating 1970-01-01.
 */
export type TimecodeType = 'ABSOLUTE' | 'RELATIVE' | 'ARRIVAL';

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

/** The producer clock of a PutMedia request from its two KVS timing headers (ARRIVAL when it sends neither). */
export function producerClock(
  timecodeTypeHeader: string | undefined,
  producerStartHeader: string | undefined,
): { timecodeType: TimecodeType; producerStartMs: number | undefined } {
  if (!timecodeTypeHeader && !producerStartHeader) return { timecodeType: 'ARRIVAL', producerStartMs: undefined };
  return { timecodeType: parseTimecodeType(timecodeTypeHeader), producerStartMs: parseProducerStartTimestamp(producerStartHeader) };
}
