/**
 * H.264: the avcC record (Matroska CodecPrivate of V_MPEG4/ISO/AVC, ISO 14496-15 §5.3.3), the
 * SPS fields packagers need (size with cropping), the RFC 6381 codec string, and AVCC → Annex B
 * access units for MPEG-TS.
 */
import { Buffer } from 'node:buffer';
import { BitReader, nalToRbsp } from './bit-reader.ts';
import { invalidCodecPrivate } from './errors.ts';
import { joinAnnexB, splitLengthPrefixed } from './nal-units.ts';

export const H264_NAL = { IDR: 5, SEI: 6, SPS: 7, PPS: 8, AUD: 9 } as const;

export interface AvcConfig {
  profile: number;
  /** The constraint_set flags byte (profile_compatibility). */
  compatibility: number;
  level: number;
  /** Bytes in each NAL length prefix of a sample: 1, 2 or 4. */
  lengthSize: number;
  /** Parameter set NAL units, header byte included. */
  sps: Buffer[];
  pps: Buffer[];
}

export interface H264SpsInfo {
  profile: number;
  compatibility: number;
  level: number;
  chromaFormat: number;
  bitDepthLuma: number;
  frameMbsOnly: boolean;
  /** Displayed size: coded macroblocks minus the frame cropping window. */
  width: number;
  height: number;
}

/** Profiles whose SPS carries chroma_format_idc, bit depths and scaling matrices (H.264 §7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** `requireSps: false` reads the record's structure only (ingest: in-band parameter sets are allowed). */
export function parseAvcC(record: Uint8Array, opts: { requireSps?: boolean } = {}): AvcConfig {
  const b = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  if (b.length < 7) throw invalidCodecPrivate(`avcC record is ${b.length} bytes, shorter than its 7-byte header`);
  if (b[0] !== 1) throw invalidCodecPrivate(`avcC configurationVersion is ${b[0]}, expected 1`);
  const lengthSize = (b[4]! & 0x03) + 1;
  if (lengthSize === 3) throw invalidCodecPrivate('avcC lengthSizeMinusOne is 2 (3-byte NAL lengths are not allowed)');
  let pos = 5;
  const readSets = (count: number, what: string): Buffer[] => {
    const sets: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      if (pos + 2 > b.length) throw invalidCodecPrivate(`avcC is truncated in its ${what} list`);
      const len = b.readUInt16BE(pos);
      if (pos + 2 + len > b.length || len === 0) throw invalidCodecPrivate(`avcC ${what} ${i} has a bad length ${len}`);
      sets.push(Buffer.from(b.subarray(pos + 2, pos + 2 + len)));
      pos += 2 + len;
    }
    return sets;
  };
  const sps = readSets(b[pos++]! & 0x1f, 'SPS');
  if (pos >= b.length) throw invalidCodecPrivate('avcC is truncated before its PPS count');
  const pps = readSets(b[pos++]!, 'PPS');
  if (sps.length === 0 && opts.requireSps !== false) throw invalidCodecPrivate('avcC has no SPS');
  // The trailing High-profile extension (chroma format, bit depths, SPS-ext) is not needed.
  return { profile: b[1]!, compatibility: b[2]!, level: b[3]!, lengthSize, sps, pps };
}

