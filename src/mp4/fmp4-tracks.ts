/**
 * What the fMP4 init and media segment writers must agree on for each track: its track_ID (the
 * MKV track number), its timescale, and the parsed codec configuration. Both writers derive it
 * from the MediaTrack the same way, so a session's segments always match its init segment.
 */
import { describeTrack, type TrackCodecInfo } from '../codec/index.ts';
import type { MediaTrack } from '../media/types.ts';

/** Video timescale: 90 kHz divides every common frame rate's ms timecodes exactly. */
export const VIDEO_TIMESCALE = 90_000;

export interface Fmp4Track {
  trackId: number;
  timescale: number;
  info: TrackCodecInfo;
  track: MediaTrack;
}

/** Throws CodecError (with its kvsName) for tracks the writer cannot carry. */
export function planFmp4Track(track: MediaTrack): Fmp4Track {
  if (!Number.isInteger(track.number) || track.number < 1 || track.number > 0xffffffff) {
    throw new RangeError(`track number ${track.number} cannot be an MP4 track_ID`);
  }
  const info = describeTrack(track);
  const timescale = info.kind === 'video' ? VIDEO_TIMESCALE : info.sampleRate;
  return { trackId: track.number, timescale, info, track };
}

/**
 * Milliseconds → timescale units, rounded half up. Every time of a session goes through this one
 * function (durations are differences of converted times), so segments join without drift.
 * Integer ms are converted exactly with BigInt: epoch ms × 90000 exceeds 2^53.
 */
export function msToTimescale(ms: number, timescale: number): number {
  if (Number.isInteger(ms) && Number.isInteger(timescale)) {
    const product = BigInt(ms) * BigInt(timescale);
    const sign = product < 0n ? -1n : 1n;
    return Number((sign * (sign * product * 2n + 1000n)) / 2000n);
  }
  return Math.round((ms * timescale) / 1000);
}
