/**
 * EBML primitives: variable-length integers, element headers and payload decoders.
 * Readers take (buffer, position, base) and return undefined when the buffer is too short;
 * `base` is added to positions in error messages so they show absolute stream offsets.
 */
import { Buffer } from 'node:buffer';
import { invalid } from './errors.ts';
import { describeId } from './ids.ts';

/** Decoded size of an element whose size field is all ones ("unknown", used by live muxers). */
export const UNKNOWN_SIZE = -1;
/** Matroska caps IDs at 4 bytes (EBMLMaxIDLength) and sizes at 8 (EBMLMaxSizeLength). */
export const MAX_ID_LENGTH = 4;
export const MAX_SIZE_LENGTH = 8;

export interface VintRead {
  /** Marker bit stripped. Exact up to Number.MAX_SAFE_INTEGER; only an approximation beyond. */
  value: number;
  length: number;
  /** Every value bit set: the reserved "unknown" pattern when the vint is a size. */
  allOnes: boolean;
}

/** Total width (1..8) announced by a vint's first byte, or 0 for the invalid first byte 0x00. */
export function vintWidth(firstByte: number): number {
  return firstByte === 0 ? 0 : Math.clz32(firstByte & 0xff) - 23;
}

export function readVint(buf: Buffer, pos: number, base = 0): VintRead | undefined {
  if (pos >= buf.length) return undefined;
  const first = buf[pos]!;
  const length = vintWidth(first);
  if (length === 0) throw invalid(`invalid vint (first byte 0x00) at offset ${base + pos}`, base + pos);
  if (pos + length > buf.length) return undefined;
  const mask = 0xff >> length;
  let value = first & mask;
  let allOnes = value === mask;
  for (let i = 1; i < length; i++) {
    const b = buf[pos + i]!;
    value = value * 256 + b;
    allOnes &&= b === 0xff;
  }
  return { value, length, allOnes };
}

/** Signed vint as used by EBML lacing: the unsigned value minus half its range. */
export function readSignedVint(buf: Buffer, pos: number, base = 0): { value: number; length: number } | undefined {
  const v = readVint(buf, pos, base);
  if (v === undefined) return undefined;
  return { value: v.value - (2 ** (7 * v.length - 1) - 1), length: v.length };
}

/** Element ID with its marker bits kept (0x1A45DFA3 stays 0x1A45DFA3). */
export function readElementId(buf: Buffer, pos: number, base = 0): { id: number; length: number } | undefined {
  if (pos >= buf.length) return undefined;
  const length = vintWidth(buf[pos]!);
  if (length === 0 || length > MAX_ID_LENGTH) {
    const first = buf[pos]!.toString(16).padStart(2, '0');
    throw invalid(`invalid element ID (first byte 0x${first}) at offset ${base + pos}`, base + pos);
  }
  if (pos + length > buf.length) return undefined;
  let id = 0;
  for (let i = 0; i < length; i++) id = id * 256 + buf[pos + i]!;
  return { id, length };
}

/** Element size; an all-ones size of any width decodes to UNKNOWN_SIZE with unknown = true. */
export function readElementSize(
  buf: Buffer,
  pos: number,
  base = 0,
): { size: number; length: number; unknown: boolean } | undefined {
  const v = readVint(buf, pos, base);
  if (v === undefined) return undefined;
  return v.allOnes ? { size: UNKNOWN_SIZE, length: v.length, unknown: true } : { size: v.value, length: v.length, unknown: false };
}

/** Smallest width that can hold `value` without producing the reserved all-ones pattern. */
export function minimalVintWidth(value: number): number {
  assertSafeNonNegative(value, 'vint value');
  for (let width = 1; width <= MAX_SIZE_LENGTH; width++) if (value <= 2 ** (7 * width) - 2) return width;
  throw new RangeError(`vint value ${value} does not fit in 8 bytes`);
}

