import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CodecError,
  avcCodecString,
  h264SampleToAnnexB,
  joinLengthPrefixed,
  parseAvcC,
  parseH264Sps,
  splitLengthPrefixed,
} from '../../../src/codec/index.ts';
import { encodeMkv, probeStreams, splitMkv } from '../media/playback-fixtures.ts';
import { MkvStreamParser } from '../../../src/mkv/index.ts';
import { H264_PPS, avcC, h264Sps } from './bitstream-builders.ts';

const START = '00000001';
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('H.264 SPS', () => {
  it('reads size, profile and level of a plain High profile SPS', () => {
    const sps = parseH264Sps(h264Sps({ profile: 100, level: 31, widthMbs: 40, heightMapUnits: 30 }));
    expect(sps).toMatchObject({ profile: 100, level: 31, chromaFormat: 1, bitDepthLuma: 8, frameMbsOnly: true, width: 640, height: 480 });
  });

  it('applies frame cropping in chroma units (1080p is 1088 coded, 640x360 is 368)', () => {
    expect(parseH264Sps(h264Sps({ widthMbs: 120, heightMapUnits: 68, crop: { left: 0, right: 0, top: 0, bottom: 4 } }))).toMatchObject({ width: 1920, height: 1080 });
    expect(parseH264Sps(h264Sps({ profile: 77, widthMbs: 40, heightMapUnits: 23, crop: { left: 0, right: 0, top: 0, bottom: 4 } }))).toMatchObject({ width: 640, height: 360 });
    // 4:4:4 crops in luma units horizontally and vertically.
    expect(parseH264Sps(h264Sps({ profile: 244, chromaFormat: 3, widthMbs: 2, heightMapUnits: 2, crop: { left: 1, right: 2, top: 3, bottom: 4 } }))).toMatchObject({ width: 29, height: 25 });
  });

  it('doubles map units and vertical crop units for field coding', () => {
    const sps = parseH264Sps(h264Sps({ widthMbs: 45, heightMapUnits: 17, frameMbsOnly: false, crop: { left: 0, right: 0, top: 0, bottom: 2 } }));
    expect(sps).toMatchObject({ frameMbsOnly: false, width: 720, height: 17 * 32 - 8 });
  });

  it('skips scaling matrices and POC type 1 cycles to reach the size fields', () => {
    expect(parseH264Sps(h264Sps({ widthMbs: 20, heightMapUnits: 15, scalingLists: true }))).toMatchObject({ width: 320, height: 240 });
    expect(parseH264Sps(h264Sps({ profile: 66, widthMbs: 11, heightMapUnits: 9, pocType: 1 }))).toMatchObject({ width: 176, height: 144 });
    expect(parseH264Sps(h264Sps({ profile: 66, widthMbs: 11, heightMapUnits: 9, pocType: 2 }))).toMatchObject({ width: 176, height: 144 });
  });

  it('reads through emulation-prevention bytes', () => {
    // profile_idc 0, compat 0, level 2 is the RBSP 00 00 02, which a NAL must carry as 00 00 03 02.
    const nal = h264Sps({ profile: 0, level: 2, widthMbs: 20, heightMapUnits: 15 });
    expect(hex(nal)).toContain('00000302');
    expect(parseH264Sps(nal)).toMatchObject({ profile: 0, level: 2, width: 320, height: 240 });
  });

  it('rejects truncated or foreign NAL units with InvalidCodecPrivateDataException', () => {
    const nal = h264Sps({ widthMbs: 20, heightMapUnits: 15 });
    for (const bad of [nal.subarray(0, 6), H264_PPS, Buffer.from([0x67])]) {
      expect(() => parseH264Sps(bad)).toThrow(CodecError);
      try {
        parseH264Sps(bad);
      } catch (e) {
        expect((e as CodecError).kvsName).toBe('InvalidCodecPrivateDataException');
      }
    }
  });
});

describe('avcC', () => {
  it('parses header fields, length size and parameter set lists', () => {
    const sps = h264Sps({ profile: 100, compatibility: 0, level: 31, widthMbs: 40, heightMapUnits: 30 });
    const config = parseAvcC(avcC({ sps: [sps], pps: [H264_PPS, Buffer.from([0x68, 0xee])], lengthSize: 2 }));
    expect(config).toMatchObject({ profile: 100, compatibility: 0, level: 31, lengthSize: 2 });
    expect(config.sps.map(hex)).toEqual([hex(sps)]);
    expect(config.pps.map(hex)).toEqual([hex(H264_PPS), '68ee']);
    expect(avcCodecString(config)).toBe('avc1.64001f');
    expect(avcCodecString({ profile: 66, compatibility: 0xe0, level: 30 })).toBe('avc1.42e01e');
  });

  it('rejects malformed records', () => {
    const good = avcC({ sps: [h264Sps({ widthMbs: 20, heightMapUnits: 15 })], pps: [H264_PPS] });
    const cases: Array<[string, Buffer]> = [
      ['short', good.subarray(0, 5)],
      ['version', Buffer.concat([Buffer.from([2]), good.subarray(1)])],
      ['3-byte lengths', Buffer.concat([good.subarray(0, 4), Buffer.from([0xfe]), good.subarray(5)])],
      ['truncated SPS', good.subarray(0, 12)],
      ['no PPS count', good.subarray(0, good.length - H264_PPS.length - 3)],
      ['no SPS', avcC({ sps: [], pps: [H264_PPS] })],
    ];
    for (const [name, record] of cases) {
      expect(() => parseAvcC(record), name).toThrow(expect.objectContaining({ kvsName: 'InvalidCodecPrivateDataException' }));
    }
  });
});

