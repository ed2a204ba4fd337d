/**
 * Incremental Matroska parser for PutMedia bodies and GetMedia streams.
 *
 * Feed it chunks with any boundaries; it returns the events each chunk completes. Memory stays
 * bounded whatever sizes the input claims: clusters and segments are entered, not buffered;
 * elements needed whole (blocks, Info, Tracks, Tags, ...) are checked against MkvLimits before a
 * single byte is kept for them; bigger level-1 elements are skipped as they stream by.
 */
import { Buffer } from 'node:buffer';
import { parseBlockElement } from './block-parser.ts';
import { readElementId, readElementSize, readUintBig } from './ebml.ts';
import { ElementAssembler } from './element-assembler.ts';
import { MkvError, invalid, tooLarge } from './errors.ts';
import { CLUSTER_CHILD_IDS, MKV_ID, describeId } from './ids.ts';
import { parseEbmlHeader, parseInfo, parseTags, parseTracks } from './metadata-parsers.ts';
import type { MkvEvent, MkvLimits } from './types.ts';

const MiB = 1024 * 1024;

export const DEFAULT_MKV_LIMITS: Readonly<MkvLimits> = Object.freeze({
  maxBlockSize: 50 * MiB,
  maxClusterSize: 50 * MiB,
  maxHeaderElementSize: 1 * MiB,
});

interface ElementHeader {
  id: number;
  /** Payload size; meaningless when unknown. */
  size: number;
  unknown: boolean;
  headerLength: number;
  /** Absolute stream offset of the element's first byte. */
  offset: number;
}

interface OpenMaster {
  offset: number;
  /** Absolute offset just past the element; undefined for unknown size. */
  end: number | undefined;
}

/** Handler result: the element is needed whole and has not fully arrived. */
const NEED_MORE = -1;
const EMPTY = Buffer.alloc(0);
/** Longest element header: a 4-byte ID and an 8-byte size. */
const MAX_HEADER_BYTES = 12;
const EBML_ID_BYTES = [0x1a, 0x45, 0xdf, 0xa3] as const;

export class MkvStreamParser {
  private readonly limits: MkvLimits;
  /** Absolute stream offset of the first byte not consumed yet. */
  private offset = 0;
  /** Unconsumed tail shorter than an element header (copied, at most 11 bytes). */
  private leftover: Buffer = EMPTY;
  /** An element needed whole whose bytes span chunks. */
  private assembly: { assembler: ElementAssembler; header: ElementHeader } | undefined;
  /** A too-big level-1 (or cluster child) element being discarded. */
  private skipping: { id: number; offset: number; remaining: number } | undefined;
  /** Set by a handler that needs its whole element; read right after parse() returns. */
  private wanted: ElementHeader | undefined;
  private sawEbmlHeader = false;
  private segment: OpenMaster | undefined;
  private cluster: OpenMaster | undefined;
  private failure: unknown;
  private ended = false;

