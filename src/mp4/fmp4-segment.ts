/**
 * fMP4 media segment: moof (mfhd + one traf per track: tfhd, tfdt v1, trun v1) + mdat, from one
 * demuxed fragment. Track IDs are MKV track numbers; times come from msToTimescale so that
 * consecutive segments of a session are contiguous.
 */
import { Buffer } from 'node:buffer';
import type { DemuxedFragment, MediaSample, MediaTrack } from '../media/types.ts';
import { Fields, box, fullBox } from './box-writer.ts';
import { msToTimescale, planFmp4Track, type Fmp4Track } from './fmp4-tracks.ts';

export interface MediaSegmentOptions {
  /** mfhd sequence_number: increases by one per segment of a session (starts at 1). */
  sequenceNumber: number;
  /** Tracks to include, in traf order; default every track of the fragment. */
  trackNumbers?: number[];
}

const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;
const TRUN_DATA_OFFSET = 0x000001;
const TRUN_DURATION = 0x000100;
const TRUN_SIZE = 0x000200;
const TRUN_FLAGS = 0x000400;
const TRUN_COMPOSITION_OFFSET = 0x000800;

/** sample_depends_on = 2 (an I/IDR picture or an audio frame). */
const SYNC_SAMPLE_FLAGS = 0x02000000;
/** sample_depends_on = 1, sample_is_non_sync_sample. */
const NON_SYNC_SAMPLE_FLAGS = 0x01010000;

interface TrackRun {
  plan: Fmp4Track;
  baseDecodeTime: number;
  durations: number[];
  compositionOffsets: number[] | undefined;
  flags: number[];
  data: Buffer[];
}

/** Throws CodecError for an unsupported track, RangeError for times the format cannot carry. */
export function buildMediaSegment(fragment: DemuxedFragment, opts: MediaSegmentOptions): Buffer {
  if (!Number.isInteger(opts.sequenceNumber) || opts.sequenceNumber < 0 || opts.sequenceNumber > 0xffffffff) {
    throw new RangeError(`sequence number ${opts.sequenceNumber} does not fit mfhd`);
  }
  const runs = selectTracks(fragment, opts.trackNumbers)
    .map((track) => trackRun(planFmp4Track(track), fragment.samples.filter((s) => s.track === track.number)))
    .filter((run): run is TrackRun => run !== undefined);
  const mfhd = fullBox('mfhd', 0, 0, new Fields().u32(opts.sequenceNumber));
  // data_offset fields have a fixed size, so a first pass with zeros gives the moof size.
  const moofSize = box('moof', mfhd, ...runs.map((r) => traf(r, 0))).length;
  const mdatHeaderSize = 8;
  let dataOffset = moofSize + mdatHeaderSize;
  const trafs = runs.map((r) => {
    const t = traf(r, dataOffset);
    dataOffset += r.data.reduce((n, d) => n + d.length, 0);
    return t;
  });
  return Buffer.concat([box('moof', mfhd, ...trafs), box('mdat', ...runs.flatMap((r) => r.data))]);
}

/**
 * A copy of a media segment from buildMediaSegment with another mfhd sequence number: segments of
 * one fragment differ between sessions only there, so servers build once and patch the copy.
 */
export function withSequenceNumber(segment: Buffer, sequenceNumber: number): Buffer {
  if (segment.toString('latin1', 4, 8) !== 'moof' || segment.toString('latin1', 12, 16) !== 'mfhd') {
    throw new RangeError('not a media segment starting with moof/mfhd');
  }
  const copy = Buffer.allocUnsafe(segment.length);
  segment.copy(copy);
  copy.writeUInt32BE(sequenceNumber >>> 0, MFHD_SEQUENCE_OFFSET);
  return copy;
}

/** moof header (8) + mfhd header (8) + version/flags (4). */
const MFHD_SEQUENCE_OFFSET = 20;

