/**
 * What the frame sampler needs to know about a fragment before ffmpeg decodes it, parsed from its MKV
 * (pure): time range, frame times, the sampling rule evaluated in JS, and the "filler" cluster that
 * pushes a fragment's last frame out of ffmpeg (see frame-sampler.ts).
 */
import { MKV_ID, MkvStreamParser, simpleBlock, uintElement, unknownSizeHeader } from '../mkv/index.ts';

/** Fragment facts the sampler needs, parsed from its MKV (pure). */
export interface FragmentFacts {
  tracksKey: string;
  clusterMs: number;
  startMs: number;
  endMs: number;
  width: number;
  height: number;
  /** Video frame times (ms) in presentation order, and which are keyframes. */
  frames: Array<{ ptsMs: number; keyframe: boolean }>;
  /** The first video keyframe (one frame, unlaced), the track and the time scale: for fillerClusters. */
  keyframe?: { track: number; data: Buffer; lastTicks: number; scaleNs: number };
  /** Blocks are not in presentation order (B-frames: the decoder holds frames back too). */
  reordered: boolean;
}

export function inspectFragment(mkv: Buffer): FragmentFacts {
  const p = new MkvStreamParser({ maxBlockSize: 50 * 1024 * 1024, maxClusterSize: 50 * 1024 * 1024, maxHeaderElementSize: 1024 * 1024 });
  let scale = 1_000_000;
  let videoTrack = -1;
  let tracksKey = '';
  let width = 0;
  let height = 0;
  let cluster = 0;
  let start = Infinity;
  let end = -Infinity;
  const frames: Array<{ pts: number; keyframe: boolean }> = [];
  let key: Buffer | undefined;
  for (const ev of p.push(mkv)) {
    if (ev.type === 'info') scale = ev.timecodeScale;
    else if (ev.type === 'tracks') {
      const v = ev.tracks.find((t) => t.type === 1);
      videoTrack = v?.number ?? -1;
      width = v?.video?.width ?? 0;
      height = v?.video?.height ?? 0;
      tracksKey = v ? `${v.codecId}:${width}x${height}:${v.codecPrivate?.toString('base64') ?? ''}` : '';
    } else if (ev.type === 'cluster-timecode') cluster = ev.timecode;
    else if (ev.type === 'block' && ev.block.track === videoTrack) {
      const t = cluster + ev.block.relativeTimecode;
      frames.push({ pts: t, keyframe: ev.block.keyframe });
      if (!key && ev.block.keyframe && ev.block.frames.length === 1) key = Buffer.from(ev.block.frames[0]!);
      start = Math.min(start, t);
      end = Math.max(end, t);
    }
  }
  const ms = (t: number) => (t * scale) / 1_000_000;
  if (start === Infinity) start = end = cluster;
  const reordered = frames.some((f, i) => i > 0 && f.pts < frames[i - 1]!.pts);
  frames.sort((a, b) => a.pts - b.pts);
  const facts: FragmentFacts = { tracksKey, clusterMs: ms(cluster), startMs: ms(start), endMs: ms(end), width, height, frames: frames.map((f) => ({ ptsMs: ms(f.pts), keyframe: f.keyframe })), reordered };
  if (key && frames.length) facts.keyframe = { track: videoTrack, data: key, lastTicks: end, scaleNs: scale };
  return facts;
}

/**
 * Frames ffmpeg selects right after each sample ("flushers", dropped again in JS). ffmpeg 5.1 holds
 * back the newest frames of the pictures' output: one usually, two at times (measured; see
 * frame-sampler.ts), so two flushers make sure a sample is out as soon as its fragment is written.
 */
export const FLUSHERS = 2;

/** The sampler's `select` state between frames: the previous frame's time (s) and flushers still owed. */
export interface SelectState {
  prevT: number;
  owed: number;
}

export const initialSelectState = (): SelectState => ({ prevT: NaN, owed: 0 });

