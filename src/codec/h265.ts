/**
 * H.265: the hvcC record (Matroska CodecPrivate of V_MPEGH/ISO/HEVC, ISO 14496-15 §8.3.3), the
 * SPS picture size (conformance window), the codec string of ISO 14496-15 Annex E, and
 * length-prefixed → Annex B access units for MPEG-TS.
 */
import { Buffer } from 'node:buffer';
import { BitReader, nalToRbsp } from './bit-reader.ts';
import { invalidCodecPrivate } from './errors.ts';
import { joinAnnexB, splitLengthPrefixed } from './nal-units.ts';
import type { AnnexBOptions } from './h264.ts';

export const H265_NAL = { IRAP_FIRST: 16, IRAP_LAST: 23, VPS: 32, SPS: 33, PPS: 34, AUD: 35 } as const;

export interface HevcConfig {
  profileSpace: number;
  /** 0 Main tier, 1 High tier. */
  tier: number;
  profile: number;
  /** general_profile_compatibility_flags, flag 0 in the most significant bit. */
  compatibilityFlags: number;
  /** general constraint indicator flags, 6 bytes. */
  constraintFlags: Buffer;
  level: number;
  chromaFormat: number;
  bitDepthLuma: number;
  bitDepthChroma: number;
  lengthSize: number;
  vps: Buffer[];
  sps: Buffer[];
  pps: Buffer[];
  /** Every NAL array in record order (SEI arrays too), for writers that copy the record. */
  arrays: Array<{ nalType: number; nals: Buffer[] }>;
}

export interface H265SpsInfo {
  chromaFormat: number;
  /** Displayed size: luma samples minus the conformance window. */
  width: number;
  height: number;
}

const nalType = (nal: Uint8Array): number => (nal[0]! >> 1) & 0x3f;

/** `requireSps: false` reads the record's structure only (ingest: in-band parameter sets are allowed). */
export function parseHvcC(record: Uint8Array, opts: { requireSps?: boolean } = {}): HevcConfig {
  const b = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  if (b.length < 23) throw invalidCodecPrivate(`hvcC record is ${b.length} bytes, shorter than its 23-byte header`);
  if (b[0] !== 1) throw invalidCodecPrivate(`hvcC configurationVersion is ${b[0]}, expected 1`);
  const lengthSize = (b[21]! & 0x03) + 1;
  if (lengthSize === 3) throw invalidCodecPrivate('hvcC lengthSizeMinusOne is 2 (3-byte NAL lengths are not allowed)');
  const arrays: HevcConfig['arrays'] = [];
  let pos = 23;
  for (let a = 0; a < b[22]!; a++) {
    if (pos + 3 > b.length) throw invalidCodecPrivate('hvcC is truncated in its NAL arrays');
    const type = b[pos]! & 0x3f;
    const count = b.readUInt16BE(pos + 1);
    pos += 3;
    const nals: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      if (pos + 2 > b.length) throw invalidCodecPrivate('hvcC is truncated in its NAL arrays');
      const len = b.readUInt16BE(pos);
      if (len === 0 || pos + 2 + len > b.length) throw invalidCodecPrivate(`hvcC NAL unit (type ${type}) has a bad length ${len}`);
      nals.push(Buffer.from(b.subarray(pos + 2, pos + 2 + len)));
      pos += 2 + len;
    }
    arrays.push({ nalType: type, nals });
  }
  const ofType = (t: number): Buffer[] => arrays.filter((x) => x.nalType === t).flatMap((x) => x.nals);
  const config: HevcConfig = {
    profileSpace: b[1]! >> 6,
    tier: (b[1]! >> 5) & 1,
    profile: b[1]! & 0x1f,
    compatibilityFlags: b.readUInt32BE(2),
    constraintFlags: Buffer.from(b.subarray(6, 12)),
    level: b[12]!,
    chromaFormat: b[16]! & 0x03,
    bitDepthLuma: (b[17]! & 0x07) + 8,
    bitDepthChroma: (b[18]! & 0x07) + 8,
    lengthSize,
    vps: ofType(H265_NAL.VPS),
    sps: ofType(H265_NAL.SPS),
    pps: ofType(H265_NAL.PPS),
    arrays,
  };
  if (config.sps.length === 0 && opts.requireSps !== false) throw invalidCodecPrivate('hvcC has no SPS');
  return config;
}

