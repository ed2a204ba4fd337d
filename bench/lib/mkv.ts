/**
 * Synthetic camera media: one fake H.264 track, random frame payloads framed as one
 * length-prefixed NAL unit each (ingest checks the framing, never decodes), known-size 1 s clusters. Blocks are built once and reused by every cluster, so sending
 * costs the load generator no copies: a cluster is [Cluster ID + size + Timecode, ...blocks].
 */
import { randomBytes } from 'node:crypto';
import {
  MKV_ID,
  ebmlHeader,
  encodeElementId,
  encodeSize,
  infoElement,
  simpleBlock,
  tracksElement,
  uintElement,
  unknownSizeHeader,
} from '../../src/mkv/index.ts';

export const VIDEO_TRACK = {
  number: 1,
  type: 1,
  codecId: 'V_MPEG4/ISO/AVC',
  codecPrivate: Buffer.from([1, 0x64, 0, 0x1f, 0xff, 0xe0, 0]),
  video: { width: 1280, height: 720 },
};

/** EBML header + unknown-size Segment + Info + Tracks: what a producer sends once per connection. */
export function mkvHeader(): Buffer {
  return Buffer.concat([
    ebmlHeader(),
    unknownSizeHeader(MKV_ID.Segment),
    infoElement({ timecodeScale: 1_000_000, muxingApp: 'kestrel-bench', writingApp: 'kestrel-bench' }),
    tracksElement([VIDEO_TRACK]),
  ]);
}

export class SyntheticCamera {
  readonly blocks: Buffer[];
  private readonly blocksBytes: number;
  readonly frameIntervalMs: number;

  /** `frames` frames of `frameBytes` each per cluster, `fps` apart; the first is a keyframe. */
  constructor(readonly opts: { frameBytes: number; frames: number; fps?: number }) {
    this.frameIntervalMs = 1000 / (opts.fps ?? 25);
    this.blocks = Array.from({ length: opts.frames }, (_, i) =>
      simpleBlock({ track: 1, relativeTimecode: Math.round(i * this.frameIntervalMs), keyframe: i === 0, frame: lengthPrefixedNal(opts.frameBytes) }),
    );
    this.blocksBytes = this.blocks.reduce((n, b) => n + b.length, 0);
  }

  /** Cluster ID + size + Timecode element: the only bytes that differ between clusters. */
  clusterHead(timecodeMs: number): Buffer {
    const timecode = uintElement(MKV_ID.Timecode, timecodeMs);
    const size = timecode.length + this.blocksBytes;
    return Buffer.concat([encodeElementId(MKV_ID.Cluster), encodeSize(size), timecode]);
  }

  /** The whole cluster as parts to write in order. */
  cluster(timecodeMs: number): Buffer[] {
    return [this.clusterHead(timecodeMs), ...this.blocks];
  }

  clusterBytes(timecodeMs: number): number {
    return this.clusterHead(timecodeMs).length + this.blocksBytes;
  }
}

/** `bytes` of random payload as one NAL unit behind its 4-byte length (the avcC's lengthSizeMinusOne = 3). */
function lengthPrefixedNal(bytes: number): Buffer {
  const frame = randomBytes(Math.max(bytes, 5));
  frame.writeUInt32BE(frame.length - 4, 0);
  return frame;
}