function selectTracks(fragment: DemuxedFragment, numbers: readonly number[] | undefined): MediaTrack[] {
  if (numbers === undefined) return fragment.tracks;
  return numbers.map((n) => {
    const track = fragment.tracks.find((t) => t.number === n);
    if (track === undefined) throw new RangeError(`track ${n} is not in the fragment (tracks: ${fragment.tracks.map((t) => t.number).join(', ')})`);
    return track;
  });
}

/** Undefined for a track without samples in this fragment (it simply gets no traf). */
function trackRun(plan: Fmp4Track, samples: readonly MediaSample[]): TrackRun | undefined {
  const first = samples[0];
  if (first === undefined) return undefined;
  const ts = plan.timescale;
  const pts = samples.map((s) => msToTimescale(s.ptsMs, ts));
  const early = pts.findIndex((t) => t < 0);
  if (early >= 0) throw new RangeError(`track ${plan.trackId}: presentation time ${samples[early]!.ptsMs} ms is negative; fMP4 cannot carry it`);
  const dts = samples.map((s) => decodeTime(s.dtsMs, ts));
  const last = samples[samples.length - 1]!;
  const end = decodeTime(last.dtsMs + last.durationMs, ts);
  const durations = dts.map((t, i) => (dts[i + 1] ?? end) - t);
  const bad = durations.findIndex((d) => d < 0 || d > 0xffffffff);
  if (bad >= 0) throw new RangeError(`track ${plan.trackId}: sample ${bad} has duration ${durations[bad]} (decode times must not go back)`);
  const video = plan.info.kind === 'video';
  const offsets = pts.map((t, i) => t - dts[i]!);
  return {
    plan,
    baseDecodeTime: dts[0]!,
    durations,
    // Audio never reorders; video always gets the column so B-frame and plain streams look alike.
    compositionOffsets: video || offsets.some((o) => o !== 0) ? offsets : undefined,
    flags: samples.map((s) => (!video || s.keyframe ? SYNC_SAMPLE_FLAGS : NON_SYNC_SAMPLE_FLAGS)),
    data: samples.map((s) => s.data),
  };
}

/**
 * A decode time in timescale units, clamped at 0. With B-frames decode times run ahead of
 * presentation by the reorder delay (src/media/demux-mkv.ts), so a stream whose timecodes start
 * at 0 (RELATIVE, or ffmpeg's ABSOLUTE from a file) has negative decode times in its first
 * frames, which tfdt (unsigned) cannot carry. Clamping, rather than shifting the track's decode
 * timeline, changes nothing else: times ≥ 0 (every epoch-ms stream) keep their exact bytes, it
 * is per sample (an LL-HLS part is the same whichever cut it comes from), consecutive segments
 * and parts still join exactly, and presentation times are untouched (composition offsets stay
 * ≥ 0, DASH times need no change). The cost: the few frames decoded before 0 get a zero duration
 * (they share decode time 0), which ISO BMFF allows (sample deltas are non-negative) and which
 * MSE and ffmpeg accept, since each decode step still equals the previous frame's duration.
 */
function decodeTime(ms: number, timescale: number): number {
  return Math.max(0, msToTimescale(ms, timescale));
}

function traf(r: TrackRun, dataOffset: number): Buffer {
  const tfhd = fullBox('tfhd', 0, TFHD_DEFAULT_BASE_IS_MOOF, new Fields().u32(r.plan.trackId));
  // Version 1: 64-bit base time, since epoch-ms producer timestamps overflow 32 bits at any timescale.
  const tfdt = fullBox('tfdt', 1, 0, new Fields().u64(r.baseDecodeTime));
  const cto = r.compositionOffsets;
  const trunFlags = TRUN_DATA_OFFSET | TRUN_DURATION | TRUN_SIZE | TRUN_FLAGS | (cto ? TRUN_COMPOSITION_OFFSET : 0);
  const rows = new Fields().u32(r.durations.length).i32(dataOffset);
  r.durations.forEach((d, i) => {
    rows.u32(d).u32(r.data[i]!.length).u32(r.flags[i]!);
    if (cto) rows.i32(cto[i]!); // version 1: signed
  });
  return box('traf', tfhd, tfdt, fullBox('trun', cto ? 1 : 0, trunFlags, rows));
}