/** `nal` is one SPS NAL unit including its header byte. */
export function parseH264Sps(nal: Uint8Array): H264SpsInfo {
  if (nal.length < 4 || (nal[0]! & 0x1f) !== H264_NAL.SPS) throw invalidCodecPrivate('H.264 SPS: not an SPS NAL unit');
  const r = new BitReader(nalToRbsp(nal.subarray(1)), 'H.264 SPS');
  const profile = r.u(8);
  const compatibility = r.u(8);
  const level = r.u(8);
  r.ue(); // seq_parameter_set_id
  let chromaFormat = 1;
  let separateColourPlanes = false;
  let bitDepthLuma = 8;
  if (HIGH_PROFILES.has(profile)) {
    chromaFormat = r.ue();
    if (chromaFormat === 3) separateColourPlanes = r.flag();
    bitDepthLuma = r.ue() + 8;
    r.ue(); // bit_depth_chroma_minus8
    r.skip(1); // qpprime_y_zero_transform_bypass_flag
    if (r.flag()) skipScalingLists(r, chromaFormat !== 3 ? 8 : 12);
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) {
    r.ue(); // log2_max_pic_order_cnt_lsb_minus4
  } else if (pocType === 1) {
    r.skip(1); // delta_pic_order_always_zero_flag
    r.se(); // offset_for_non_ref_pic
    r.se(); // offset_for_top_to_bottom_field
    const cycle = r.ue();
    for (let i = 0; i < cycle; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.skip(1); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.flag();
  if (!frameMbsOnly) r.skip(1); // mb_adaptive_frame_field_flag
  r.skip(1); // direct_8x8_inference_flag
  const crop = r.flag() ? { left: r.ue(), right: r.ue(), top: r.ue(), bottom: r.ue() } : { left: 0, right: 0, top: 0, bottom: 0 };
  // Crop units (H.264 §7.4.2.1.1): chroma subsampling, doubled vertically for field coding.
  const chromaArrayType = separateColourPlanes ? 0 : chromaFormat;
  const subWidth = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
  const subHeight = chromaArrayType === 1 ? 2 : 1;
  const fieldFactor = frameMbsOnly ? 1 : 2;
  const width = widthMbs * 16 - subWidth * (crop.left + crop.right);
  const height = heightMapUnits * 16 * fieldFactor - subHeight * fieldFactor * (crop.top + crop.bottom);
  if (width <= 0 || height <= 0) throw invalidCodecPrivate(`H.264 SPS: cropping leaves a ${width}x${height} picture`);
  return { profile, compatibility, level, chromaFormat, bitDepthLuma, frameMbsOnly, width, height };
}

function skipScalingLists(r: BitReader, count: number): void {
  for (let i = 0; i < count; i++) {
    if (!r.flag()) continue;
    const size = i < 6 ? 16 : 64;
    let last = 8;
    let next = 8;
    for (let j = 0; j < size && next !== 0; j++) {
      next = (last + r.se() + 256) % 256;
      if (next !== 0) last = next;
    }
  }
}

/** avc1 keeps parameter sets in avcC; avc3 is for records without them (sets travel in-band). */
export function avcSampleEntryType(c: Pick<AvcConfig, 'sps' | 'pps'>): 'avc1' | 'avc3' {
  return c.sps.length > 0 && c.pps.length > 0 ? 'avc1' : 'avc3';
}

/** RFC 6381 `avc1.PPCCLL` (lower-case hex, as browsers' and ffmpeg's HLS muxer print it). */
export function avcCodecString(c: Pick<AvcConfig, 'profile' | 'compatibility' | 'level'>, fourcc: string = 'avc1'): string {
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  return `${fourcc}.${hex(c.profile)}${hex(c.compatibility)}${hex(c.level)}`;
}

export interface AnnexBOptions {
  /** The container's keyframe flag: parameter sets are also inserted for keyframes without an IDR slice. */
  keyframe?: boolean;
  /** Start with an access unit delimiter (MPEG-TS requires one; existing ones are replaced). Default true. */
  accessUnitDelimiter?: boolean;
}

/** AUD with primary_pic_type 7 ("any slice type") and its stop bit. */
const H264_AUD = Buffer.from([H264_NAL.AUD, 0xf0]);

/**
 * One AVCC sample → one Annex B access unit: AUD, then SPS/PPS before IDR (or keyframe) pictures
 * unless the sample already carries them, then the sample's NAL units.
 */
export function h264SampleToAnnexB(sample: Uint8Array, config: AvcConfig, opts: AnnexBOptions = {}): Buffer {
  const nals = splitLengthPrefixed(sample, config.lengthSize).filter((n) => (n[0]! & 0x1f) !== H264_NAL.AUD);
  const types = new Set(nals.map((n) => n[0]! & 0x1f));
  const out: Uint8Array[] = opts.accessUnitDelimiter === false ? [] : [H264_AUD];
  const needsParameterSets = types.has(H264_NAL.IDR) || opts.keyframe === true;
  if (needsParameterSets && !(types.has(H264_NAL.SPS) && types.has(H264_NAL.PPS))) out.push(...config.sps, ...config.pps);
  out.push(...nals);
  return joinAnnexB(out);
}