/** `nal` is one SPS NAL unit including its 2-byte header. */
export function parseH265Sps(nal: Uint8Array): H265SpsInfo {
  if (nal.length < 4 || nalType(nal) !== H265_NAL.SPS) throw invalidCodecPrivate('H.265 SPS: not an SPS NAL unit');
  const r = new BitReader(nalToRbsp(nal.subarray(2)), 'H.265 SPS');
  r.skip(4); // sps_video_parameter_set_id
  const maxSubLayersMinus1 = r.u(3);
  r.skip(1); // sps_temporal_id_nesting_flag
  skipProfileTierLevel(r, maxSubLayersMinus1);
  r.ue(); // sps_seq_parameter_set_id
  const chromaFormat = r.ue();
  const separateColourPlanes = chromaFormat === 3 ? r.flag() : false;
  let width = r.ue();
  let height = r.ue();
  if (r.flag()) {
    // Conformance window offsets are in chroma units (H.265 §7.4.3.2.1).
    const chromaArrayType = separateColourPlanes ? 0 : chromaFormat;
    const subWidth = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
    const subHeight = chromaArrayType === 1 ? 2 : 1;
    const [left, right, top, bottom] = [r.ue(), r.ue(), r.ue(), r.ue()];
    width -= subWidth * (left + right);
    height -= subHeight * (top + bottom);
  }
  if (width <= 0 || height <= 0) throw invalidCodecPrivate(`H.265 SPS: a ${width}x${height} picture`);
  return { chromaFormat, width, height };
}

/** profile_tier_level(1, maxSubLayersMinus1), H.265 §7.3.3: 96 general bits, then sub-layers. */
function skipProfileTierLevel(r: BitReader, maxSubLayersMinus1: number): void {
  r.skip(96);
  const present: Array<[boolean, boolean]> = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) present.push([r.flag(), r.flag()]);
  if (maxSubLayersMinus1 > 0) r.skip(2 * (8 - maxSubLayersMinus1));
  for (const [profile, level] of present) {
    if (profile) r.skip(88);
    if (level) r.skip(8);
  }
}

/** hvc1 requires VPS, SPS and PPS in hvcC; hev1 allows them in-band only. */
export function hevcSampleEntryType(c: Pick<HevcConfig, 'vps' | 'sps' | 'pps'>): 'hvc1' | 'hev1' {
  return c.vps.length > 0 && c.sps.length > 0 && c.pps.length > 0 ? 'hvc1' : 'hev1';
}

/**
 * ISO 14496-15 Annex E: `hvc1.[A|B|C]<profile>.<compat flags, bit-reversed, hex>.<L|H><level>`
 * then the constraint bytes in hex with trailing zero bytes dropped, e.g. `hvc1.1.6.L93.B0`.
 */
export function hevcCodecString(c: HevcConfig, fourcc: string = hevcSampleEntryType(c)): string {
  const space = ['', 'A', 'B', 'C'][c.profileSpace] ?? '';
  let reversed = 0;
  for (let i = 0; i < 32; i++) reversed = reversed * 2 + ((c.compatibilityFlags >>> i) & 1);
  const parts = [fourcc, `${space}${c.profile}`, reversed.toString(16).toUpperCase(), `${c.tier ? 'H' : 'L'}${c.level}`];
  const constraints = [...c.constraintFlags];
  while (constraints.length > 0 && constraints.at(-1) === 0) constraints.pop();
  parts.push(...constraints.map((x) => x.toString(16).toUpperCase().padStart(2, '0')));
  return parts.join('.');
}

/** AUD (type 35, layer 0, tid 1) with pic_type 2 ("I, P or B slices") and its stop bit. */
const H265_AUD = Buffer.from([H265_NAL.AUD << 1, 0x01, 0x50]);

/** One length-prefixed sample → one Annex B access unit: AUD, VPS/SPS/PPS before IRAP pictures, the NAL units. */
export function h265SampleToAnnexB(sample: Uint8Array, config: HevcConfig, opts: AnnexBOptions = {}): Buffer {
  const nals = splitLengthPrefixed(sample, config.lengthSize).filter((n) => nalType(n) !== H265_NAL.AUD);
  const types = new Set(nals.map(nalType));
  const out: Uint8Array[] = opts.accessUnitDelimiter === false ? [] : [H265_AUD];
  const irap = [...types].some((t) => t >= H265_NAL.IRAP_FIRST && t <= H265_NAL.IRAP_LAST);
  const hasSets = types.has(H265_NAL.VPS) && types.has(H265_NAL.SPS) && types.has(H265_NAL.PPS);
  if ((irap || opts.keyframe === true) && !hasSets) out.push(...config.vps, ...config.sps, ...config.pps);
  out.push(...nals);
  return joinAnnexB(out);
}
