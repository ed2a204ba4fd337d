/**
 * Streaming fragmented-MP4 → Matroska converter. Feed body chunks with any boundaries; it
 * appends MKV byte runs to the caller's array:
 *   moov        ⇒ EBML header + unknown-size Segment header + Info (1 ms TimecodeScale) + Tracks
 *   moof + mdat ⇒ one known-size Cluster, a SimpleBlock per sample
 * A later, different moov starts a new EBML header + Segment (codec change). styp, sidx, ssix,
 * free, skip, mfra, prft, emsg, uuid and ftyp are skipped unbuffered. Pure: no I/O.
 */
import { Buffer } from 'node:buffer';
import { MKV_ID, clusterElement, ebmlHeader, infoElement, simpleBlock, tracksElement, unknownSizeHeader } from '../mkv/index.ts';
import { BoxReader, type BoxDisposition, type BoxHeader, type Mp4Box } from './box-reader.ts';
import { Mp4Error, invalidMp4 } from './errors.ts';
import { parseInitSegment, type Mp4Track } from './init-segment.ts';
import { parseMoof, type Mp4Sample } from './moof-parser.ts';

export const DEFAULT_MAX_FRAGMENT_BYTES = 50 * 1024 * 1024;

export interface Fmp4ToMkvOptions {
  /** Largest box kept, and largest moof + mdat pair (one fragment); default 50 MiB. */
  maxFragmentBytes?: number;
}

/** Top-level boxes that carry nothing a Matroska fragment needs. */
const SKIPPED_BOXES = new Set(['ftyp', 'styp', 'sidx', 'ssix', 'free', 'skip', 'mfra', 'prft', 'emsg', 'uuid']);
const MKV_TIMECODE_SCALE_NS = 1_000_000;
const INT16_MIN = -32768;
const INT16_MAX = 32767;

export class Fmp4ToMkv {
  private readonly reader: BoxReader;
  private readonly maxFragmentBytes: number;
  private tracks = new Map<number, Mp4Track>();
  private lastMoov: Buffer | undefined;
  /** Per MP4 track_ID: decode time where its last fragment ended (for trafs without tfdt). */
  private nextDecodeTime = new Map<number, number>();
  private pendingMoof: { offset: number; size: number; samples: Mp4Sample[] } | undefined;
  /** Where the current push()/end() appends MKV bytes. */
  private out: Buffer[] = [];

  constructor(opts: Fmp4ToMkvOptions = {}) {
    this.maxFragmentBytes = opts.maxFragmentBytes ?? DEFAULT_MAX_FRAGMENT_BYTES;
    this.reader = new BoxReader({
      maxBoxSize: this.maxFragmentBytes,
      disposition: (h) => this.disposition(h),
      onBox: (box) => this.onBox(box),
    });
  }

  /**
   * Converts what `chunk` completes, appending MKV byte runs to `out`. On error `out` still holds
   * everything converted before the bad box, so the caller can keep the fragments that were whole.
   */
  push(chunk: Buffer, out: Buffer[]): void {
    this.out = out;
    this.reader.push(chunk);
  }

  /** End of the body: a trailing size-0 box is delivered; a cut-short box or a moof without mdat throws. */
  end(out: Buffer[]): void {
    this.out = out;
    this.reader.end();
    if (this.pendingMoof !== undefined) {
      throw invalidMp4(`moof at offset ${this.pendingMoof.offset} is not followed by an mdat`, this.pendingMoof.offset);
    }
  }

  private disposition(h: BoxHeader): BoxDisposition {
    if (SKIPPED_BOXES.has(h.type)) return 'skip';
    switch (h.type) {
      case 'moov':
        this.requireNoPendingMoof(h);
        return 'read';
      case 'moof':
        if (this.tracks.size === 0) throw invalidMp4(`moof at offset ${h.offset} before any moov (init segment)`, h.offset);
        this.requireNoPendingMoof(h);
        return 'read';
      case 'mdat': {
        const moof = this.pendingMoof;
        if (moof === undefined) throw invalidMp4(`mdat at offset ${h.offset} without a moof before it (not fragmented MP4?)`, h.offset);
        if (h.size !== undefined) this.checkFragmentSize(moof.size, h);
        return 'read';
      }
      default:
        throw invalidMp4(`unexpected top-level box '${h.type}' at offset ${h.offset}`, h.offset);
    }
  }

  private onBox(box: Mp4Box): void {
    switch (box.type) {
      case 'moov':
        this.onMoov(box);
        return;
      case 'moof':
        this.pendingMoof = {
          offset: box.offset,
          size: box.size,
          samples: parseMoof(box.bytes, box.offset, {
            defaults: (id) => this.tracks.get(id)?.defaults,
            nextDecodeTime: (id) => this.nextDecodeTime.get(id) ?? 0,
          }),
        };
        return;
      case 'mdat':
        this.onMdat(box);
        return;
    }
  }

