/**
 * Pure parts of KVS image generation (kvs-api.md §6.1): which frames of a fragment become images,
 * the S3 destination, object key, Content-Type and user metadata.
 */
import type { ImageGenerationConfiguration } from '../control/media-configs.ts';
import { kvsImageMetadata, parseSnapshotDestination, snapshotKey } from '../notify/snapshot-store.ts';

export interface S3Target {
  bucket: string;
  prefix: string;
}

/** `s3://bucket[/prefix]` from DestinationConfig.Uri; throws for anything else. */
export function parseS3Uri(uri: string): S3Target {
  if (!/^s3:\/\//i.test(uri)) throw new Error(`image generation destination is not an s3:// URI: ${uri}`);
  const d = parseSnapshotDestination(uri);
  if (d.kind !== 's3') throw new Error(`image generation destination is not an s3:// URI: ${uri}`);
  return { bucket: d.bucket, prefix: d.prefix };
}

export interface ImageEncoding {
  format: 'jpeg' | 'png';
  ext: 'jpg' | 'png';
  contentType: 'image/jpeg' | 'image/png';
  jpegQuality: number;
  width?: number;
  height?: number;
}

/** Encoder settings from the configuration (JPEGQuality default 80; one size given keeps the aspect). */
export function imageEncoding(c: ImageGenerationConfiguration): ImageEncoding {
  const jpeg = c.Format === 'JPEG';
  const q = Number(c.FormatConfig?.JPEGQuality ?? '80');
  return {
    format: jpeg ? 'jpeg' : 'png',
    ext: jpeg ? 'jpg' : 'png',
    contentType: jpeg ? 'image/jpeg' : 'image/png',
    jpegQuality: Number.isFinite(q) && q >= 1 && q <= 100 ? q : 80,
    ...(c.WidthPixels !== undefined ? { width: c.WidthPixels } : {}),
    ...(c.HeightPixels !== undefined ? { height: c.HeightPixels } : {}),
  };
}

export interface SamplingInput {
  /** Presentation times (ms, fragment media timeline) of the first video track's frames, ascending, unique. */
  framePtsMs: readonly number[];
  /** The first keyframe's time: nothing before it can be decoded. */
  firstDecodableMs: number;
  /** Media time of the fragment's earliest sample (= its timestamp in the chosen domain). */
  mediaStartMs: number;
  /** The fragment's start in the chosen domain (PRODUCER_ or SERVER_TIMESTAMP), ms epoch. */
  fragmentStartMs: number;
  /** Up to the end of its last sample, ms. */
  fragmentDurationMs: number;
  intervalMs: number;
}

export interface SampledFrame {
  /** Frame time on the media timeline (what the extractor selects). */
  ptsMs: number;
  /** Offset of the frame from the fragment start, ms. */
  offsetMs: number;
}

/**
 * Sample instants are the multiples of `intervalMs` on the epoch timeline of the chosen timestamp
 * domain, so consecutive fragments continue one grid and an interval longer than a fragment holds,
 * whatever order fragments are processed in. Each instant inside the fragment takes the latest
 * decodable frame at or before it; instants that land on the same frame give one image.
 */
export function sampleFrames(s: SamplingInput): SampledFrame[] {
  const decodable = s.framePtsMs.filter((p) => p >= s.firstDecodableMs);
  if (decodable.length === 0 || !(s.intervalMs > 0)) return [];
  const end = s.fragmentStartMs + Math.max(s.fragmentDurationMs, 0);
  const frames: SampledFrame[] = [];
  for (let t = Math.ceil(s.fragmentStartMs / s.intervalMs) * s.intervalMs; t < end || (t === s.fragmentStartMs && t <= end); t += s.intervalMs) {
    const mediaT = t - s.fragmentStartMs + s.mediaStartMs;
    let chosen = decodable[0]!;
    for (const p of decodable) {
      if (p <= mediaT) chosen = p;
      else break;
    }
    if (frames.at(-1)?.ptsMs !== chosen) frames.push({ ptsMs: chosen, offsetMs: chosen - s.mediaStartMs });
  }
  return frames;
}

export interface ImageObjectInput {
  imagePrefix?: string;
  accountId: string;
  stream: string;
  /** The image time in the configured ImageSelectorType domain, ms epoch. */
  imageTimecodeMs: number;
  guid: string;
  ext: 'jpg' | 'png';
}

/** `{ImagePrefix}_{AccountID}_{StreamName}_{ImageTimecodeEpochMs}_{RandomGUID}.{jpg|png}` (no prefix part without the tag). */
export function imageObjectKey(i: ImageObjectInput): string {
  return snapshotKey({
    ...(i.imagePrefix !== undefined ? { imagePrefix: i.imagePrefix } : {}),
    accountId: i.accountId,
    stream: i.stream,
    timestampMs: i.imageTimecodeMs,
    guid: i.guid,
    ext: i.ext,
  });
}

/** The image's S3 user metadata: the fragment's custom tags, then the three KVS keys (they win). */
export function imageMetadata(m: { producerTimestampMs: number; serverTimestampMs: number; fragmentNumber: string; tags: Record<string, string> }): Record<string, string> {
  return kvsImageMetadata({
    producerTimestamp: Math.round(m.producerTimestampMs),
    serverTimestamp: Math.round(m.serverTimestampMs),
    fragmentNumber: m.fragmentNumber,
    tags: m.tags,
  });
}
