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
 * Clusters with copies of the fragment's keyframe, 1, 2, 3 ticks after its last frame, written after
 * the fragment so that ffmpeg outputs the fragment's last sample at once (see frame-sampler.ts): one
 * filler when the last frame is a sample (or in keyframes mode); with B-frames (the decoder holds frames
 * back too, and the IDR makes it output them), three when a sample is among the last three frames. Only
 * when the fillers stay in the sampling period of the last frame, so ffmpeg's `select` state is the same
 * as without them. Returns the clusters and the fillers' times in ms (the sampler drops those frames).
 */
export function fillerClusters(f: FragmentFacts, sampling: number | 'keyframes', samples: readonly number[]): { mkv: Buffer; ptsMs: number[] } | undefined {
  const k = f.keyframe;
  if (!k) return undefined;
  const tail = f.frames.slice(f.reordered ? -3 : -1).map((x) => x.ptsMs);
  if (sampling !== 'keyframes' && !tail.some((t) => samples.includes(t))) return undefined;
  const n = f.reordered ? 3 : 1;
  const ptsMs = Array.from({ length: n }, (_, i) => ((k.lastTicks + 1 + i) * k.scaleNs) / 1_000_000);
  if (sampling !== 'keyframes' && Math.floor(ptsMs.at(-1)! * 0.001 * sampling) !== Math.floor(f.endMs * 0.001 * sampling)) return undefined;
  const mkv = Buffer.concat(ptsMs.flatMap((_, i) => [
    unknownSizeHeader(MKV_ID.Cluster), uintElement(MKV_ID.Timecode, k.lastTicks + 1 + i), simpleBlock({ track: k.track, relativeTimecode: 0, keyframe: true, frame: k.data }),
  ]));
  return { mkv, ptsMs };
}

/**
 * How many frames the ffmpeg sampling keeps from these frames (same rule as the `select` expression,
 * evaluated the way ffmpeg does: t = pts * 0.001 s). Returns the count and the new last selected t.
 */
export function expectedSamples(frames: FragmentFacts['frames'], sampling: number | 'keyframes', prevSelectedT: number): { count: number; prevSelectedT: number; timesMs: number[] } {
  if (sampling === 'keyframes') {
    const timesMs = frames.filter((f) => f.keyframe).map((f) => f.ptsMs);
    return { count: timesMs.length, prevSelectedT, timesMs };
  }
  const timesMs: number[] = [];
  let prev = prevSelectedT;
  for (const f of frames) {
    const t = f.ptsMs * 0.001;
    if (isSample(t, sampling, prev)) {
      timesMs.push(f.ptsMs);
      prev = t;
    }
  }
  return { count: timesMs.length, prevSelectedT: prev, timesMs };
}

/** Whether a frame at `t` s is a sample, given the previous sample's time (NaN: none yet). Same rule in ffmpeg and JS. */
export function isSample(t: number, sampling: number, prevT: number): boolean {
  return Number.isNaN(prevT) || Math.floor(t * sampling) > Math.floor(prevT * sampling);
}

