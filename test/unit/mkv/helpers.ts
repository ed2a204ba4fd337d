/** Shared builders and drivers for the MKV tests (streams are built with writer.ts, no fixtures). */
import { Buffer } from 'node:buffer';
import { MkvStreamParser } from '../../../src/mkv/stream-parser.ts';
import {
  clusterElement,
  ebmlHeader,
  infoElement,
  segmentElement,
  simpleBlock,
  tagsElement,
  tracksElement,
} from '../../../src/mkv/writer.ts';
import type { MkvEvent, MkvLimits, TrackEntry } from '../../../src/mkv/types.ts';

export const VIDEO_TRACK: TrackEntry = {
  number: 1,
  uid: 1,
  type: 1,
  codecId: 'V_MPEG4/ISO/AVC',
  codecPrivate: Buffer.from([0x01, 0x42, 0xc0, 0x1e, 0xff]),
  name: 'video',
  defaultDurationNs: 40_000_000,
  video: { width: 640, height: 480 },
};

export const AUDIO_TRACK: TrackEntry = {
  number: 2,
  uid: 2,
  type: 2,
  codecId: 'A_AAC',
  codecPrivate: Buffer.from([0x12, 0x10]),
  audio: { samplingFrequency: 48000, channels: 2 },
};

/** Deterministic frame bytes so equality checks mean something. */
export function frameBytes(seed: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (seed * 31 + i * 7) & 0xff;
  return b;
}

/** A cluster of `count` video blocks 40 ms apart, the first a keyframe. */
export function videoCluster(timecode: number, count: number, unknownSize = false): Buffer {
  const children = Array.from({ length: count }, (_, i) =>
    simpleBlock({ track: 1, relativeTimecode: i * 40, keyframe: i === 0, frame: frameBytes(timecode + i, 50 + i * 13) }),
  );
  return clusterElement({ timecode, children, unknownSize });
}

export function headerElements(): Buffer[] {
  return [
    infoElement({ timecodeScale: 1_000_000, muxingApp: 'kestrel-test', writingApp: 'kestrel-test' }),
    tracksElement([VIDEO_TRACK, AUDIO_TRACK]),
  ];
}

/** Producer-SDK style: unknown-size Segment and Clusters, fragment Tags after each cluster. */
export function producerStyleStream(): Buffer {
  return Buffer.concat([
    ebmlHeader(),
    segmentElement({
      unknownSize: true,
      children: [
        ...headerElements(),
        videoCluster(1000, 5, true),
        tagsElement([{ name: 'AWS_KINESISVIDEO_END_OF_FRAGMENT', value: '' }]),
        videoCluster(2000, 4, true),
        tagsElement([{ name: 'user', value: 'x' }]),
        videoCluster(3000, 3, true),
      ],
    }),
  ]);
}

/** ffmpeg style: known sizes everywhere, a Void and a Cues element. */
export function knownSizeStream(): Buffer {
  return Buffer.concat([
    ebmlHeader('webm', 2),
    segmentElement({
      children: [
        ...headerElements(),
        videoCluster(0, 4),
        videoCluster(160, 4),
        tagsElement([{ name: 'title', value: 'known' }]),
      ],
    }),
  ]);
}

export function parseAll(input: Buffer, chunkSizes: (remaining: number) => number, limits?: Partial<MkvLimits>): MkvEvent[] {
  const parser = new MkvStreamParser(limits);
  const events: MkvEvent[] = [];
  for (let pos = 0; pos < input.length; ) {
    const n = Math.max(1, Math.min(chunkSizes(input.length - pos), input.length - pos));
    events.push(...parser.push(input.subarray(pos, pos + n)));
    pos += n;
  }
  events.push(...parser.end());
  return events;
}

export const wholeFeed = (input: Buffer, limits?: Partial<MkvLimits>) => parseAll(input, (r) => r, limits);
export const byteFeed = (input: Buffer, limits?: Partial<MkvLimits>) => parseAll(input, () => 1, limits);

/** mulberry32: small seeded PRNG so random splits are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** JSON-friendly copy of events: Buffers become hex so deep equality compares bytes. */
export function normalize(events: readonly MkvEvent[]): unknown {
  return JSON.parse(
    JSON.stringify(events, (_k, v: unknown) => {
      if (typeof v === 'bigint') return `${v}n`;
      if (v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer') {
        return Buffer.from((v as { data: number[] }).data).toString('hex');
      }
      return v;
    }),
  );
}

export function types(events: readonly MkvEvent[]): string[] {
  return events.map((e) => e.type);
}

/** Concatenation of every raw: equals the input when nothing was skipped. */
export function concatRaws(events: readonly MkvEvent[]): Buffer {
  return Buffer.concat(events.flatMap((e) => ('raw' in e ? [e.raw] : [])));
}
