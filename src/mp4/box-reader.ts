/**
 * Incremental framing of top-level ISO BMFF boxes. Feed chunks with any boundaries; complete
 * boxes come out whole through `onBox`, interleaved in stream order with `disposition` calls
 * (so a decision about a box may depend on the boxes before it). Memory stays bounded: a box is
 * checked against `maxBoxSize` (and the caller's `disposition`) from its header alone, before
 * any of its payload is kept, and boxes the caller skips stream by without being buffered.
 */
import { Buffer } from 'node:buffer';
import { Mp4Error, invalidMp4 } from './errors.ts';

export interface BoxHeader {
  /** Four-character code, e.g. 'moof'. */
  type: string;
  /** Absolute stream offset of the box's first byte. */
  offset: number;
  /** 8, or 16 with a 64-bit largesize. */
  headerSize: number;
  /** Whole box size including the header; undefined when size 0 says "extends to the end of the stream". */
  size: number | undefined;
}

/** A box read whole; `bytes` includes the header. */
export interface Mp4Box extends BoxHeader {
  size: number;
  bytes: Buffer;
}

export type BoxDisposition = 'read' | 'skip';

export interface BoxReaderOptions {
  /** Largest box (header included) kept in memory; bigger 'read' boxes are rejected as too-large. */
  maxBoxSize: number;
  /** Called once per box header, before any payload is kept; may throw to reject the box. */
  disposition: (header: BoxHeader) => BoxDisposition;
  /** Called with each 'read' box as soon as its last byte arrives, in stream order. */
  onBox: (box: Mp4Box) => void;
}

const EMPTY = Buffer.alloc(0);
const MAX_HEADER = 16;

interface Reading {
  header: BoxHeader;
  parts: Buffer[];
  have: number;
}

export class BoxReader {
  /** Absolute stream offset of the first byte not consumed yet. */
  private offset = 0;
  /** A header split across chunks (at most 15 bytes, copied). */
  private head: Buffer = EMPTY;
  private reading: Reading | undefined;
  /** Bytes left of a box being discarded; undefined remaining = until the end of the stream. */
  private skipping: { type: string; offset: number; remaining: number | undefined } | undefined;
  private failure: unknown;
  private ended = false;

  constructor(private readonly opts: BoxReaderOptions) {
    if (!Number.isSafeInteger(opts.maxBoxSize) || opts.maxBoxSize < MAX_HEADER) {
      throw new RangeError('maxBoxSize must be an integer of at least 16');
    }
  }

  /** Bytes held for an incomplete box or header. */
  get bufferedBytes(): number {
    return this.head.length + (this.reading?.have ?? 0);
  }

  /** Delivers the boxes this chunk completes. After any error (ours or a callback's) the reader is dead. */
  push(chunk: Buffer): void {
    this.assertUsable('push');
    try {
      let pos = 0;
      while (pos < chunk.length) {
        if (this.skipping !== undefined) pos = this.skip(chunk, pos);
        else if (this.reading !== undefined) pos = this.read(this.reading, chunk, pos);
        else pos = this.header(chunk, pos);
      }
    } catch (err) {
      this.failure = err;
      throw err;
    }
  }

  /** End of the stream: delivers a size-0 ("to the end") box, or throws if a box is cut short. */
  end(): void {
    this.assertUsable('end');
    this.ended = true;
    const r = this.reading;
    if (r !== undefined && r.header.size === undefined) {
      this.reading = undefined;
      this.opts.onBox({ ...r.header, size: r.have, bytes: Buffer.concat(r.parts) });
      return;
    }
    if (r !== undefined) {
      throw invalidMp4(`truncated '${r.header.type}' box at offset ${r.header.offset}: got ${r.have} of ${r.header.size} bytes`, r.header.offset);
    }
    if (this.skipping?.remaining !== undefined) {
      const s = this.skipping;
      throw invalidMp4(`truncated '${s.type}' box at offset ${s.offset}: ${s.remaining} bytes missing`, s.offset);
    }
    if (this.head.length > 0) throw invalidMp4(`truncated box header at offset ${this.offset} (${this.head.length} bytes)`, this.offset);
  }

  private skip(chunk: Buffer, pos: number): number {
    const s = this.skipping!;
    const n = s.remaining === undefined ? chunk.length - pos : Math.min(s.remaining, chunk.length - pos);
    this.offset += n;
    if (s.remaining !== undefined) {
      s.remaining -= n;
      if (s.remaining === 0) this.skipping = undefined;
    }
    return pos + n;
  }

