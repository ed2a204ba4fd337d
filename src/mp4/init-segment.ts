/**
 * Reads an fMP4 init segment (`moov`) with mp4box and describes its tracks the way Matroska
 * needs them: CodecID + CodecPrivate, dimensions / sample rate, plus what decoding the
 * fragments needs (timescale, trex defaults, edit-list shift).
 */
import { Buffer } from 'node:buffer';
import { ISOFile, MP4BoxBuffer, MultiBufferStream } from 'mp4box';
import type { AudioSampleEntry, Box, SampleEntry, VisualSampleEntry } from 'mp4box';
import { TRACK_TYPE, type TrackEntry } from '../mkv/index.ts';
import { Mp4Error, invalidMp4 } from './errors.ts';
import { pruneMoov } from './moov-prune.ts';

/** Per-sample defaults from `trex`, used when tfhd/trun do not say otherwise. */
export interface SampleDefaults {
  sampleDescriptionIndex: number;
  duration: number;
  size: number;
  flags: number;
}

export interface Mp4Track {
  /** MP4 track_ID, as `tfhd` references it. */
  trackId: number;
  timescale: number;
  /** Added to dts + composition offset to get the presentation time (edit list), in `timescale` units. */
  presentationShift: number;
  defaults: SampleDefaults;
  /** The Matroska TrackEntry; `number` is 1..n, video tracks first. */
  entry: TrackEntry;
}

/** MPEG-4 audio and the three MPEG-2 AAC profiles (ISO 14496-1 objectTypeIndication). */
const AAC_OBJECT_TYPES = new Set([0x40, 0x66, 0x67, 0x68]);
const ES_DESCRIPTOR_DECODER_CONFIG = 0x04;
const ES_DESCRIPTOR_DECODER_SPECIFIC = 0x05;

type ParsedTrack = Omit<Mp4Track, 'entry'> & { entry: Omit<TrackEntry, 'number'> };

/** `moov` is the whole box (header included). Throws Mp4Error for malformed or unsupported input. */
export function parseInitSegment(original: Buffer, offset = 0): Mp4Track[] {
  // Only the boxes we read reach mp4box (bounded nesting); offsets below are into this copy.
  const moov = pruneMoov(original, offset);
  const file = parseMoovBox(moov, offset);
  let parsed: ParsedTrack[];
  try {
    const m = file.moov;
    const movieTimescale = m.mvhd?.timescale ?? 0;
    const trexes = m.mvex?.trexs ?? [];
    parsed = m.traks.map((trak): ParsedTrack => {
      const trackId = trak.tkhd.track_id;
      const timescale = trak.mdia.mdhd.timescale;
      if (!(timescale > 0)) throw invalidMp4(`track ${trackId} has timescale ${timescale}`, offset);
      const stbl = trak.mdia.minf.stbl;
      if ((stbl.stsz?.sample_count ?? 0) > 0 || (stbl.stz2?.sample_sizes?.length ?? 0) > 0) {
        throw new Mp4Error('unsupported', `track ${trackId} has samples in moov: progressive MP4 is not supported, send fragmented MP4 (e.g. ffmpeg -movflags frag_keyframe+empty_moov)`, offset);
      }
      const sampleEntry = stbl.stsd.entries[0];
      if (sampleEntry === undefined) throw invalidMp4(`track ${trackId} has no sample description`, offset);
      const trex = trexes.find((t) => t.track_id === trackId);
      return {
        trackId,
        timescale,
        presentationShift: editListShift(trak.edts?.elst?.entries ?? [], timescale, movieTimescale),
        defaults: {
          sampleDescriptionIndex: trex?.default_sample_description_index ?? 1,
          duration: trex?.default_sample_duration ?? 0,
          size: trex?.default_sample_size ?? 0,
          flags: trex?.default_sample_flags ?? 0,
        },
        entry: mkvTrackEntry(sampleEntry, moov, trackId, offset),
      };
    });
  } catch (err) {
    if (err instanceof Mp4Error) throw err;
    throw invalidMp4(`malformed moov at offset ${offset}: ${err instanceof Error ? err.message : String(err)}`, offset);
  }
  if (parsed.length === 0) throw invalidMp4(`moov at offset ${offset} has no tracks`, offset);
  // KVS producers put video on track 1; keep moov order otherwise.
  const ordered = [...parsed.filter((t) => t.entry.type === TRACK_TYPE.Video), ...parsed.filter((t) => t.entry.type !== TRACK_TYPE.Video)];
  return ordered.map((t, i) => ({ ...t, entry: { ...t.entry, number: i + 1 } }));
}