/** Unsigned vint (sizes, block track numbers), minimal width unless one is chosen. */
export function encodeVint(value: number, width = minimalVintWidth(value)): Buffer {
  assertSafeNonNegative(value, 'vint value');
  if (!Number.isInteger(width) || width < 1 || width > MAX_SIZE_LENGTH || value > 2 ** (7 * width) - 2) {
    throw new RangeError(`vint value ${value} does not fit in ${width} byte(s)`);
  }
  const out = Buffer.alloc(width);
  let rest = value;
  for (let i = width - 1; i >= 0; i--) {
    out[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  out[0] = out[0]! | (0x80 >> (width - 1));
  return out;
}

/** Element size field; same as encodeVint, named for what callers use it for. */
export function encodeSize(size: number, width?: number): Buffer {
  return width === undefined ? encodeVint(size) : encodeVint(size, width);
}

/** All-ones size field ("unknown size"), 8 bytes wide by default as live muxers write it. */
export function encodeUnknownSize(width = MAX_SIZE_LENGTH): Buffer {
  if (!Number.isInteger(width) || width < 1 || width > MAX_SIZE_LENGTH) throw new RangeError(`bad vint width ${width}`);
  const out = Buffer.alloc(width, 0xff);
  out[0] = 0xff >> (width - 1);
  return out;
}

/** Signed vint for EBML lacing, minimal width unless one is chosen. */
export function encodeSignedVint(value: number, width?: number): Buffer {
  if (!Number.isSafeInteger(value)) throw new RangeError(`signed vint value ${value} is not a safe integer`);
  let w = width ?? 1;
  if (width === undefined) while (w < MAX_SIZE_LENGTH && Math.abs(value) > 2 ** (7 * w - 1) - 1) w++;
  const bias = 2 ** (7 * w - 1) - 1;
  if (Math.abs(value) > bias) throw new RangeError(`signed vint value ${value} does not fit in ${w} byte(s)`);
  return encodeVint(value + bias, w);
}

/** Bytes of an element ID; the width comes from the marker bits already in the ID. */
export function encodeElementId(id: number): Buffer {
  if (!Number.isInteger(id) || id < 0x80 || id > 0xffffffff) throw new RangeError(`bad element ID ${id}`);
  const width = id < 0x100 ? 1 : id < 0x10000 ? 2 : id < 0x1000000 ? 3 : 4;
  if (vintWidth(Math.floor(id / 256 ** (width - 1))) !== width) throw new RangeError(`element ID ${id.toString(16)} has bad marker bits`);
  const out = Buffer.alloc(width);
  out.writeUIntBE(id, 0, width);
  return out;
}

/** Minimal big-endian unsigned payload (at least one byte, as muxers write 0). */
export function encodeUint(value: number | bigint): Buffer {
  let v = BigInt(value);
  if (v < 0n || v >= 1n << 64n) throw new RangeError(`uint ${value} out of range`);
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v > 0n);
  return Buffer.from(bytes);
}

/** Minimal big-endian two's complement payload. */
export function encodeInt(value: number): Buffer {
  if (!Number.isSafeInteger(value)) throw new RangeError(`int ${value} is not a safe integer`);
  for (let width = 1; width <= 8; width++) {
    const limit = 2 ** (8 * width - 1);
    if (value >= -limit && value < limit) {
      if (width <= 6) {
        const out = Buffer.alloc(width);
        out.writeIntBE(value, 0, width);
        return out;
      }
      const full = Buffer.alloc(8);
      full.writeBigInt64BE(BigInt(value), 0);
      return full.subarray(8 - width);
    }
  }
  throw new RangeError(`int ${value} out of range`);
}

export function readUintBig(payload: Buffer, at = 0): bigint {
  if (payload.length > 8) throw invalid(`unsigned integer of ${payload.length} bytes at offset ${at}`, at);
  let v = 0n;
  for (const b of payload) v = (v << 8n) | BigInt(b);
  return v;
}

/** Unsigned integer payload (0..8 bytes; empty = 0); throws if beyond Number.MAX_SAFE_INTEGER. */
export function readUint(payload: Buffer, at = 0): number {
  if (payload.length === 0) return 0;
  if (payload.length <= 6) return payload.readUIntBE(0, payload.length);
  const v = readUintBig(payload, at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`unsigned integer ${v} beyond Number.MAX_SAFE_INTEGER at offset ${at}`, at);
  return Number(v);
}

/** Signed integer payload (0..8 bytes, two's complement). */
export function readInt(payload: Buffer, at = 0): number {
  if (payload.length === 0) return 0;
  if (payload.length <= 6) return payload.readIntBE(0, payload.length);
  let v = readUintBig(payload, at);
  if (payload[0]! & 0x80) v -= 1n << BigInt(8 * payload.length);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw invalid(`signed integer ${v} beyond the safe range at offset ${at}`, at);
  }
  return Number(v);
}

/** Float payload: 0 (= 0.0), 4 or 8 bytes. */
export function readFloat(payload: Buffer, at = 0): number {
  if (payload.length === 0) return 0;
  if (payload.length === 4) return payload.readFloatBE(0);
  if (payload.length === 8) return payload.readDoubleBE(0);
  throw invalid(`float of ${payload.length} bytes at offset ${at}`, at);
}

/** ASCII string payload; trailing NULs are padding (the KVS producer writes "matroska\0"). */
export function readString(payload: Buffer): string {
  return stripTrailingNuls(payload).toString('latin1');
}

export function readUtf8(payload: Buffer): string {
  return stripTrailingNuls(payload).toString('utf8');
}

export interface EbmlChild {
  id: number;
  /** Payload view. */
  data: Buffer;
  /** Absolute offset of the child element's first byte. */
  offset: number;
  /** Absolute offset of its payload (offset + header length). */
  dataOffset: number;
}

/**
 * Children of a master element held whole in `buf` between start and end.
 * Unknown sizes and children running past `end` are invalid here.
 */
export function readChildren(buf: Buffer, start: number, end: number, base: number, parent: string): EbmlChild[] {
  const children: EbmlChild[] = [];
  const scope = buf.subarray(0, end);
  let pos = start;
  while (pos < end) {
    const id = readElementId(scope, pos, base);
    const size = id && readElementSize(scope, pos + id.length, base);
    if (id === undefined || size === undefined) throw invalid(`truncated child header in ${parent} at offset ${base + pos}`, base + pos);
    const dataStart = pos + id.length + size.length;
    if (size.unknown) throw invalid(`${describeId(id.id)} with unknown size inside ${parent} at offset ${base + pos}`, base + pos);
    if (dataStart + size.size > end) {
      throw invalid(`${describeId(id.id)} at offset ${base + pos} overflows its parent ${parent}`, base + pos);
    }
    const data = buf.subarray(dataStart, dataStart + size.size);
    children.push({ id: id.id, data, offset: base + pos, dataOffset: base + dataStart });
    pos = dataStart + size.size;
  }
  return children;
}

function stripTrailingNuls(payload: Buffer): Buffer {
  let end = payload.length;
  while (end > 0 && payload[end - 1] === 0) end--;
  return payload.subarray(0, end);
}

function assertSafeNonNegative(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} ${value} is not a non-negative safe integer`);
}
