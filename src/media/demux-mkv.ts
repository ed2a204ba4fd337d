/**
 * Turns a stored fragment (the session's MKV header + the cluster) into samples. Pure.
 */
import { MkvStreamParser, type TrackEntry } from '../mkv/index.ts';
import type { DemuxedFragment, MediaSample, MediaTrack, TrackKind } from './types.ts';

function kindOf(t: TrackEntry): TrackKind {
  return t.type === 1 ? 'video' : t.type === 2 ? 'audio' : 'other';
}

export function toMediaTrack(t: TrackEntry): MediaTrack {
  return {
    number: t.number,
    kind: kindOf(t),
    codecId: t.codecId,
    ...(t.codecPrivate ? { codecPrivate: t.codecPrivate } : {}),
    ...(t.video ? { width: t.video.width, height: t.video.height } : {}),
    ...(t.audio ? { sampleRate: t.audio.samplingFrequency, channels: t.audio.channels } : {}),
    entry: t,
  };
}

export function demuxFragment(header: Buffer, body: Buffer): DemuxedFragment {
  const parser = new MkvStreamParser();
  let tracks: MediaTrack[] = [];
  let scaleMs = 1;
  let clusterMs = 0;
  const raw: RawFrame[] = [];
  for (const ev of [...parser.push(header), ...parser.push(body), ...parser.end()]) {
    if (ev.type === 'info') scaleMs = ev.timecodeScale / 1_000_000;
    else if (ev.type === 'tracks') tracks = ev.tracks.map(toMediaTrack);
    else if (ev.type === 'cluster-timecode') clusterMs = ev.timecode * scaleMs;
    else if (ev.type === 'block') {
      const b = ev.block;
      const ptsMs = clusterMs + b.relativeTimecode * scaleMs;
      const track = tracks.find((t) => t.number === b.track);
      const defaultMs = track?.entry.defaultDurationNs !== undefined ? track.entry.defaultDurationNs / 1e6 : undefined;
      // Laced frames share the block time: space them by the block's (or track's) frame duration.
      const frameMs = b.durationTicks !== undefined ? (b.durationTicks * scaleMs) / b.frames.length : defaultMs;
      for (const [i, frame] of b.frames.entries()) {
        raw.push({
          track: b.track,
          ptsMs: ptsMs + i * (frameMs ?? 0),
          // A laced audio block is a run of independently decodable frames.
          keyframe: b.keyframe && (i === 0 || track?.kind === 'audio'),
          data: frame,
          ...(frameMs !== undefined ? { frameMs } : {}),
        });
      }
    }
  }
  const samples: MediaSample[] = [];
  for (const t of tracks) {
    const own = raw.filter((s) => s.track === t.number);
    samples.push(...withDecodeTimes(own));
  }
  samples.sort((a, b) => a.dtsMs - b.dtsMs || a.track - b.track);
  const startMs = samples.length ? Math.min(...samples.map((s) => s.ptsMs)) : 0;
  const endMs = samples.length ? Math.max(...samples.map((s) => s.ptsMs + s.durationMs)) : 0;
  return { tracks, samples, startMs, durationMs: endMs - startMs };
}

interface RawFrame {
  track: number;
  ptsMs: number;
  keyframe: boolean;
  data: Buffer;
  /** BlockDuration (per laced frame) or the track's DefaultDuration, when the file says. */
  frameMs?: number;
}

/**
 * Decode times: the sorted presentation times, shifted back by the largest reordering so that
 * dts <= pts for every sample. Without B-frames this is dts = pts. The last sample lasts its
 * declared duration if any (a one-frame fragment would otherwise last 0), else the previous gap.
 */
function withDecodeTimes(own: RawFrame[]): MediaSample[] {
  const sorted = own.map((s) => s.ptsMs).sort((a, b) => a - b);
  let shift = 0;
  own.forEach((s, i) => (shift = Math.max(shift, sorted[i]! - s.ptsMs)));
  const dts = sorted.map((t) => t - shift);
  return own.map(({ frameMs, ...s }, i) => {
    const next = dts[i + 1];
    const prevGap = i > 0 ? dts[i]! - dts[i - 1]! : 0;
    return { ...s, dtsMs: dts[i]!, durationMs: next !== undefined ? next - dts[i]! : (frameMs ?? prevGap) };
  });
}
