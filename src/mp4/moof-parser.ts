/**
 * Reads the sample table of one `moof` (mfhd / traf > tfhd, tfdt, trun; other children are
 * ignored): per sample its track, decode time, composition offset, size, sync flag and absolute
 * stream offset. Own code rather than mp4box so 64-bit tfdt, signed composition offsets and
 * every data-offset rule of ISO/IEC 14496-12 §8.8 are explicit.
 */
import type { Buffer } from 'node:buffer';
import { Mp4Error, invalidMp4 } from './errors.ts';
import type { SampleDefaults } from './init-segment.ts';

export interface Mp4Sample {
  trackId: number;
  /** Decode time, in the track's timescale. */
  dts: number;
  /** Composition (presentation − decode) offset, signed, in the track's timescale. */
  cts: number;
  duration: number;
  size: number;
  /** Absolute stream offset of the sample's bytes. */
  offset: number;
  sync: boolean;
}

export interface MoofContext {
  /** trex defaults of a track declared in moov; undefined for an unknown track_ID. */
  defaults(trackId: number): SampleDefaults | undefined;
  /** Where the track's previous fragment ended; used when a traf has no tfdt. */
  nextDecodeTime(trackId: number): number;
}

/** A 50 MiB fragment of one-byte samples is already absurd; this keeps bogus counts from looping. */
const MAX_SAMPLES_PER_MOOF = 1 << 20;

const TFHD_BASE_DATA_OFFSET = 0x01;
const TFHD_SAMPLE_DESCRIPTION_INDEX = 0x02;
const TFHD_DEFAULT_DURATION = 0x08;
const TFHD_DEFAULT_SIZE = 0x10;
const TFHD_DEFAULT_FLAGS = 0x20;
const TFHD_DURATION_IS_EMPTY = 0x010000;
const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;

const TRUN_DATA_OFFSET = 0x01;
const TRUN_FIRST_SAMPLE_FLAGS = 0x04;
const TRUN_DURATION = 0x100;
const TRUN_SIZE = 0x200;
const TRUN_FLAGS = 0x400;
const TRUN_COMPOSITION_OFFSET = 0x800;

const SAMPLE_IS_NON_SYNC = 0x010000;

/** `moof` is the whole box; `moofOffset` its absolute stream offset. Samples come per traf, each in decode order. */
export function parseMoof(moof: Buffer, moofOffset: number, ctx: MoofContext): Mp4Sample[] {
  const samples: Mp4Sample[] = [];
  const decodeTime = new Map<number, number>();
  // Without base_data_offset or default-base-is-moof, a traf's data follows the previous traf's.
  let previousTrafEnd = moofOffset;
  for (const child of children(moof, headerSizeOf(moof), moof.length, moofOffset)) {
    if (child.type !== 'traf') continue;
    previousTrafEnd = parseTraf(moof.subarray(child.start, child.end), child.headerSize, moofOffset + child.start, {
      moofOffset,
      previousTrafEnd,
      ctx,
      decodeTime,
      samples,
    });
  }
  return samples;
}

interface TrafState {
  moofOffset: number;
  previousTrafEnd: number;
  ctx: MoofContext;
  /** Decode time where each track's last traf in this moof ended. */
  decodeTime: Map<number, number>;
  samples: Mp4Sample[];
}

/** Returns the absolute offset just past this traf's last sample. */
function parseTraf(traf: Buffer, headerSize: number, trafOffset: number, s: TrafState): number {
  const boxes = [...children(traf, headerSize, traf.length, trafOffset)];
  const tfhdBox = boxes.find((b) => b.type === 'tfhd');
  if (tfhdBox === undefined) throw invalidMp4(`traf at offset ${trafOffset} has no tfhd`, trafOffset);
  const tfhd = parseTfhd(new Cursor(traf, tfhdBox, trafOffset));
  const defaults = s.ctx.defaults(tfhd.trackId);
  if (defaults === undefined) throw invalidMp4(`traf at offset ${trafOffset} is for track ${tfhd.trackId}, which moov does not declare`, trafOffset);
  const descriptionIndex = tfhd.sampleDescriptionIndex ?? defaults.sampleDescriptionIndex;
  if (descriptionIndex !== 1) {
    throw new Mp4Error('unsupported', `track ${tfhd.trackId} uses sample description ${descriptionIndex}; only the first is supported`, trafOffset);
  }

  const tfdtBox = boxes.find((b) => b.type === 'tfdt');
  let dts = tfdtBox
    ? parseTfdt(new Cursor(traf, tfdtBox, trafOffset))
    : (s.decodeTime.get(tfhd.trackId) ?? s.ctx.nextDecodeTime(tfhd.trackId));

  const base =
    tfhd.baseDataOffset ?? ((tfhd.flags & TFHD_DEFAULT_BASE_IS_MOOF) !== 0 ? s.moofOffset : s.previousTrafEnd);
  let dataEnd = base;
  let firstRun = true;
  for (const b of boxes) {
    if (b.type !== 'trun' || (tfhd.flags & TFHD_DURATION_IS_EMPTY) !== 0) continue;
    const c = new Cursor(traf, b, trafOffset);
    const { flags } = c.fullBoxHeader();
    const count = c.u32();
    if (s.samples.length + count > MAX_SAMPLES_PER_MOOF) {
      throw invalidMp4(`trun at offset ${trafOffset + b.start} declares ${count} samples (at most ${MAX_SAMPLES_PER_MOOF} per moof)`, trafOffset);
    }
    // A run without data_offset continues where the previous run's data ended (the base, for the first).
    let offset = (flags & TRUN_DATA_OFFSET) !== 0 ? base + c.s32() : firstRun ? base : dataEnd;
    firstRun = false;
    const firstFlags = (flags & TRUN_FIRST_SAMPLE_FLAGS) !== 0 ? c.u32() : undefined;
    for (let i = 0; i < count; i++) {
      const duration = (flags & TRUN_DURATION) !== 0 ? c.u32() : (tfhd.defaultDuration ?? defaults.duration);
      const size = (flags & TRUN_SIZE) !== 0 ? c.u32() : (tfhd.defaultSize ?? defaults.size);
      let sampleFlags = (flags & TRUN_FLAGS) !== 0 ? c.u32() : (tfhd.defaultFlags ?? defaults.flags);
      if (i === 0 && firstFlags !== undefined) sampleFlags = firstFlags;
      // Signed in version 1; unsigned in version 0 on paper, but muxers write negative offsets
      // there too and no real offset reaches 2^31, so both are read signed.
      const cts = (flags & TRUN_COMPOSITION_OFFSET) !== 0 ? c.s32() : 0;
      s.samples.push({ trackId: tfhd.trackId, dts, cts, duration, size, offset, sync: (sampleFlags & SAMPLE_IS_NON_SYNC) === 0 });
      dts += duration;
      offset += size;
    }
    dataEnd = offset;
  }
  if (!Number.isSafeInteger(dts)) throw invalidMp4(`track ${tfhd.trackId} decode time overflows at offset ${trafOffset}`, trafOffset);
  s.decodeTime.set(tfhd.trackId, dts);
  return dataEnd;
}