describe('AVCC → Annex B', () => {
  const sps = h264Sps({ widthMbs: 20, heightMapUnits: 15 });
  const config = parseAvcC(avcC({ sps: [sps], pps: [H264_PPS] }));
  const idr = Buffer.from([0x65, 0x88, 0x84, 0x00]);
  const sei = Buffer.from([0x06, 0x05, 0x01, 0xaa, 0x80]);
  const nonIdr = Buffer.from([0x41, 0x9a, 0x02]);

  it('puts an AUD first and SPS/PPS before an IDR picture (after the AUD, before SEI)', () => {
    const out = h264SampleToAnnexB(joinLengthPrefixed([sei, idr]), config);
    expect(hex(out)).toBe([START, '09f0', START, hex(sps), START, hex(H264_PPS), START, hex(sei), START, hex(idr)].join(''));
  });

  it('adds no parameter sets to other pictures, and for keyframe-flagged non-IDR pictures it does', () => {
    expect(hex(h264SampleToAnnexB(joinLengthPrefixed([nonIdr]), config))).toBe(`${START}09f0${START}${hex(nonIdr)}`);
    expect(hex(h264SampleToAnnexB(joinLengthPrefixed([nonIdr]), config, { keyframe: true }))).toContain(hex(sps));
  });

  it('keeps in-band parameter sets instead of duplicating them, and replaces existing AUDs', () => {
    const sample = joinLengthPrefixed([Buffer.from([0x09, 0x10]), sps, H264_PPS, idr]);
    expect(hex(h264SampleToAnnexB(sample, config))).toBe([START, '09f0', START, hex(sps), START, hex(H264_PPS), START, hex(idr)].join(''));
    expect(hex(h264SampleToAnnexB(sample, config, { accessUnitDelimiter: false }))).toBe([START, hex(sps), START, hex(H264_PPS), START, hex(idr)].join(''));
  });

  it('honours 1- and 2-byte NAL lengths and rejects overruns', () => {
    const two = parseAvcC(avcC({ sps: [sps], pps: [H264_PPS], lengthSize: 2 }));
    expect(hex(h264SampleToAnnexB(joinLengthPrefixed([nonIdr], 2), two))).toBe(`${START}09f0${START}${hex(nonIdr)}`);
    expect(splitLengthPrefixed(joinLengthPrefixed([nonIdr, idr], 1), 1).map(hex)).toEqual([hex(nonIdr), hex(idr)]);
    expect(() => h264SampleToAnnexB(Buffer.from([0, 0, 0, 9, 0x41]), config)).toThrow(RangeError);
    expect(() => h264SampleToAnnexB(Buffer.from([0, 0, 0]), config)).toThrow(RangeError);
  });
});

describe('SPS sizes of real x264 streams equal ffprobe', () => {
  const cases = [
    { size: '320x240' },
    { size: '640x360' },
    { size: '854x480' },
    { size: '176x144', profile: 'baseline' as const },
    { size: '640x360', interlaced: true },
  ];
  for (const c of cases) {
    it(`${c.size}${c.interlaced ? ' interlaced' : ''}${c.profile ? ` ${c.profile}` : ''}`, async () => {
      const file = await encodeMkv({ codec: 'h264', seconds: 1, frames: 2, ...c });
      const track = tracksOf(fs.readFileSync(file))[0]!;
      const config = parseAvcC(track.codecPrivate!);
      const sps = parseH264Sps(config.sps[0]!);
      const [probed] = await probeStreams(file);
      expect({ width: sps.width, height: sps.height }).toEqual({ width: probed?.width, height: probed?.height });
      expect(`${sps.width}x${sps.height}`).toBe(c.size);
      if (c.interlaced) expect(sps.frameMbsOnly).toBe(false);
      expect(sps.level).toBe(probed?.level);
    });
  }
});

function tracksOf(file: Buffer) {
  const { header } = splitMkv(file);
  const ev = new MkvStreamParser().push(header).find((e) => e.type === 'tracks');
  if (ev?.type !== 'tracks') throw new Error('no Tracks');
  return ev.tracks;
}