function parseMoovBox(moov: Buffer, offset: number): ISOFile {
  // mp4box parses from an ArrayBuffer it owns; copy so its offsets are relative to the moov start.
  const copy = new Uint8Array(moov).buffer;
  const file = new ISOFile(new MultiBufferStream(MP4BoxBuffer.fromArrayBuffer(copy, 0)));
  try {
    file.parse();
  } catch (err) {
    throw invalidMp4(`malformed moov at offset ${offset}: ${err instanceof Error ? err.message : String(err)}`, offset);
  }
  if (file.moov === undefined || file.boxes.length !== 1) throw invalidMp4(`malformed moov at offset ${offset}`, offset);
  return file;
}

function mkvTrackEntry(sampleEntry: SampleEntry, moov: Buffer, trackId: number, offset: number): Omit<TrackEntry, 'number'> {
  const fourcc = sampleEntry.type;
  switch (fourcc) {
    case 'avc1':
    case 'avc3':
    case 'hvc1':
    case 'hev1': {
      const visual = sampleEntry as VisualSampleEntry;
      const avc = fourcc.startsWith('avc');
      const config = avc ? visual.avcC : visual.hvcC;
      if (config === undefined) throw invalidMp4(`track ${trackId}: '${fourcc}' sample entry without its ${avc ? 'avcC' : 'hvcC'} box`, offset);
      return {
        uid: trackId,
        type: TRACK_TYPE.Video,
        codecId: avc ? 'V_MPEG4/ISO/AVC' : 'V_MPEGH/ISO/HEVC',
        // The decoder configuration record is the box payload, byte for byte.
        codecPrivate: boxPayload(config, moov),
        video: { width: visual.width, height: visual.height },
      };
    }
    case 'mp4a': {
      const audio = sampleEntry as AudioSampleEntry & { esds?: { esd?: DescriptorLike } };
      const decoderConfig = audio.esds?.esd?.findDescriptor(ES_DESCRIPTOR_DECODER_CONFIG) as (DescriptorLike & { oti?: number }) | undefined;
      if (decoderConfig === undefined) throw invalidMp4(`track ${trackId}: 'mp4a' sample entry without an esds decoder config`, offset);
      const oti = decoderConfig.oti ?? 0;
      if (!AAC_OBJECT_TYPES.has(oti)) {
        throw new Mp4Error('unsupported', `track ${trackId}: codec 'mp4a' with object type 0x${oti.toString(16)} is not supported (only AAC)`, offset);
      }
      const asc = (decoderConfig.findDescriptor(ES_DESCRIPTOR_DECODER_SPECIFIC) as { data?: Uint8Array } | undefined)?.data;
      if (asc === undefined || asc.length === 0) throw invalidMp4(`track ${trackId}: AAC without an AudioSpecificConfig`, offset);
      return {
        uid: trackId,
        type: TRACK_TYPE.Audio,
        codecId: 'A_AAC',
        codecPrivate: Buffer.from(asc),
        audio: { samplingFrequency: audio.getSampleRate(), channels: aacChannels(asc) ?? audio.getChannelCount() },
      };
    }
    default:
      throw new Mp4Error(
        'unsupported',
        `track ${trackId}: codec '${fourcc}' is not supported (supported: avc1, avc3, hvc1, hev1, mp4a/AAC)`,
        offset,
      );
  }
}

/**
 * Channel count from the AudioSpecificConfig: muxers (ffmpeg among them) write 2 in the sample
 * entry whatever the stream has. Undefined when the config defers to a program config element.
 */
function aacChannels(asc: Uint8Array): number | undefined {
  let bit = 0;
  const read = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++, bit++) v = (v << 1) | (((asc[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1);
    return v;
  };
  if (read(5) === 31) read(6); // escaped audioObjectType
  if (read(4) === 15) read(24); // explicit sampling frequency
  const config = read(4);
  if (bit > asc.length * 8) return undefined;
  return config >= 1 && config <= 6 ? config : config === 7 ? 8 : undefined;
}

interface DescriptorLike {
  findDescriptor(tag: number): unknown;
}

function boxPayload(box: Box, moov: Buffer): Buffer {
  const start = (box.start ?? 0) + (box.hdr_size ?? 8);
  const end = (box.start ?? 0) + box.size;
  if (box.start === undefined || end > moov.length || start > end) throw new Error(`cannot locate the '${box.type}' box`);
  return Buffer.from(moov.subarray(start, end));
}

/**
 * Edit lists shift presentation time: leading empty edits delay the track, the first real edit's
 * media_time says which media time is shown at 0 (B-frame delay, AAC priming). Only that common
 * shape is honoured; later edits (cuts, rate changes) are ignored.
 */
function editListShift(
  entries: ReadonlyArray<{ segment_duration: number; media_time: number }>,
  timescale: number,
  movieTimescale: number,
): number {
  let shift = 0;
  for (const e of entries) {
    if (e.media_time === -1) {
      if (movieTimescale > 0) shift += Math.round((e.segment_duration * timescale) / movieTimescale);
      continue;
    }
    return shift - e.media_time;
  }
  return shift;
}
