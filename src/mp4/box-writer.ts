/**
 * Minimal ISO BMFF box builder for the fMP4 writer: boxes are assembled from Buffers, sizes are
 * computed from the children, so no box needs patching afterwards. (mp4box's writer keeps every
 * sample in memory; our segments are built once from a demuxed fragment and thrown away.)
 */
import { Buffer } from 'node:buffer';

/** Big-endian field writer for box payloads. */
export class Fields {
  private readonly parts: Buffer[] = [];

  u8(v: number): this {
    return this.push(Buffer.from([v & 0xff]));
  }

  u16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    return this.push(b);
  }

  u24(v: number): this {
    const b = Buffer.alloc(3);
    b.writeUIntBE(v, 0, 3);
    return this.push(b);
  }

  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    return this.push(b);
  }

  i32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return this.push(b);
  }

  /** 64-bit unsigned; numbers must be safe integers (epoch times in 90 kHz still are). */
  u64(v: number | bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(v));
    return this.push(b);
  }

  zeros(n: number): this {
    return this.push(Buffer.alloc(n));
  }

  /** ASCII four-character code. */
  fourcc(s: string): this {
    return this.push(fourccBytes(s));
  }

  bytes(b: Uint8Array): this {
    return this.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }

  build(): Buffer {
    return Buffer.concat(this.parts);
  }

  private push(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
}

function fourccBytes(s: string): Buffer {
  if (!/^[\x20-\x7e]{4}$/.test(s)) throw new TypeError(`box type must be 4 ASCII characters, got '${s}'`);
  return Buffer.from(s, 'latin1');
}

type Content = Buffer | Fields;

const toBuffer = (c: Content): Buffer => (c instanceof Fields ? c.build() : c);

/** A box: 32-bit size + type + content (largesize is never needed for one fragment). */
export function box(type: string, ...content: Content[]): Buffer {
  const payload = content.map(toBuffer);
  const size = 8 + payload.reduce((n, b) => n + b.length, 0);
  if (size > 0xffffffff) throw new RangeError(`'${type}' box of ${size} bytes needs a 64-bit size`);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(size);
  fourccBytes(type).copy(header, 4);
  return Buffer.concat([header, ...payload]);
}

/** A FullBox: version (8 bits) and flags (24 bits) before the content. */
export function fullBox(type: string, version: number, flags: number, ...content: Content[]): Buffer {
  return box(type, new Fields().u8(version).u24(flags), ...content);
}

/** The unity transformation matrix of tkhd/mvhd (16.16 and 2.30 fixed point). */
export const UNITY_MATRIX = new Fields()
  .u32(0x00010000).u32(0).u32(0)
  .u32(0).u32(0x00010000).u32(0)
  .u32(0).u32(0).u32(0x40000000)
  .build();
