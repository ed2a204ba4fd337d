import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { toMediaTrack } from '../../../src/media/demux-mkv.ts';
import { box } from '../../../src/mp4/box-writer.ts';
import { Mp4Error } from '../../../src/mp4/errors.ts';
import { Fmp4ToMkv } from '../../../src/mp4/fmp4-to-mkv.ts';
import { buildInitSegment } from '../../../src/mp4/index.ts';
import { parseInitSegment } from '../../../src/mp4/init-segment.ts';
import { pruneMoov } from '../../../src/mp4/moov-prune.ts';
import { H264_PPS, avcC, h264Sps } from '../codec/bitstream-builders.ts';

const videoPrivate = avcC({ sps: [h264Sps({ profile: 66, level: 30, widthMbs: 20, heightMapUnits: 15 })], pps: [H264_PPS] });
const tracks = [
  toMediaTrack({ number: 1, type: 1, codecId: 'V_MPEG4/ISO/AVC', codecPrivate: videoPrivate, video: { width: 320, height: 240 } }),
  toMediaTrack({ number: 2, type: 2, codecId: 'A_AAC', codecPrivate: Buffer.from('1210', 'hex'), audio: { samplingFrequency: 44100, channels: 2 } }),
];

/** The moov of an init segment our own writer makes (ftyp first). */
function validMoov(): Buffer {
  const init = buildInitSegment(tracks);
  const ftypSize = init.readUInt32BE(0);
  return init.subarray(ftypSize);
}

/** `depth` empty-payload boxes of `type`, each holding the next: just consecutive headers. */
function nested(type: string, depth: number): Buffer {
  const out = Buffer.alloc(8 * depth);
  for (let i = 0; i < depth; i++) {
    out.writeUInt32BE(8 * (depth - i), 8 * i);
    out.write(type, 8 * i + 4, 'latin1');
  }
  return out;
}

/** A moov with extra children appended (its size rewritten). */
function moovWith(...extra: Buffer[]): Buffer {
  const moov = validMoov();
  const out = Buffer.concat([moov, ...extra]);
  out.writeUInt32BE(out.length, 0);
  return out;
}

function mp4ErrorOf(fn: () => unknown): Mp4Error | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof Mp4Error) return err;
    throw err;
  }
  return undefined;
}

describe('pruneMoov (fMP4 depth limit)', () => {
  it('keeps what the track mapping reads: the pruned moov maps to the same tracks', () => {
    const moov = validMoov();
    const pruned = pruneMoov(moov);
    expect(pruned.length).toBeLessThanOrEqual(moov.length);
    expect(parseInitSegment(moov).map((t) => t.entry)).toEqual(parseInitSegment(pruned).map((t) => t.entry));
  });

  it('deeply nested boxes (udta, trak, moov, meta, edts, unknown) inside the moov are a clean Mp4Error or ignored, never a stack overflow', () => {
    for (const type of ['udta', 'meta', 'moov', 'dinf', 'zzzz']) {
      expect(parseInitSegment(moovWith(nested(type, 50_000))).map((t) => t.entry.codecId)).toEqual(['V_MPEG4/ISO/AVC', 'A_AAC']);
    }
    // Nested traks: the outer one has no tkhd/mdia left, which is invalid (4006 at ingest).
    expect(mp4ErrorOf(() => parseInitSegment(moovWith(nested('trak', 50_000))))?.kind).toBe('invalid');
    // Nesting along the kept path (edts in edts) is dropped below the schema.
    const trakWithDeepEdts = box('trak', nested('edts', 50_000));
    expect(mp4ErrorOf(() => parseInitSegment(moovWith(trakWithDeepEdts)))?.kind).toBe('invalid');
  });

  it('through the streaming converter too, and fast', () => {
    const ftyp = box('ftyp', Buffer.from('iso6\0\0\0\0iso6', 'latin1'));
    const started = Date.now();
    const out: Buffer[] = [];
    new Fmp4ToMkv().push(Buffer.concat([ftyp, moovWith(nested('udta', 100_000))]), out);
    expect(out.length).toBeGreaterThan(0); // the MKV header for the moov's tracks
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('bad sizes inside the moov are invalid, and an unsupported sample entry is still named', () => {
    const overflow = Buffer.from(box('udta', Buffer.alloc(4)));
    overflow.writeUInt32BE(1000, 0);
    expect(mp4ErrorOf(() => pruneMoov(moovWith(overflow)))?.message).toMatch(/bad size 1000/);
    const moov = validMoov();
    const i = moov.indexOf(Buffer.from('avc1'));
    const vp09 = Buffer.from(moov);
    vp09.write('vp09', i, 'latin1');
    expect(mp4ErrorOf(() => parseInitSegment(vp09))).toMatchObject({ kind: 'unsupported', message: expect.stringMatching(/'vp09'/) });
  });
});