interface Tfhd {
  flags: number;
  trackId: number;
  baseDataOffset?: number;
  sampleDescriptionIndex?: number;
  defaultDuration?: number;
  defaultSize?: number;
  defaultFlags?: number;
}

function parseTfhd(c: Cursor): Tfhd {
  const { flags } = c.fullBoxHeader();
  const tfhd: Tfhd = { flags, trackId: c.u32() };
  if (flags & TFHD_BASE_DATA_OFFSET) tfhd.baseDataOffset = c.u64();
  if (flags & TFHD_SAMPLE_DESCRIPTION_INDEX) tfhd.sampleDescriptionIndex = c.u32();
  if (flags & TFHD_DEFAULT_DURATION) tfhd.defaultDuration = c.u32();
  if (flags & TFHD_DEFAULT_SIZE) tfhd.defaultSize = c.u32();
  if (flags & TFHD_DEFAULT_FLAGS) tfhd.defaultFlags = c.u32();
  return tfhd;
}

function parseTfdt(c: Cursor): number {
  const { version } = c.fullBoxHeader();
  return version === 1 ? c.u64() : c.u32();
}

interface ChildBox {
  type: string;
  /** Offsets within the parent buffer. */
  start: number;
  end: number;
  headerSize: number;
}

function headerSizeOf(box: Buffer): number {
  return box.readUInt32BE(0) === 1 ? 16 : 8;
}

/** Child boxes of a container payload [from, to); size 0 means "to the end of the parent". */
function* children(buf: Buffer, from: number, to: number, parentOffset: number): Generator<ChildBox> {
  let pos = from;
  while (pos < to) {
    const at = parentOffset + pos;
    if (to - pos < 8) throw invalidMp4(`${to - pos} stray bytes at offset ${at}`, at);
    const size32 = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    let headerSize = 8;
    let size = size32 === 0 ? to - pos : size32;
    if (size32 === 1) {
      if (to - pos < 16) throw invalidMp4(`truncated '${type}' header at offset ${at}`, at);
      headerSize = 16;
      const large = buf.readBigUInt64BE(pos + 8);
      size = large > BigInt(to - pos) ? Number.MAX_SAFE_INTEGER : Number(large);
    }
    if (size < headerSize || pos + size > to) {
      throw invalidMp4(`'${type}' box at offset ${at} (${size} bytes) does not fit its parent`, at);
    }
    yield { type, start: pos, end: pos + size, headerSize };
    pos += size;
  }
}

/** Bounds-checked big-endian reads inside one box's payload. */
class Cursor {
  private pos: number;
  private readonly boxOffset: number;

  constructor(
    private readonly buf: Buffer,
    private readonly box: ChildBox,
    parentOffset: number,
  ) {
    this.pos = box.start + box.headerSize;
    this.boxOffset = parentOffset + box.start;
  }

  fullBoxHeader(): { version: number; flags: number } {
    const v = this.u32();
    return { version: v >>> 24, flags: v & 0xffffff };
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  s32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): number {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw invalidMp4(`'${this.box.type}' box at offset ${this.boxOffset} holds ${v}, beyond 2^53`, this.boxOffset);
    }
    return Number(v);
  }

  private need(n: number): void {
    if (this.pos + n > this.box.end) {
      throw invalidMp4(`'${this.box.type}' box at offset ${this.boxOffset} is too short for its fields`, this.boxOffset);
    }
  }
}
