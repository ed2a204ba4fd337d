import { describe, expect, it } from 'vitest';
import { FragmentAssembler, type AssemblerOutput } from '../../../src/ingest/fragment-assembler.ts';
import { clusterElement, MkvStreamParser, simpleBlock } from '../../../src/mkv/index.ts';
import { AckError } from '../../../src/shared/errors.ts';
import { H264_PPS, H265_PPS, H265_VPS, avcC, h264Sps, h265Sps, hvcC } from '../codec/bitstream-builders.ts';
import { AUDIO_TRACK, VIDEO_TRACK, mkvHeader } from '../../support/synthetic-mkv.ts';

const limits = { maxFragmentBytes: 1_000_000, maxFragmentDurationMs: 20_000, maxTracks: 3, maxFragmentTags: 10 };

/** One length-prefixed NAL unit per entry (`lengthSize`-byte big-endian lengths). */
function nals(units: Buffer[], lengthSize = 4): Buffer {
  return Buffer.concat(units.flatMap((u) => {
    const len = Buffer.alloc(lengthSize);
    len.writeUIntBE(u.length, 0, lengthSize);
    return [len, u];
  }));
}

const idr = (n = 20) => Buffer.alloc(n, 0x65);
const frameCluster = (timecode: number, frames: Buffer[], track = 1) =>
  clusterElement({ timecode, children: frames.map((frame, i) => simpleBlock({ track, relativeTimecode: i * 40, keyframe: i === 0, frame })) });

/** Runs a body through parser + assembler; returns what completed and the AckError, if any. */
function ingest(body: Buffer): { completed: number; error?: AckError } {
  const parser = new MkvStreamParser();
  const asm = new FragmentAssembler(limits, 'ABSOLUTE', undefined);
  const out: AssemblerOutput[] = [];
  try {
    asm.accept(parser.push(body), out);
    asm.accept(parser.end(), out);
    out.push(...asm.finish());
  } catch (err) {
    if (!(err instanceof AckError)) throw err;
    return { completed: out.filter((o) => o.type === 'completed').length, error: err };
  }
  return { completed: out.filter((o) => o.type === 'completed').length };
}

const track = (over: Partial<typeof VIDEO_TRACK>) => ({ ...VIDEO_TRACK, ...over });

