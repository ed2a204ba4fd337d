/**
 * AAC: the AudioSpecificConfig (Matroska CodecPrivate of A_AAC, ISO 14496-3 §1.6.2.1), its RFC
 * 6381 codec string, and ADTS headers for MPEG-TS (which carries AAC as ADTS frames).
 */
import { Buffer } from 'node:buffer';
import { BitReader } from './bit-reader.ts';
import { CodecError, invalidCodecPrivate } from './errors.ts';

/** samplingFrequencyIndex → Hz (ISO 14496-3 Table 1.18). */
export const AAC_SAMPLE_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350] as const;

const SBR = 5;
const PS = 29;

export interface AacConfig {
  /** audioObjectType as signalled first (2 = AAC LC, 5 = HE-AAC/SBR, 29 = HE-AACv2/PS). */
  objectType: number;
  /** The core codec's object type: differs from objectType for explicitly signalled SBR/PS. */
  coreObjectType: number;
  /** Index into AAC_SAMPLE_RATES, or 15 when the rate is explicit. */
  samplingFrequencyIndex: number;
  /** Core sampling rate, Hz. */
  sampleRate: number;
  /** Output rate after SBR, Hz, when the config says. */
  extensionSampleRate?: number;
  /** 0 means "defined by a program config element". */
  channelConfiguration: number;
  /** Channel count implied by channelConfiguration (undefined for 0 or reserved values). */
  channels?: number;
}

export function parseAudioSpecificConfig(asc: Uint8Array): AacConfig {
  if (asc.length < 2) throw invalidCodecPrivate(`AudioSpecificConfig is ${asc.length} bytes, at least 2 expected`);
  const r = new BitReader(asc, 'AudioSpecificConfig');
  const objectTypeOf = (): number => {
    const t = r.u(5);
    return t === 31 ? 32 + r.u(6) : t;
  };
  const rateOf = (): { index: number; rate: number } => {
    const index = r.u(4);
    if (index === 15) return { index, rate: r.u(24) };
    const rate = AAC_SAMPLE_RATES[index];
    if (rate === undefined) throw invalidCodecPrivate(`AudioSpecificConfig has reserved samplingFrequencyIndex ${index}`);
    return { index, rate };
  };
  const objectType = objectTypeOf();
  if (objectType === 0) throw invalidCodecPrivate('AudioSpecificConfig has audioObjectType 0 (null)');
  const core = rateOf();
  const channelConfiguration = r.u(4);
  const config: AacConfig = {
    objectType,
    coreObjectType: objectType,
    samplingFrequencyIndex: core.index,
    sampleRate: core.rate,
    channelConfiguration,
  };
  if (objectType === SBR || objectType === PS) {
    config.extensionSampleRate = rateOf().rate;
    config.coreObjectType = objectTypeOf();
  }
  const channels = channelConfiguration >= 1 && channelConfiguration <= 6 ? channelConfiguration : channelConfiguration === 7 ? 8 : undefined;
  if (channels !== undefined) config.channels = channels;
  return config;
}

/** RFC 6381 `mp4a.40.<audioObjectType>` (e.g. mp4a.40.2 for AAC LC). */
export function aacCodecString(c: Pick<AacConfig, 'objectType'>): string {
  return `mp4a.40.${c.objectType}`;
}

const ADTS_HEADER_LENGTH = 7;
const MAX_ADTS_FRAME = 0x1fff;

/**
 * The 7-byte ADTS header (no CRC) for one raw AAC frame of `payloadLength` bytes. ADTS can only
 * signal object types 1-4 and indexed rates: SBR/PS streams are signalled by their core (implicit
 * SBR), anything else is unsupported in MPEG-TS.
 */
export function adtsHeader(c: AacConfig, payloadLength: number): Buffer {
  const profile = c.coreObjectType - 1;
  if (profile < 0 || profile > 3) {
    throw new CodecError('UnsupportedStreamMediaTypeException', `AAC object type ${c.coreObjectType} cannot be carried in ADTS`);
  }
  const rateIndex = c.samplingFrequencyIndex !== 15 ? c.samplingFrequencyIndex : AAC_SAMPLE_RATES.indexOf(c.sampleRate as (typeof AAC_SAMPLE_RATES)[number]);
  if (rateIndex < 0) throw new CodecError('UnsupportedStreamMediaTypeException', `AAC sample rate ${c.sampleRate} Hz cannot be carried in ADTS`);
  if (c.channelConfiguration > 7) throw invalidCodecPrivate(`AAC channelConfiguration ${c.channelConfiguration} is reserved`);
  const frameLength = payloadLength + ADTS_HEADER_LENGTH;
  if (frameLength > MAX_ADTS_FRAME) throw new RangeError(`AAC frame of ${payloadLength} bytes is too big for ADTS`);
  const h = Buffer.alloc(ADTS_HEADER_LENGTH);
  h[0] = 0xff;
  h[1] = 0xf1; // syncword end, MPEG-4, layer 0, protection_absent
  h[2] = (profile << 6) | (rateIndex << 2) | (c.channelConfiguration >> 2);
  h[3] = ((c.channelConfiguration & 3) << 6) | (frameLength >> 11);
  h[4] = (frameLength >> 3) & 0xff;
  h[5] = ((frameLength & 7) << 5) | 0x1f; // buffer fullness 0x7FF (variable rate) ...
  h[6] = 0xfc; // ... and one raw data block
  return h;
}

/** A raw AAC frame (as MP4/Matroska store it) → one ADTS frame. */
export function aacFrameToAdts(frame: Uint8Array, c: AacConfig): Buffer {
  return Buffer.concat([adtsHeader(c, frame.length), frame]);
}
