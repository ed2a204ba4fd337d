/**
 * Playback's guard against samples it cannot package: H.264/H.265 samples whose NAL length
 * prefixes do not tile them (data stored before ingest validated framing, or damaged on disk).
 * A decoder cannot use the frames after a broken one either (they reference it), so a track's
 * samples end at its first broken sample; the next fragment starts again at a keyframe.
 */
import type { DemuxedFragment, MediaSample, MediaTrack } from '../media/types.ts';
import { MKV_CODEC_ID } from './codec-info.ts';
import { CodecError } from './errors.ts';
import { parseAvcC } from './h264.ts';
import { parseHvcC } from './h265.ts';
import { nalFramingProblem } from './nal-units.ts';

/** NAL length-prefix size of an H.264/H.265 track; undefined for other codecs or an unreadable record. */
export function nalLengthSize(track: Pick<MediaTrack, 'codecId' | 'codecPrivate'>): number | undefined {
  const priv = track.codecPrivate;
  if (priv === undefined || priv.length === 0) return undefined;
  try {
    if (track.codecId === MKV_CODEC_ID.H264) return parseAvcC(priv, { requireSps: false }).lengthSize;
    if (track.codecId === MKV_CODEC_ID.H265) return parseHvcC(priv, { requireSps: false }).lengthSize;
  } catch (err) {
    if (err instanceof CodecError) return undefined;
    throw err;
  }
  return undefined;
}

export interface SampleFilterResult {
  fragment: DemuxedFragment;
  /** Samples left out (the first broken one of a track and every later one of that track). */
  dropped: number;
  /** What was wrong with the first broken sample, for logs. */
  problem?: string;
}

/** The fragment with each video track cut at its first sample with broken NAL framing. */
export function withoutBrokenSamples(fragment: DemuxedFragment): SampleFilterResult {
  const lengthSizes = new Map<number, number>();
  for (const t of fragment.tracks) {
    const size = nalLengthSize(t);
    if (size !== undefined) lengthSizes.set(t.number, size);
  }
  if (lengthSizes.size === 0) return { fragment, dropped: 0 };
  const cut = new Set<number>();
  let problem: string | undefined;
  const kept: MediaSample[] = [];
  for (const s of fragment.samples) {
    if (cut.has(s.track)) continue;
    const size = lengthSizes.get(s.track);
    const why = size === undefined ? undefined : nalFramingProblem(s.data, size);
    if (why !== undefined) {
      cut.add(s.track);
      problem ??= `track ${s.track} sample at ${s.ptsMs} ms: ${why}`;
      continue;
    }
    kept.push(s);
  }
  const dropped = fragment.samples.length - kept.length;
  if (dropped === 0) return { fragment, dropped: 0 };
  // startMs/durationMs stay the fragment's: the session timeline (DASH media times) is built on them.
  return { fragment: { ...fragment, samples: kept }, dropped, ...(problem ? { problem } : {}) };
}
