/**
 * What a packager needs to know about a Matroska track: the RFC 6381 codec string, the picture
 * size or audio format, and the parsed decoder configuration. Only the codecs KVS playback
 * supports are accepted: H.264, H.265 and AAC.
 */
import type { MediaTrack } from '../media/types.ts';
import { aacCodecString, parseAudioSpecificConfig, type AacConfig } from './aac.ts';
import { CodecError } from './errors.ts';
import { avcCodecString, avcSampleEntryType, parseAvcC, parseH264Sps, type AvcConfig } from './h264.ts';
import { hevcCodecString, hevcSampleEntryType, parseH265Sps, parseHvcC, type HevcConfig } from './h265.ts';

export const MKV_CODEC_ID = {
  H264: 'V_MPEG4/ISO/AVC',
  H265: 'V_MPEGH/ISO/HEVC',
  AAC: 'A_AAC',
} as const;

interface TrackCodecBase {
  track: number;
  /** The ISO BMFF sample entry type, which is also the codec string's first part. */
  sampleEntry: 'avc1' | 'avc3' | 'hvc1' | 'hev1' | 'mp4a';
  /** RFC 6381, e.g. `avc1.64001f`, `hvc1.1.6.L93.B0`, `mp4a.40.2`. */
  codecString: string;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
}

export type TrackCodecInfo =
  | (TrackCodecBase & { codec: 'h264'; kind: 'video'; width: number; height: number; config: AvcConfig })
  | (TrackCodecBase & { codec: 'h265'; kind: 'video'; width: number; height: number; config: HevcConfig })
  | (TrackCodecBase & { codec: 'aac'; kind: 'audio'; sampleRate: number; channels: number; config: AacConfig });

/**
 * Throws CodecError: UnsupportedStreamMediaTypeException for another codec,
 * MissingCodecPrivateDataException without CodecPrivate, InvalidCodecPrivateDataException when
 * it does not parse.
 */
export function describeTrack(track: MediaTrack): TrackCodecInfo {
  const codecId = track.codecId;
  const known = codecId === MKV_CODEC_ID.H264 || codecId === MKV_CODEC_ID.H265 || codecId === MKV_CODEC_ID.AAC;
  if (!known) {
    throw new CodecError(
      'UnsupportedStreamMediaTypeException',
      `track ${track.number}: codec ${codecId} is not supported for playback (supported: ${Object.values(MKV_CODEC_ID).join(', ')})`,
      track.number,
    );
  }
  const priv = track.codecPrivate;
  if (priv === undefined || priv.length === 0) {
    throw new CodecError('MissingCodecPrivateDataException', `track ${track.number} (${codecId}) has no CodecPrivate`, track.number);
  }
  try {
    return describeKnown(track, codecId, priv);
  } catch (err) {
    if (err instanceof CodecError) throw new CodecError(err.kvsName, `track ${track.number}: ${err.message}`, track.number);
    throw err;
  }
}

function describeKnown(track: MediaTrack, codecId: string, priv: Buffer): TrackCodecInfo {
  const base = { track: track.number };
  if (codecId === MKV_CODEC_ID.H264) {
    const config = parseAvcC(priv);
    const sps = parseH264Sps(config.sps[0]!);
    const sampleEntry = avcSampleEntryType(config);
    return { ...base, codec: 'h264', kind: 'video', sampleEntry, codecString: avcCodecString(config, sampleEntry), width: sps.width, height: sps.height, config };
  }
  if (codecId === MKV_CODEC_ID.H265) {
    const config = parseHvcC(priv);
    const sps = parseH265Sps(config.sps[0]!);
    const sampleEntry = hevcSampleEntryType(config);
    return { ...base, codec: 'h265', kind: 'video', sampleEntry, codecString: hevcCodecString(config, sampleEntry), width: sps.width, height: sps.height, config };
  }
  const config = parseAudioSpecificConfig(priv);
  const channels = config.channels ?? track.channels;
  if (channels === undefined) throw new CodecError('InvalidCodecPrivateDataException', 'AAC channel count is neither in the AudioSpecificConfig nor in the track');
  return { ...base, codec: 'aac', kind: 'audio', sampleEntry: 'mp4a', codecString: aacCodecString(config), sampleRate: config.sampleRate, channels, config };
}

/** describeTrack for each track, in order; throws on the first one that fails. */
export function describeTracks(tracks: readonly MediaTrack[]): TrackCodecInfo[] {
  return tracks.map(describeTrack);
}