/**
 * Clusters with copies of the fragment's keyframe, 1, 2, 3 ticks after its last frame, written after
 * the fragment so that ffmpeg outputs the fragment's last sample at once (see frame-sampler.ts): as
 * many as the last sample still needs to get `hold` frames after it (`owed`, from expectedSamples,
 * is what it is owed of FLUSHERS), always `hold` in keyframes mode; with B-frames (the decoder holds frames back too, and the IDR makes it output
 * them), at least three when a sample is among the last three frames. Only when the fillers stay in
 * the sampling period of the last frame, so they are never samples themselves and ffmpeg's `select`
 * state is the same as without them. Returns the clusters and the fillers' times in ms (the sampler
 * drops those frames).
 */
export function fillerClusters(f: FragmentFacts, sampling: number | 'keyframes', samples: readonly number[], owed = 0, hold = FLUSHERS): { mkv: Buffer; ptsMs: number[] } | undefined {
  const k = f.keyframe;
  if (!k) return undefined;
  // `hold`: frames the decoder's output holds back (1 or 2); the last sample needs that many frames after it.
  let n = sampling === 'keyframes' ? hold : Math.max(0, owed - (FLUSHERS - hold));
  if (f.reordered && f.frames.slice(-3).some((x) => samples.includes(x.ptsMs) || n > 0)) n = Math.max(n, 3);
  if (n === 0) return undefined;
  const ptsMs = Array.from({ length: n }, (_, i) => ((k.lastTicks + 1 + i) * k.scaleNs) / 1_000_000);
  if (sampling !== 'keyframes' && Math.floor(ptsMs.at(-1)! * 0.001 * sampling) !== Math.floor(f.endMs * 0.001 * sampling)) return undefined;
  const mkv = Buffer.concat(ptsMs.flatMap((_, i) => [
    unknownSizeHeader(MKV_ID.Cluster), uintElement(MKV_ID.Timecode, k.lastTicks + 1 + i), simpleBlock({ track: k.track, relativeTimecode: 0, keyframe: true, frame: k.data }),
  ]));
  return { mkv, ptsMs };
}

/**
 * The frames the ffmpeg sampling keeps from these frames, evaluated the way ffmpeg's `select` does
 * (t = pts * 0.001 s): a sample is the first frame of each sampling period, and the FLUSHERS frames
 * after a sample are selected too. Returns the samples' times and the state after the last frame.
 */
export function expectedSamples(frames: FragmentFacts['frames'], sampling: number | 'keyframes', state: SelectState): { timesMs: number[]; state: SelectState } {
  if (sampling === 'keyframes') return { timesMs: frames.filter((f) => f.keyframe).map((f) => f.ptsMs), state };
  const timesMs: number[] = [];
  let { prevT, owed } = state;
  for (const f of frames) {
    const t = f.ptsMs * 0.001;
    if (isSample(t, sampling, prevT)) {
      timesMs.push(f.ptsMs);
      owed = FLUSHERS;
    } else if (owed > 0) {
      owed--;
    }
    prevT = t;
  }
  return { timesMs, state: { prevT, owed } };
}

/** Whether a frame at `t` s is a sample (the first of its sampling period), given the previous frame's time (NaN: none yet). Same rule in ffmpeg and JS. */
export function isSample(t: number, sampling: number, prevT: number): boolean {
  return Number.isNaN(prevT) || Math.floor(t * sampling) > Math.floor(prevT * sampling);
}

/** ffmpeg `select` expression for N fps with FLUSHERS flushers after each sample (register 0 counts them down). */
export function selectExpression(sampling: number): string {
  const first = `isnan(prev_t)+gt(floor(t*${sampling}),floor(prev_t*${sampling}))`;
  return `select='if(${first},st(0,${FLUSHERS})*0+1,if(gt(ld(0),0),st(0,ld(0)-1)*0+1,0))'`;
}
