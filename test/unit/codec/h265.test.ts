import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { h265SampleToAnnexB, hevcCodecString, joinLengthPrefixed, parseH265Sps, parseHvcC } from '../../../src/codec/index.ts';
import { MkvStreamParser } from '../../../src/mkv/index.ts';
import { encodeMkv, probeStreams, splitMkv } from '../media/playback-fixtures.ts';
import { H265_PPS, H265_VPS, h265Sps, hvcC, type HevcPtl } from './bitstream-builders.ts';

const START = '00000001';
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sps1080 = h265Sps({ width: 1920, height: 1088, window: [0, 0, 0, 4] });
const record = (ptl: HevcPtl = {}, lengthSize = 4): Buffer =>
  hvcC({ ptl, lengthSize, arrays: [{ type: 32, nals: [H265_VPS] }, { type: 33, nals: [h265Sps({ width: 1920, height: 1088, window: [0, 0, 0, 4], ptl })] }, { type: 34, nals: [H265_PPS] }] });

describe('hvcC', () => {
  it('parses the profile/tier/level header, length size and NAL arrays', () => {
    const c = parseHvcC(record({}, 2));
    expect(c).toMatchObject({ profileSpace: 0, tier: 0, profile: 1, compatibilityFlags: 0x60000000, level: 93, chromaFormat: 1, bitDepthLuma: 8, lengthSize: 2 });
    expect(hex(c.constraintFlags)).toBe('b00000000000');
    expect(c.vps.map(hex)).toEqual([hex(H265_VPS)]);
    expect(c.pps.map(hex)).toEqual([hex(H265_PPS)]);
    expect(c.arrays.map((a) => a.nalType)).toEqual([32, 33, 34]);
  });

  it('builds ISO 14496-15 Annex E codec strings', () => {
    expect(hevcCodecString(parseHvcC(record()))).toBe('hvc1.1.6.L93.B0');
    // Main 10, High tier, level 4: compatibility flag 2 → reversed 0x4.
    expect(hevcCodecString(parseHvcC(record({ profile: 2, tier: 1, compatibility: 0x20000000, level: 120 })))).toBe('hvc1.2.4.H120.B0');
    // Profile space 1 is written as "A"; flag 4 reversed is 0x10; two constraint bytes kept.
    expect(hevcCodecString(parseHvcC(record({ profileSpace: 1, profile: 4, compatibility: 0x08000000, level: 153, constraints: [0x98, 0x08, 0, 0, 0, 0] })))).toBe('hvc1.A4.10.L153.98.08');
    expect(hevcCodecString(parseHvcC(record({ constraints: [0, 0, 0, 0, 0, 0] })))).toBe('hvc1.1.6.L93');
  });

  it('uses hev1 when the record lacks parameter sets (they travel in-band)', () => {
    const c = parseHvcC(hvcC({ arrays: [{ type: 33, nals: [sps1080] }] }));
    expect(hevcCodecString(c)).toBe('hev1.1.6.L93.B0');
  });

  it('rejects malformed records with InvalidCodecPrivateDataException', () => {
    const good = record();
    const invalid = expect.objectContaining({ kvsName: 'InvalidCodecPrivateDataException' });
    expect(() => parseHvcC(good.subarray(0, 22))).toThrow(invalid);
    expect(() => parseHvcC(good.subarray(0, 30))).toThrow(invalid);
    expect(() => parseHvcC(Buffer.concat([Buffer.from([0]), good.subarray(1)]))).toThrow(invalid);
    expect(() => parseHvcC(hvcC({ arrays: [{ type: 32, nals: [H265_VPS] }] }))).toThrow(/no SPS/);
  });
});

describe('H.265 SPS', () => {
  it('applies the conformance window in chroma units', () => {
    expect(parseH265Sps(sps1080)).toEqual({ chromaFormat: 1, width: 1920, height: 1080 });
    expect(parseH265Sps(h265Sps({ width: 856, height: 480, window: [0, 1, 0, 0] }))).toMatchObject({ width: 854, height: 480 });
    expect(parseH265Sps(h265Sps({ width: 320, height: 240 }))).toMatchObject({ width: 320, height: 240 });
  });

  it('skips sub-layer profile/level fields', () => {
    expect(parseH265Sps(h265Sps({ width: 1280, height: 720, subLayers: 2 }))).toMatchObject({ width: 1280, height: 720 });
  });

  it('rejects other NAL types and truncated data', () => {
    expect(() => parseH265Sps(H265_PPS)).toThrow(/not an SPS/);
    expect(() => parseH265Sps(sps1080.subarray(0, 10))).toThrow(/truncated/);
  });
});

describe('H.265 → Annex B', () => {
  const config = parseHvcC(record());
  const idr = Buffer.from([19 << 1, 0x01, 0xaf, 0x10]);
  const cra = Buffer.from([21 << 1, 0x01, 0xaf, 0x20]);
  const trail = Buffer.from([1 << 1, 0x01, 0xd0, 0x30]);
  const aud = '46' + '01' + '50';

  it('puts AUD first and VPS/SPS/PPS before IRAP pictures only', () => {
    const sets = [START, hex(H265_VPS), START, hex(config.sps[0]!), START, hex(H265_PPS)].join('');
    expect(hex(h265SampleToAnnexB(joinLengthPrefixed([idr]), config))).toBe(`${START}${aud}${sets}${START}${hex(idr)}`);
    expect(hex(h265SampleToAnnexB(joinLengthPrefixed([cra]), config))).toBe(`${START}${aud}${sets}${START}${hex(cra)}`);
    expect(hex(h265SampleToAnnexB(joinLengthPrefixed([trail]), config))).toBe(`${START}${aud}${START}${hex(trail)}`);
  });

  it('does not duplicate in-band parameter sets and replaces an existing AUD', () => {
    const sample = joinLengthPrefixed([Buffer.from([35 << 1, 1, 0x10]), H265_VPS, config.sps[0]!, H265_PPS, idr]);
    const out = hex(h265SampleToAnnexB(sample, config));
    expect(out.split(hex(H265_VPS)).length - 1).toBe(1);
    expect(out.startsWith(`${START}${aud}${START}${hex(H265_VPS)}`)).toBe(true);
  });
});

describe('x265 streams: SPS size and codec string agree with ffprobe', () => {
  for (const size of ['320x240', '640x360', '854x480']) {
    it(size, async () => {
      const file = await encodeMkv({ codec: 'h265', seconds: 1, frames: 2, size });
      const { header } = splitMkv(fs.readFileSync(file));
      const tracks = new MkvStreamParser().push(header).find((e) => e.type === 'tracks');
      if (tracks?.type !== 'tracks') throw new Error('no Tracks');
      const config = parseHvcC(tracks.tracks[0]!.codecPrivate!);
      const sps = parseH265Sps(config.sps[0]!);
      const [probed] = await probeStreams(file);
      expect(`${sps.width}x${sps.height}`).toBe(`${probed?.width}x${probed?.height}`);
      expect(`${sps.width}x${sps.height}`).toBe(size);
      // ffprobe: profile "Main" is general_profile_idc 1, level is general_level_idc.
      expect(probed?.profile).toBe('Main');
      expect(hevcCodecString(config)).toMatch(new RegExp(`^hvc1\\.1\\.6\\.L${probed?.level}(\\.[0-9A-F]{2})*$`));
    });
  }
});
