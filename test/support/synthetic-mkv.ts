/**
 * Inline MKV builders for ingest tests: a header (EBML + Segment + Info + Tracks) and clusters
 * of fake H.264 frames. The server never decodes frames, but ingest checks their NAL framing,
 * so each frame is one length-prefixed (4-byte, as the avcC says) NAL unit of filler bytes.
 */
import { MKV_ID, clusterElement, ebmlHeader, infoElement, simpleBlock, tagsElement, tracksElement, unknownSizeHeader } from '../../src/mkv/index.ts';

/** avcC records (SPS + PPS) as x264 writes them for 640x480 and 320x240 Constrained Baseline. */
export const AVCC_640x480: Buffer = Buffer.from('0142c01effe100186742c01eda0280f6c044000003000400000300c83c58ba8001000468ce0fc8', 'hex');
export const AVCC_320x240: Buffer = Buffer.from('0142c00dffe100166742c00dda0507ec0440000003004000000c83c50aa801000468ce0fc8', 'hex');
export const VIDEO_TRACK = { number: 1, type: 1, codecId: 'V_MPEG4/ISO/AVC', codecPrivate: AVCC_640x480, video: { width: 640, height: 480 } };
export const AUDIO_TRACK = { number: 2, type: 2, codecId: 'A_AAC', codecPrivate: Buffer.from([0x12, 0x10]), audio: { samplingFrequency: 44100, channels: 2 } };

export function mkvHeader(opts: { tracks?: Array<typeof VIDEO_TRACK | typeof AUDIO_TRACK>; timecodeScale?: number } = {}): Buffer {
  return Buffer.concat([
    ebmlHeader(),
    unknownSizeHeader(MKV_ID.Segment),
    infoElement({ timecodeScale: opts.timecodeScale ?? 1_000_000, muxingApp: 'kestrel-test', writingApp: 'kestrel-test' }),
    tracksElement(opts.tracks ?? [VIDEO_TRACK]),
  ]);
}

export interface ClusterOpts {
  /** Cluster timecode in ms (with the default 1 ms timecode scale). */
  timecode: number;
  frames?: number;
  frameIntervalMs?: number;
  frameBytes?: number;
  tracks?: number[];
  unknownSize?: boolean;
  seed?: number;
}

/** A cluster whose first video frame is a keyframe. */
export function mkvCluster(o: ClusterOpts): Buffer {
  const frames = o.frames ?? 25;
  const interval = o.frameIntervalMs ?? 40;
  const size = o.frameBytes ?? 1000;
  const children: Buffer[] = [];
  for (let i = 0; i < frames; i++) {
    for (const track of o.tracks ?? [1]) {
      const frame = Buffer.alloc(size, ((o.seed ?? o.timecode) + i + track) & 0xff);
      if (track === 1 && size > 4) frame.writeUInt32BE(size - 4, 0);
      children.push(simpleBlock({ track, relativeTimecode: i * interval, keyframe: i === 0 && track === 1, frame }));
    }
  }
  return clusterElement({ timecode: o.timecode, children, ...(o.unknownSize ? { unknownSize: true } : {}) });
}

/** `count` consecutive 1 s clusters starting at `startMs`. */
export function mkvClusters(count: number, startMs = 0, opts: Omit<ClusterOpts, 'timecode'> = {}): Buffer[] {
  return Array.from({ length: count }, (_, i) => mkvCluster({ ...opts, timecode: startMs + i * 1000 }));
}

export const fragmentTags = (tags: Array<{ name: string; value: string }>): Buffer => tagsElement(tags);

/** Splits bytes into pieces of `size` (the server must not care where chunk boundaries fall). */
export function pieces(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}