  private onMoov(box: Mp4Box): void {
    // Encoders that repeat an unchanged init segment should not restart the Matroska header.
    if (this.lastMoov?.equals(box.bytes)) return;
    const tracks = parseInitSegment(box.bytes, box.offset);
    this.lastMoov = Buffer.from(box.bytes);
    this.tracks = new Map(tracks.map((t) => [t.trackId, t]));
    this.nextDecodeTime.clear();
    this.out.push(
      ebmlHeader(),
      unknownSizeHeader(MKV_ID.Segment),
      infoElement({ timecodeScale: MKV_TIMECODE_SCALE_NS, muxingApp: 'Kestrel fMP4 ingest' }),
      tracksElement(tracks.map((t) => t.entry)),
    );
  }

  private onMdat(mdat: Mp4Box): void {
    const moof = this.pendingMoof!;
    this.pendingMoof = undefined;
    this.checkFragmentSize(moof.size, mdat); // size-0 mdats are only sized now
    for (const s of moof.samples) this.nextDecodeTime.set(s.trackId, s.dts + s.duration);
    if (moof.samples.length === 0) return; // an empty fragment has nothing to store
    this.out.push(this.cluster(moof.samples, mdat));
  }

  /** One Cluster: SimpleBlocks in decode order across tracks, timecodes = presentation times in ms. */
  private cluster(samples: readonly Mp4Sample[], mdat: Mp4Box): Buffer {
    const payloadStart = mdat.offset + mdat.headerSize;
    const payloadEnd = mdat.offset + mdat.size;
    const blocks = samples.map((s, index) => {
      const track = this.tracks.get(s.trackId)!;
      if (s.offset < payloadStart || s.offset + s.size > payloadEnd) {
        throw invalidMp4(
          `track ${s.trackId} sample at offset ${s.offset} (${s.size} bytes) lies outside the mdat at ${mdat.offset}..${payloadEnd}`,
          s.offset,
        );
      }
      return {
        index,
        track: track.entry.number,
        decodeSeconds: (s.dts + track.presentationShift) / track.timescale,
        ptsMs: toMs(s.dts + s.cts + track.presentationShift, track.timescale),
        sync: s.sync,
        frame: mdat.bytes.subarray(s.offset - mdat.offset, s.offset - mdat.offset + s.size),
      };
    });
    // Matroska keeps frames in decode order (B-frames!) with presentation timecodes; the merge
    // across tracks is by decode time, ties going to the lower track number (video).
    blocks.sort((a, b) => a.decodeSeconds - b.decodeSeconds || a.track - b.track || a.index - b.index);
    const first = blocks.reduce((min, b) => Math.min(min, b.ptsMs), Number.POSITIVE_INFINITY);
    // Cluster Timecode is unsigned; edit-list priming may put the first frames just before 0.
    const timecode = Math.max(0, first);
    const children = blocks.map((b) => {
      const relativeTimecode = b.ptsMs - timecode;
      if (relativeTimecode < INT16_MIN || relativeTimecode > INT16_MAX) {
        throw new Mp4Error(
          'too-long',
          `fragment at ${timecode} ms spans more than ${INT16_MAX} ms (a frame at ${b.ptsMs} ms); Matroska block timecodes are 16-bit`,
        );
      }
      return simpleBlock({ track: b.track, relativeTimecode, keyframe: b.sync, frame: b.frame });
    });
    return clusterElement({ timecode, children });
  }

  private requireNoPendingMoof(h: BoxHeader): void {
    const moof = this.pendingMoof;
    if (moof !== undefined) throw invalidMp4(`'${h.type}' at offset ${h.offset} follows the moof at ${moof.offset} before its mdat`, h.offset);
  }

  private checkFragmentSize(moofSize: number, mdat: BoxHeader): void {
    const total = moofSize + (mdat.size ?? 0);
    if (total > this.maxFragmentBytes) {
      throw new Mp4Error(
        'too-large',
        `fragment at offset ${mdat.offset}: moof (${moofSize} bytes) + mdat (${mdat.size} bytes) exceed the ${this.maxFragmentBytes}-byte limit`,
        mdat.offset,
      );
    }
  }
}

/** Exact rounding to milliseconds without overflowing 2^53 for large timescales/times. */
function toMs(t: number, timescale: number): number {
  const whole = Math.floor(t / timescale);
  const rest = t - whole * timescale;
  return whole * 1000 + Math.round((rest * 1000) / timescale);
}
