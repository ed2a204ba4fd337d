/**
 * fMP4 initialization segment (ISO 14496-12 + 14496-15 + 14496-14): ftyp + moov with one trak
 * per track and mvex/trex, no samples. Used for HLS EXT-X-MAP, DASH initialization and as the
 * head of GetClip's fragmented MP4.
 */
import { Buffer } from 'node:buffer';
import type { MediaTrack } from '../media/types.ts';
import { Fields, UNITY_MATRIX, box, fullBox } from './box-writer.ts';
import { planFmp4Track, type Fmp4Track } from './fmp4-tracks.ts';

const MOVIE_TIMESCALE = 1000;
const BRANDS = ['iso6', 'mp41', 'dash'];

/** Throws CodecError (kvsName set) for an unsupported codec or bad/missing CodecPrivate. */
export function buildInitSegment(tracks: readonly MediaTrack[]): Buffer {
  if (tracks.length === 0) throw new RangeError('an init segment needs at least one track');
  const plans = tracks.map(planFmp4Track);
  const ids = new Set(plans.map((p) => p.trackId));
  if (ids.size !== plans.length) throw new RangeError('track numbers must be unique');
  const ftyp = box('ftyp', new Fields().fourcc('iso6').u32(0), ...BRANDS.map((b) => new Fields().fourcc(b)));
  const moov = box('moov', mvhd(Math.max(...ids) + 1), ...plans.map(trak), box('mvex', ...plans.map(trex)));
  return Buffer.concat([ftyp, moov]);
}

function mvhd(nextTrackId: number): Buffer {
  return fullBox(
    'mvhd', 0, 0,
    new Fields().u32(0).u32(0).u32(MOVIE_TIMESCALE).u32(0) // times, timescale, duration (fragmented: 0)
      .u32(0x00010000).u16(0x0100).zeros(10) // rate 1.0, volume 1.0, reserved
      .bytes(UNITY_MATRIX).zeros(24).u32(nextTrackId),
  );
}

function trak(p: Fmp4Track): Buffer {
  const video = p.info.kind === 'video';
  const tkhd = fullBox(
    'tkhd', 0, 0x000003, // enabled, in movie
    new Fields().u32(0).u32(0).u32(p.trackId).u32(0).u32(0).zeros(8)
      .u16(0).u16(0).u16(video ? 0 : 0x0100).u16(0) // layer, alternate group, volume, reserved
      .bytes(UNITY_MATRIX)
      .u32(video ? (p.info.width ?? 0) * 0x10000 : 0).u32(video ? (p.info.height ?? 0) * 0x10000 : 0),
  );
  const mdhd = fullBox('mdhd', 0, 0, new Fields().u32(0).u32(0).u32(p.timescale).u32(0).u16(languageCode('und')).u16(0));
  const handler = video ? 'vide' : 'soun';
  const hdlr = fullBox('hdlr', 0, 0, new Fields().u32(0).fourcc(handler).zeros(12).bytes(Buffer.from(`Kestrel ${handler}\0`, 'latin1')));
  const mediaHeader = video ? fullBox('vmhd', 0, 1, new Fields().zeros(8)) : fullBox('smhd', 0, 0, new Fields().zeros(4));
  const dinf = box('dinf', fullBox('dref', 0, 0, new Fields().u32(1), fullBox('url ', 0, 1)));
  const emptyTable = new Fields().u32(0);
  const stbl = box(
    'stbl',
    fullBox('stsd', 0, 0, new Fields().u32(1), sampleEntry(p)),
    fullBox('stts', 0, 0, emptyTable),
    fullBox('stsc', 0, 0, emptyTable),
    fullBox('stsz', 0, 0, new Fields().u32(0).u32(0)),
    fullBox('stco', 0, 0, emptyTable),
  );
  return box('trak', tkhd, box('mdia', mdhd, hdlr, box('minf', mediaHeader, dinf, stbl)));
}

function trex(p: Fmp4Track): Buffer {
  // Every trun carries its own durations, sizes and flags, so the defaults are placeholders.
  return fullBox('trex', 0, 0, new Fields().u32(p.trackId).u32(1).u32(0).u32(0).u32(0));
}

function sampleEntry(p: Fmp4Track): Buffer {
  const info = p.info;
  const priv = p.track.codecPrivate ?? Buffer.alloc(0);
  if (info.kind === 'video') {
    const configBox = box(info.codec === 'h264' ? 'avcC' : 'hvcC', priv);
    const compressor = Buffer.alloc(32); // Pascal string, left empty
    return box(
      info.sampleEntry,
      new Fields().zeros(6).u16(1) // reserved, data_reference_index
        .zeros(16).u16(info.width).u16(info.height)
        .u32(0x00480000).u32(0x00480000).u32(0).u16(1) // 72 dpi, reserved, frame_count
        .bytes(compressor).u16(0x0018).u16(0xffff), // depth, pre_defined -1
      configBox,
    );
  }
  // 16.16 sample rate: rates above 65535 Hz do not fit; the esds config is authoritative anyway.
  const rate = info.sampleRate <= 0xffff ? info.sampleRate : 0;
  return box(
    'mp4a',
    new Fields().zeros(6).u16(1).zeros(8).u16(info.channels).u16(16).u16(0).u16(0).u32(rate * 0x10000),
    esds(p.trackId, priv),
  );
}

/** ES_Descriptor → DecoderConfigDescriptor (MPEG-4 audio) → DecoderSpecificInfo (the ASC) + SLConfig. */
function esds(esId: number, asc: Buffer): Buffer {
  const decoderSpecific = descriptor(0x05, asc);
  const decoderConfig = descriptor(
    0x04,
    Buffer.concat([new Fields().u8(0x40).u8((0x05 << 2) | 1).u24(0).u32(0).u32(0).build(), decoderSpecific]),
  );
  const slConfig = descriptor(0x06, Buffer.from([0x02]));
  const es = descriptor(0x03, Buffer.concat([new Fields().u16(esId & 0xffff).u8(0).build(), decoderConfig, slConfig]));
  return fullBox('esds', 0, 0, es);
}

/** MPEG-4 descriptor: tag, then the size in 7-bit groups with continuation bits. */
function descriptor(tag: number, payload: Buffer): Buffer {
  const size: number[] = [payload.length & 0x7f];
  for (let n = payload.length >> 7; n > 0; n >>= 7) size.unshift((n & 0x7f) | 0x80);
  return Buffer.concat([Buffer.from([tag, ...size]), payload]);
}

/** ISO 639-2/T code packed as three 5-bit letters. */
function languageCode(code: string): number {
  return [...code].reduce((v, ch) => (v << 5) | (ch.charCodeAt(0) - 0x60), 0);
}
