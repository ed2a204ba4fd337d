/**
 * Matroska byte builders: pure functions returning Buffers. Used by the GetMedia packager
 * (headers, KVS Tags) and by tests instead of binary fixtures.
 */
import { Buffer } from 'node:buffer';
import { encodeElementId, encodeInt, encodeSignedVint, encodeSize, encodeUint, encodeUnknownSize, encodeVint, minimalVintWidth } from './ebml.ts';
import { MKV_ID } from './ids.ts';
import type { Lacing, TrackEntry } from './types.ts';

/** Known-size element with a minimal-width size field. */
export function element(id: number, payload: Buffer | readonly Buffer[]): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.concat(payload);
  return Buffer.concat([encodeElementId(id), encodeSize(body.length), body]);
}

export function uintElement(id: number, value: number | bigint): Buffer {
  return element(id, encodeUint(value));
}

export function intElement(id: number, value: number): Buffer {
  return element(id, encodeInt(value));
}

/** 8-byte IEEE double. */
export function floatElement(id: number, value: number): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeDoubleBE(value, 0);
  return element(id, payload);
}

/** UTF-8 (a superset of the ASCII "string" type). */
export function stringElement(id: number, value: string): Buffer {
  return element(id, Buffer.from(value, 'utf8'));
}

/** ID + 8-byte unknown size (0x01FFFFFFFFFFFFFF), as the KVS producer writes Segment and Cluster. */
export function unknownSizeHeader(id: number): Buffer {
  return Buffer.concat([encodeElementId(id), encodeUnknownSize(8)]);
}

export function ebmlHeader(docType = 'matroska', docTypeVersion = 4): Buffer {
  return element(MKV_ID.EBML, [
    uintElement(MKV_ID.EBMLVersion, 1),
    uintElement(MKV_ID.EBMLReadVersion, 1),
    uintElement(MKV_ID.EBMLMaxIDLength, 4),
    uintElement(MKV_ID.EBMLMaxSizeLength, 8),
    stringElement(MKV_ID.DocType, docType),
    uintElement(MKV_ID.DocTypeVersion, docTypeVersion),
    uintElement(MKV_ID.DocTypeReadVersion, 2),
  ]);
}

/** Segment wrapping `children`; with unknownSize only the header is sized "unknown". */
export function segmentElement(opts: { children: readonly Buffer[]; unknownSize?: boolean }): Buffer {
  if (opts.unknownSize) return Buffer.concat([unknownSizeHeader(MKV_ID.Segment), ...opts.children]);
  return element(MKV_ID.Segment, opts.children);
}

export function infoElement(opts: { timecodeScale: number; muxingApp?: string; writingApp?: string; duration?: number }): Buffer {
  const children = [uintElement(MKV_ID.TimecodeScale, opts.timecodeScale)];
  if (opts.duration !== undefined) children.push(floatElement(MKV_ID.Duration, opts.duration));
  if (opts.muxingApp !== undefined) children.push(stringElement(MKV_ID.MuxingApp, opts.muxingApp));
  if (opts.writingApp !== undefined) children.push(stringElement(MKV_ID.WritingApp, opts.writingApp));
  return element(MKV_ID.Info, children);
}

export function tracksElement(tracks: readonly TrackEntry[]): Buffer {
  return element(MKV_ID.Tracks, tracks.map(trackEntryElement));
}

function trackEntryElement(t: TrackEntry): Buffer {
  const children = [
    uintElement(MKV_ID.TrackNumber, t.number),
    uintElement(MKV_ID.TrackUID, t.uid ?? t.number),
    uintElement(MKV_ID.TrackType, t.type),
    stringElement(MKV_ID.CodecID, t.codecId),
  ];
  if (t.codecPrivate !== undefined) children.push(element(MKV_ID.CodecPrivate, t.codecPrivate));
  if (t.name !== undefined) children.push(stringElement(MKV_ID.Name, t.name));
  if (t.defaultDurationNs !== undefined) children.push(uintElement(MKV_ID.DefaultDuration, t.defaultDurationNs));
  if (t.video !== undefined) {
    children.push(
      element(MKV_ID.Video, [uintElement(MKV_ID.PixelWidth, t.video.width), uintElement(MKV_ID.PixelHeight, t.video.height)]),
    );
  }
  if (t.audio !== undefined) {
    children.push(
      element(MKV_ID.Audio, [
        floatElement(MKV_ID.SamplingFrequency, t.audio.samplingFrequency),
        uintElement(MKV_ID.Channels, t.audio.channels),
      ]),
    );
  }
  return element(MKV_ID.TrackEntry, children);
}

/** Either one `frame`, or `frames` with a lacing mode (default 'ebml' when several frames). */
export interface BlockContent {
  track: number;
  /** Signed int16 offset from the cluster Timecode. */
  relativeTimecode: number;
  frame?: Buffer;
  frames?: readonly Buffer[];
  lacing?: Lacing;
  invisible?: boolean;
}

export function simpleBlock(opts: BlockContent & { keyframe: boolean; discardable?: boolean }): Buffer {
  let flags = opts.keyframe ? 0x80 : 0;
  if (opts.discardable) flags |= 0x01;
  return element(MKV_ID.SimpleBlock, blockPayload(opts, flags));
}