  private read(r: Reading, chunk: Buffer, pos: number): number {
    const size = r.header.size;
    const n = size === undefined ? chunk.length - pos : Math.min(size - r.have, chunk.length - pos);
    if (size === undefined && r.have + n > this.opts.maxBoxSize) throw tooLarge(r.header, r.have + n, this.opts.maxBoxSize);
    r.parts.push(chunk.subarray(pos, pos + n));
    r.have += n;
    this.offset += n;
    if (size !== undefined && r.have === size) {
      this.reading = undefined;
      const bytes = r.parts.length === 1 ? r.parts[0]! : Buffer.concat(r.parts, size);
      this.opts.onBox({ ...r.header, size, bytes });
    }
    return pos + n;
  }

  /** Consumes header bytes; once the header is complete, starts reading or skipping the box. */
  private header(chunk: Buffer, pos: number): number {
    const fromHead = this.head.length;
    const buf = fromHead > 0 ? Buffer.concat([this.head, chunk.subarray(pos, pos + MAX_HEADER - fromHead)]) : chunk.subarray(pos);
    const header = parseHeader(buf, this.offset);
    if (header === undefined) {
      // Incomplete: keep what we have (a copy, so a tiny tail does not pin the chunk).
      this.head = Buffer.from(buf.subarray(0, MAX_HEADER));
      return chunk.length;
    }
    this.head = EMPTY;
    const headerBytes = Buffer.from(buf.subarray(0, header.headerSize));
    const next = pos + header.headerSize - fromHead;
    this.offset += header.headerSize; // held-back header bytes are counted only now
    const remaining = header.size === undefined ? undefined : header.size - header.headerSize;

    if (this.opts.disposition(header) === 'skip') {
      if (remaining !== 0) this.skipping = { type: header.type, offset: header.offset, remaining };
      return next;
    }
    if (header.size !== undefined && header.size > this.opts.maxBoxSize) throw tooLarge(header, header.size, this.opts.maxBoxSize);
    if (remaining === 0) this.opts.onBox({ ...header, size: header.headerSize, bytes: headerBytes });
    else this.reading = { header, parts: [headerBytes], have: header.headerSize };
    return next;
  }

  private assertUsable(what: string): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.ended) throw new Error(`BoxReader.${what}() after end()`);
  }
}

/** Parses a box header at the start of `buf`; undefined when more bytes are needed. */
function parseHeader(buf: Buffer, offset: number): BoxHeader | undefined {
  if (buf.length < 8) {
    // Reject garbage on its first bytes rather than waiting for a plausible header.
    if (buf.length > 4) checkType(buf.subarray(4), offset);
    return undefined;
  }
  const type = checkType(buf.subarray(4, 8), offset);
  const size32 = buf.readUInt32BE(0);
  if (size32 === 0) return { type, offset, headerSize: 8, size: undefined };
  if (size32 !== 1) {
    if (size32 < 8) throw invalidMp4(`'${type}' box at offset ${offset} declares size ${size32}, smaller than its header`, offset);
    return { type, offset, headerSize: 8, size: size32 };
  }
  if (buf.length < 16) return undefined;
  const large = buf.readBigUInt64BE(8);
  if (large < 16n) throw invalidMp4(`'${type}' box at offset ${offset} declares largesize ${large}, smaller than its header`, offset);
  // Beyond 2^53 no limit could admit it; report it as too large without converting.
  if (large > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new Mp4Error('too-large', `'${type}' box at offset ${offset} declares ${large} bytes`, offset);
  }
  return { type, offset, headerSize: 16, size: Number(large) };
}

/** Top-level box types are printable ASCII; anything else means we are not looking at a box. */
function checkType(bytes: Buffer, offset: number): string {
  for (const b of bytes) {
    if (b < 0x20 || b > 0x7e) {
      throw invalidMp4(`no ISO BMFF box at offset ${offset}: type bytes ${bytes.toString('hex')} are not a four-character code`, offset);
    }
  }
  return bytes.toString('latin1');
}

function tooLarge(h: BoxHeader, size: number, limit: number): Mp4Error {
  return new Mp4Error('too-large', `'${h.type}' box at offset ${h.offset} is ${size} bytes (limit ${limit})`, h.offset);
}
