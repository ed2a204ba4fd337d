/**
 * The demuxed form of one stored fragment, shared by every packager (fMP4, MPEG-TS, clips,
 * images). Times are in milliseconds from the epoch-or-producer origin the fragment carries
 * (producer timestamps), as floats: MKV gives millisecond timecodes, packagers convert to their
 * own timescales.
 */
import type { TrackEntry } from '../mkv/index.ts';

export type TrackKind = 'video' | 'audio' | 'other';

export interface MediaTrack {
  /** MKV track number as the producer declared it. */
  number: number;
  kind: TrackKind;
  codecId: string;
  codecPrivate?: Buffer;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
  /** The MKV TrackEntry it came from (for packagers that need more). */
  entry: TrackEntry;
}

export interface MediaSample {
  track: number;
  /** Presentation time (the MKV block time), ms. */
  ptsMs: number;
  /**
   * Decode time, ms. MKV stores blocks in decode order but only presentation times; for streams
   * with B-frames decode times are derived (sorted presentation times, shifted so dts <= pts).
   */
  dtsMs: number;
  /** Until the next sample of the track in decode order (the last one repeats the previous gap). */
  durationMs: number;
  keyframe: boolean;
  /** Frame payload as stored in MKV (H.264/H.265: length-prefixed NAL units; AAC: raw frame). */
  data: Buffer;
}

export interface DemuxedFragment {
  tracks: MediaTrack[];
  /** All samples, per track in decode order, tracks interleaved by decode time. */
  samples: MediaSample[];
  /** Earliest presentation time, ms. */
  startMs: number;
  /** End of the last sample minus startMs, ms. */
  durationMs: number;
}