/** BlockGroup with a Block; each referenceBlocks entry adds a ReferenceBlock (⇒ not a keyframe). */
export function blockGroup(opts: BlockContent & { durationTicks?: number; referenceBlocks?: readonly number[] }): Buffer {
  const children = [element(MKV_ID.Block, blockPayload(opts, 0))];
  if (opts.durationTicks !== undefined) children.push(uintElement(MKV_ID.BlockDuration, opts.durationTicks));
  for (const ref of opts.referenceBlocks ?? []) children.push(intElement(MKV_ID.ReferenceBlock, ref));
  return element(MKV_ID.BlockGroup, children);
}

/** Known-size Cluster, or (unknownSize) an unknown-size header followed by the children. */
export function clusterElement(opts: { timecode: number; children: readonly Buffer[]; unknownSize?: boolean }): Buffer {
  const children = [uintElement(MKV_ID.Timecode, opts.timecode), ...opts.children];
  if (opts.unknownSize) return Buffer.concat([unknownSizeHeader(MKV_ID.Cluster), ...children]);
  return element(MKV_ID.Cluster, children);
}

/**
 * One Tags > one Tag (no Targets) > a SimpleTag{TagName, TagString} per entry: the layout KVS
 * injects. The same bytes as nesting element()/stringElement(), written into one allocation:
 * GetMedia builds two of these per fragment sent.
 */
export function tagsElement(tags: ReadonlyArray<{ name: string; value: string }>): Buffer {
  const strings = tags.map((t) => [Buffer.from(t.name, 'utf8'), Buffer.from(t.value, 'utf8')] as const);
  const simpleSizes = strings.map(([name, value]) => elementBytes(MKV_ID.TagName, name.length) + elementBytes(MKV_ID.TagString, value.length));
  const tagSize = simpleSizes.reduce((n, size) => n + elementBytes(MKV_ID.SimpleTag, size), 0);
  const tagsSize = elementBytes(MKV_ID.Tag, tagSize);
  const out = Buffer.allocUnsafe(elementBytes(MKV_ID.Tags, tagsSize));
  let at = writeElementHead(out, 0, MKV_ID.Tags, tagsSize);
  at = writeElementHead(out, at, MKV_ID.Tag, tagSize);
  strings.forEach(([name, value], i) => {
    at = writeElementHead(out, at, MKV_ID.SimpleTag, simpleSizes[i]!);
    at = writeElementHead(out, at, MKV_ID.TagName, name.length);
    at += name.copy(out, at);
    at = writeElementHead(out, at, MKV_ID.TagString, value.length);
    at += value.copy(out, at);
  });
  return out;
}

/** Bytes of a known-size element with `size` payload bytes (ID, minimal size field, payload). */
function elementBytes(id: number, size: number): number {
  return encodedIdWidth(id) + minimalVintWidth(size) + size;
}

const encodedIdWidth = (id: number) => (id < 0x100 ? 1 : id < 0x10000 ? 2 : id < 0x1000000 ? 3 : 4);

/** Writes an element's ID and minimal-width size field at `at`; returns where the payload starts. */
function writeElementHead(out: Buffer, at: number, id: number, size: number): number {
  const idWidth = encodedIdWidth(id);
  out.writeUIntBE(id, at, idWidth);
  at += idWidth;
  const width = minimalVintWidth(size);
  let rest = size;
  for (let i = width - 1; i >= 0; i--) {
    out[at + i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  out[at] = out[at]! | (0x80 >> (width - 1));
  return at + width;
}

function blockPayload(opts: BlockContent, baseFlags: number): Buffer {
  if (!Number.isInteger(opts.relativeTimecode) || opts.relativeTimecode < -32768 || opts.relativeTimecode > 32767) {
    throw new RangeError(`block relativeTimecode ${opts.relativeTimecode} is not an int16`);
  }
  const frames = opts.frames ?? (opts.frame !== undefined ? [opts.frame] : undefined);
  if (frames === undefined || frames.length === 0) throw new RangeError('block needs a frame or frames');
  const lacing = opts.lacing ?? (frames.length > 1 ? 'ebml' : 'none');
  if (lacing === 'none' && frames.length !== 1) throw new RangeError('several frames need a lacing mode');
  if (frames.length > 256) throw new RangeError('at most 256 frames per laced block');

  const header = Buffer.alloc(3);
  header.writeInt16BE(opts.relativeTimecode, 0);
  header[2] = baseFlags | (opts.invisible ? 0x08 : 0) | (LACING_BITS[lacing] << 1);
  const parts = [encodeVint(opts.track), header];
  if (lacing !== 'none') parts.push(Buffer.from([frames.length - 1]), laceSizes(frames, lacing));
  return Buffer.concat([...parts, ...frames]);
}

const LACING_BITS: Record<Lacing, number> = { none: 0, xiph: 1, fixed: 2, ebml: 3 };

/** Size table for all frames but the last (whose size is implied). */
function laceSizes(frames: readonly Buffer[], lacing: Lacing): Buffer {
  const sizes = frames.slice(0, -1).map((f) => f.length);
  if (lacing === 'fixed') {
    if (frames.some((f) => f.length !== frames[0]!.length)) throw new RangeError('fixed lacing needs equal-size frames');
    return Buffer.alloc(0);
  }
  if (lacing === 'xiph') {
    return Buffer.from(sizes.flatMap((s) => [...Array<number>(Math.floor(s / 255)).fill(255), s % 255]));
  }
  return Buffer.concat(sizes.map((s, i) => (i === 0 ? encodeVint(s) : encodeSignedVint(s - sizes[i - 1]!))));
}