describe('ingest media validation', () => {
  it('accepts H.264 frames whose NAL lengths tile them exactly, with 1-, 2- and 4-byte prefixes', () => {
    for (const lengthSize of [1, 2, 4]) {
      const cpd = avcC({ sps: [h264Sps({ profile: 66, level: 30, widthMbs: 20, heightMapUnits: 15 })], pps: [H264_PPS], lengthSize });
      const body = Buffer.concat([mkvHeader({ tracks: [track({ codecPrivate: cpd })] }), frameCluster(0, [nals([idr(), idr(7)], lengthSize), nals([Buffer.alloc(3, 0x41)], lengthSize)])]);
      expect(ingest(body)).toEqual({ completed: 1 });
    }
  });

  it('refuses a frame whose NAL length overruns it, stops short of it, or ends inside a length prefix (4006)', () => {
    const header = mkvHeader();
    const good = nals([idr()]);
    const overrun = Buffer.from(good);
    overrun.writeUInt32BE(good.length, 0); // claims 4 more bytes than there are
    const short = Buffer.concat([good, Buffer.from([0, 0])]); // 2 trailing bytes: a truncated length prefix
    const truncated = good.subarray(0, good.length - 5); // a frame cut off mid-NAL
    for (const bad of [overrun, short, truncated, Buffer.alloc(0)]) {
      const result = ingest(Buffer.concat([header, frameCluster(0, [good]), frameCluster(1000, [good, bad])]));
      expect(result.error).toMatchObject({ code: 'INVALID_MKV_DATA', errorId: 4006 });
      expect(result.completed).toBe(1); // the fragment before the bad one still completes; the bad one never does
    }
  });

  it('checks every frame of a laced block', () => {
    const laced = clusterElement({ timecode: 0, children: [simpleBlock({ track: 1, relativeTimecode: 0, keyframe: true, frames: [nals([idr()]), Buffer.from([0, 0, 0, 9, 1])], lacing: 'xiph' })] });
    expect(ingest(Buffer.concat([mkvHeader(), laced])).error?.code).toBe('INVALID_MKV_DATA');
  });

  it('H.265: hvcC must parse and frames use its length size', () => {
    const cpd = hvcC({ lengthSize: 2, arrays: [{ type: 32, nals: [H265_VPS] }, { type: 33, nals: [h265Sps({ width: 320, height: 240 })] }, { type: 34, nals: [H265_PPS] }] });
    const hevc = track({ codecId: 'V_MPEGH/ISO/HEVC', codecPrivate: cpd });
    const frame = nals([Buffer.alloc(12, 0x26)], 2);
    expect(ingest(Buffer.concat([mkvHeader({ tracks: [hevc] }), frameCluster(0, [frame])]))).toEqual({ completed: 1 });
    expect(ingest(Buffer.concat([mkvHeader({ tracks: [hevc] }), frameCluster(0, [nals([Buffer.alloc(12, 0x26)], 1)])])).error?.code).toBe('INVALID_MKV_DATA');
    const broken = track({ codecId: 'V_MPEGH/ISO/HEVC', codecPrivate: cpd.subarray(0, 30) });
    expect(ingest(Buffer.concat([mkvHeader({ tracks: [broken] }), frameCluster(0, [frame])])).error?.message).toMatch(/InvalidCodecPrivateDataException/);
  });

  it('refuses missing or unparseable CodecPrivate for H.264 and AAC at the Tracks element, before any fragment', () => {
    const cases = [
      track({ codecPrivate: Buffer.alloc(0) }),
      track({ codecPrivate: Buffer.from([2, 0x42, 0, 0x1e, 0xff, 0xe0, 0]) }), // configurationVersion 2
      track({ codecPrivate: Buffer.from([1, 0x42, 0, 0x1e, 0xfe, 0xe1, 0, 9, 0x67]) }), // 3-byte lengths, truncated SPS
    ];
    for (const t of cases) {
      const r = ingest(Buffer.concat([mkvHeader({ tracks: [t] }), frameCluster(0, [nals([idr()])])]));
      expect(r).toMatchObject({ completed: 0, error: { code: 'INVALID_MKV_DATA' } });
    }
    const badAac = { ...AUDIO_TRACK, number: 1, codecPrivate: Buffer.from([0x07, 0x90]) }; // object type 0
    expect(ingest(Buffer.concat([mkvHeader({ tracks: [badAac as never] }), frameCluster(0, [Buffer.alloc(9)])])).error?.code).toBe('INVALID_MKV_DATA');
  });

  it('stores a well-formed track of a codec the packagers do not support (playback leaves it out), without checking its frames', () => {
    const vp8 = track({ codecId: 'V_VP8', codecPrivate: Buffer.alloc(0) });
    expect(ingest(Buffer.concat([mkvHeader({ tracks: [vp8] }), frameCluster(0, [Buffer.alloc(50, 0xff)])]))).toEqual({ completed: 1 });
  });

  it('an avcC without parameter sets (in-band SPS/PPS) is accepted: framing still comes from it', () => {
    const inBand = track({ codecPrivate: Buffer.from([1, 0x42, 0, 0x1e, 0xff, 0xe0, 0]) });
    expect(ingest(Buffer.concat([mkvHeader({ tracks: [inBand] }), frameCluster(0, [nals([idr()])])]))).toEqual({ completed: 1 });
  });

  it('deeply nested SimpleTags after a cluster are read without overflowing the stack', () => {
    const depth = 40_000;
    // SimpleTag (0x67C8) with an 8-byte size, each holding the next: consecutive headers.
    const simpleTags = Buffer.alloc(10 * depth);
    for (let i = 0; i < depth; i++) {
      simpleTags.writeUInt16BE(0x67c8, 10 * i);
      simpleTags[10 * i + 2] = 0x01;
      simpleTags.writeUIntBE(10 * (depth - i - 1), 10 * i + 5, 5);
    }
    const element = (id: number[], payload: Buffer) => {
      const size = Buffer.alloc(8);
      size[0] = 0x01;
      size.writeUIntBE(payload.length, 3, 5);
      return Buffer.concat([Buffer.from(id), size, payload]);
    };
    const tags = element([0x12, 0x54, 0xc3, 0x67], element([0x73, 0x73], simpleTags));
    const result = ingest(Buffer.concat([mkvHeader(), clusterElement({ timecode: 0, unknownSize: true, children: [simpleBlock({ track: 1, relativeTimecode: 0, keyframe: true, frame: nals([idr()]) })] }), tags]));
    expect(result).toEqual({ completed: 1 }); // nameless tags: one (empty) user tag
  });
});