  constructor(limits: Partial<MkvLimits> = {}) {
    this.limits = { ...DEFAULT_MKV_LIMITS, ...limits };
    for (const [name, value] of Object.entries(this.limits)) {
      if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`MkvLimits.${name} must be a non-negative integer`);
    }
  }

  /** Bytes held for an incomplete element (or header); never more than one element's worth. */
  get bufferedBytes(): number {
    return this.leftover.length + (this.assembly?.assembler.length ?? 0);
  }

  push(chunk: Buffer): MkvEvent[] {
    this.assertUsable('push');
    const out: MkvEvent[] = [];
    try {
      let input = chunk;
      while (input.length > 0) {
        if (this.assembly !== undefined) {
          input = input.subarray(this.assembly.assembler.append(input));
          if (!this.assembly.assembler.complete) break;
          const whole = this.assembly.assembler.result();
          this.assembly = undefined;
          this.consume(whole, out);
          continue;
        }
        if (this.leftover.length > 0) {
          // Only a partial element header is ever left over: complete it from the next few bytes
          // (a copy of at most 23 bytes), never by copying the whole chunk. Whatever of `head` is
          // not consumed becomes the next assembly or leftover, and `input` continues after it.
          const take = Math.min(input.length, MAX_HEADER_BYTES);
          const head = Buffer.concat([this.leftover, input.subarray(0, take)]);
          this.leftover = EMPTY;
          input = input.subarray(take);
          this.consume(head, out);
          continue;
        }
        this.consume(input, out);
        input = EMPTY;
      }
      return out;
    } catch (err) {
      throw this.fail(err, out);
    }
  }

  /** Signals end of input: closes unknown-size elements, or throws if something is cut short. */
  end(): MkvEvent[] {
    this.assertUsable('end');
    this.ended = true;
    const out: MkvEvent[] = [];
    try {
      if (this.skipping !== undefined) {
        const { id, offset, remaining } = this.skipping;
        throw invalid(`truncated ${describeId(id)} at offset ${offset}: ${remaining} bytes missing`, offset);
      }
      if (this.assembly !== undefined) {
        const { header, assembler } = this.assembly;
        const msg = `truncated ${describeId(header.id)} at offset ${header.offset}: got ${assembler.length} of ${assembler.target} bytes`;
        throw invalid(msg, header.offset);
      }
      if (this.leftover.length > 0) {
        throw invalid(`truncated element header at offset ${this.offset} (${this.leftover.length} bytes)`, this.offset);
      }
      for (const [name, master] of [['Cluster', this.cluster], ['Segment', this.segment]] as const) {
        if (master?.end !== undefined) {
          throw invalid(`truncated ${name} at offset ${master.offset}: ${master.end - this.offset} bytes missing`, master.offset);
        }
      }
      if (this.cluster !== undefined) out.push({ type: 'cluster-end' });
      if (this.segment !== undefined) out.push({ type: 'segment-end' });
      this.cluster = undefined;
      this.segment = undefined;
      return out;
    } catch (err) {
      throw this.fail(err, out);
    }
  }

  /** Parses `buf` (which starts at this.offset) and keeps what cannot be consumed yet. */
  private consume(buf: Buffer, out: MkvEvent[]): void {
    const used = this.parse(buf, out);
    this.offset += used;
    const rest = buf.subarray(used);
    if (rest.length === 0) return;
    if (this.wanted !== undefined) {
      // Size already checked against the limits by the handler that asked for it.
      const assembler = new ElementAssembler(this.wanted.headerLength + this.wanted.size, rest.length);
      assembler.append(rest);
      this.assembly = { assembler, header: this.wanted };
    } else {
      this.leftover = Buffer.from(rest); // copy so a tiny tail does not pin the caller's chunk
    }
  }

  private parse(buf: Buffer, out: MkvEvent[]): number {
    let pos = 0;
    this.wanted = undefined;
    for (;;) {
      if (this.skipping !== undefined) {
        const n = Math.min(this.skipping.remaining, buf.length - pos);
        pos += n;
        this.skipping.remaining -= n;
        if (this.skipping.remaining > 0) return pos;
        this.skipping = undefined;
        this.closeFinished(this.offset + pos, out);
      }
      if (pos >= buf.length) return pos;
      if (!this.sawEbmlHeader) this.checkEbmlPrefix(buf, pos);
      const header = this.readHeader(buf, pos);
      if (header === undefined) return pos;
      const next = this.dispatch(header, buf, pos, out);
      if (next === NEED_MORE) {
        this.wanted = header;
        return pos;
      }
      // next === pos means "state changed (an unknown-size parent closed), look again".
      if (next > pos) this.closeFinished(this.offset + next, out);
      pos = next;
    }
  }

  private readHeader(buf: Buffer, pos: number): ElementHeader | undefined {
    const id = readElementId(buf, pos, this.offset);
    if (id === undefined) return undefined;
    const size = readElementSize(buf, pos + id.length, this.offset);
    if (size === undefined) return undefined;
    return { id: id.id, size: size.size, unknown: size.unknown, headerLength: id.length + size.length, offset: this.offset + pos };
  }

  private dispatch(h: ElementHeader, buf: Buffer, pos: number, out: MkvEvent[]): number {
    if (this.cluster !== undefined) return this.inCluster(this.cluster, h, buf, pos, out);
    if (this.segment !== undefined) return this.inSegment(this.segment, h, buf, pos, out);
    return this.atTopLevel(h, buf, pos, out);
  }

  private atTopLevel(h: ElementHeader, buf: Buffer, pos: number, out: MkvEvent[]): number {
    if (h.id === MKV_ID.EBML) {
      this.rejectUnknownSize(h, 'top level');
      if (h.size > this.limits.maxHeaderElementSize) {
        throw tooLarge(`EBML header at offset ${h.offset} declares ${h.size} bytes (limit ${this.limits.maxHeaderElementSize})`, h.offset);
      }
      const end = this.whole(h, buf, pos);
      if (end === NEED_MORE) return end;
      const raw = buf.subarray(pos, end);
      out.push({ type: 'ebml-header', raw, ...parseEbmlHeader(raw, h.headerLength, h.offset) });
      this.sawEbmlHeader = true;
      return end;
    }
    if (h.id === MKV_ID.Segment) {
      this.segment = open(h);
      const raw = buf.subarray(pos, pos + h.headerLength);
      out.push({ type: 'segment-start', unknownSize: h.unknown, ...declared(h), raw });
      return pos + h.headerLength;
    }
    throw invalid(`unexpected ${describeId(h.id)} at top level, offset ${h.offset}: expected an EBML header or a Segment`, h.offset);
  }

  private inSegment(segment: OpenMaster, h: ElementHeader, buf: Buffer, pos: number, out: MkvEvent[]): number {
    switch (h.id) {
      case MKV_ID.EBML:
        if (segment.end !== undefined) throw invalid(`EBML header inside a known-size Segment at offset ${h.offset}`, h.offset);
        // Producers restart the header (e.g. on a codec change): close this segment, re-read at top level.
        out.push({ type: 'segment-end' });
        this.segment = undefined;
        return pos;
      case MKV_ID.Segment:
        throw invalid(`Segment nested inside a Segment at offset ${h.offset}`, h.offset);
      case MKV_ID.Cluster: {
        if (!h.unknown && h.size > this.limits.maxClusterSize) {
          throw tooLarge(`Cluster at offset ${h.offset} declares ${h.size} bytes (limit ${this.limits.maxClusterSize})`, h.offset);
        }
        this.checkFits(h);
        this.cluster = open(h);
        const raw = buf.subarray(pos, pos + h.headerLength);
        out.push({ type: 'cluster-start', unknownSize: h.unknown, ...declared(h), headerLength: h.headerLength, raw });
        return pos + h.headerLength;
      }
    }
    this.rejectUnknownSize(h, 'Segment');
    this.checkFits(h);
    if (h.size > this.limits.maxHeaderElementSize) return this.startSkip(h, pos, out);
    const end = this.whole(h, buf, pos);
    if (end === NEED_MORE) return end;
    const raw = buf.subarray(pos, end);
    switch (h.id) {
      case MKV_ID.Info:
        out.push({ type: 'info', raw, ...parseInfo(raw, h.headerLength, h.offset) });
        break;
      case MKV_ID.Tracks:
        out.push({ type: 'tracks', raw, tracks: parseTracks(raw, h.headerLength, h.offset) });
        break;
      case MKV_ID.Tags:
        out.push({ type: 'tags', raw, tags: parseTags(raw, h.headerLength, h.offset) });
        break;
      default:
        out.push({ type: 'top-level', id: h.id, raw });
    }
    return end;
  }

  private inCluster(cluster: OpenMaster, h: ElementHeader, buf: Buffer, pos: number, out: MkvEvent[]): number {
    if (!CLUSTER_CHILD_IDS.has(h.id)) {
      if (cluster.end === undefined) {
        // Live producers delimit unknown-size clusters by the next non-child element.
        out.push({ type: 'cluster-end' });
        this.cluster = undefined;
        return pos;
      }
      if (h.id === MKV_ID.Cluster || h.id === MKV_ID.Segment || h.id === MKV_ID.EBML) {
        throw invalid(`${describeId(h.id)} inside a known-size Cluster at offset ${h.offset}`, h.offset);
      }
    }
    this.rejectUnknownSize(h, 'Cluster');
    this.checkFits(h);
    if (h.id === MKV_ID.SimpleBlock || h.id === MKV_ID.BlockGroup) {
      if (h.size > this.limits.maxBlockSize) {
        throw tooLarge(`${describeId(h.id)} at offset ${h.offset} declares ${h.size} bytes (limit ${this.limits.maxBlockSize})`, h.offset);
      }
      const end = this.whole(h, buf, pos);
      if (end === NEED_MORE) return end;
      const raw = buf.subarray(pos, end);
      out.push({ type: 'block', raw, block: parseBlockElement(h.id, raw, h.headerLength, h.offset) });
      return end;
    }
    if (h.id === MKV_ID.Timecode) {
      if (h.size > 8) throw invalid(`Cluster Timecode of ${h.size} bytes at offset ${h.offset}`, h.offset);
      const end = this.whole(h, buf, pos);
      if (end === NEED_MORE) return end;
      const raw = buf.subarray(pos, end);
      const timecode = readUintBig(raw.subarray(h.headerLength), h.offset);
      if (timecode > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw invalid(`Cluster Timecode ${timecode} at offset ${h.offset} is beyond Number.MAX_SAFE_INTEGER`, h.offset);
      }
      out.push({ type: 'cluster-timecode', timecode: Number(timecode), raw });
      return end;
    }
    if (h.size > this.limits.maxHeaderElementSize) return this.startSkip(h, pos, out);
    const end = this.whole(h, buf, pos);
    if (end === NEED_MORE) return end;
    out.push({ type: 'cluster-child', id: h.id, raw: buf.subarray(pos, end) });
    return end;
  }

  /** End position of the element if all of it is in `buf`, else NEED_MORE (limits already checked). */
  private whole(h: ElementHeader, buf: Buffer, pos: number): number {
    const total = h.headerLength + h.size;
    return buf.length - pos >= total ? pos + total : NEED_MORE;
  }

  private startSkip(h: ElementHeader, pos: number, out: MkvEvent[]): number {
    out.push({ type: 'skipped', id: h.id, size: h.size });
    this.skipping = { id: h.id, offset: h.offset, remaining: h.size };
    return pos + h.headerLength;
  }

  /** A known-size parent (the cluster, else the segment) must contain the whole child. */
  private checkFits(h: ElementHeader): void {
    const parentEnd = this.cluster?.end ?? this.segment?.end;
    if (parentEnd === undefined) return;
    const end = h.offset + h.headerLength + (h.unknown ? 0 : h.size);
    if (end > parentEnd) {
      const size = h.unknown ? 'unknown size' : `${h.size} bytes`;
      throw invalid(`${describeId(h.id)} at offset ${h.offset} (${size}) overflows its parent, which ends at offset ${parentEnd}`, h.offset);
    }
  }

  private rejectUnknownSize(h: ElementHeader, where: string): void {
    if (h.unknown) {
      throw invalid(`${describeId(h.id)} with unknown size in ${where} at offset ${h.offset}: only Segment and Cluster may have unknown size`, h.offset);
    }
  }

  /** Emits cluster-end / segment-end for known-size elements whose last byte is at `at`. */
  private closeFinished(at: number, out: MkvEvent[]): void {
    if (this.cluster !== undefined && (this.cluster.end ?? this.segment?.end) === at) {
      out.push({ type: 'cluster-end' });
      this.cluster = undefined;
    }
    if (this.cluster === undefined && this.segment !== undefined && this.segment.end === at) {
      out.push({ type: 'segment-end' });
      this.segment = undefined;
    }
  }

  /** Reject garbage on its first wrong byte instead of waiting for a plausible header. */
  private checkEbmlPrefix(buf: Buffer, pos: number): void {
    const n = Math.min(EBML_ID_BYTES.length, buf.length - pos);
    for (let i = 0; i < n; i++) {
      if (buf[pos + i] !== EBML_ID_BYTES[i]) {
        const at = this.offset + pos;
        throw invalid(`data does not start with an EBML header (offset ${at})`, at);
      }
    }
  }

  private assertUsable(what: string): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.ended) throw new Error(`MkvStreamParser.${what}() after end()`);
  }

  /** The parser is dead after any error; remember it and keep the events decoded before it. */
  private fail(err: unknown, out: MkvEvent[]): unknown {
    if (err instanceof MkvError) err.eventsBeforeError = out;
    this.failure = err;
    return err;
  }
}

function open(h: ElementHeader): OpenMaster {
  return { offset: h.offset, end: h.unknown ? undefined : h.offset + h.headerLength + h.size };
}

function declared(h: ElementHeader): { declaredSize?: number } {
  return h.unknown ? {} : { declaredSize: h.size };
}
