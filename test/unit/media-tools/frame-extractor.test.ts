import { describe, expect, it } from 'vitest';
import { extractFrames, frameExtractionArgs, jpegQscale } from '../../../src/media-tools/frame-extractor.ts';
import { remuxToMkvArgs, spawnFfmpeg } from '../../../src/media-tools/ffmpeg.ts';
import { imageSize, splitImages } from '../../../src/media-tools/image-stream.ts';
import { makeH264Mkv } from '../../support/media.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');

/** A structurally valid JPEG whose table data contains FF D9 and whose scan has stuffing and RST. */
const fakeJpeg = (fill: string) =>
  hex(`ffd8 ffdb0006 00ffd9ff ffc0000b 08 0002 0003 01 011100 ffda0008 01 0100 003f00 ${fill} ff00 12 ffd3 34 ffd9`);

describe('splitImages', () => {
  it('splits back-to-back JPEGs by marker structure, not by the first FF D9 bytes', () => {
    const a = fakeJpeg('aa');
    const b = fakeJpeg('bbbb');
    const parts = splitImages('jpeg', Buffer.concat([a, b, a]));
    expect(parts.map((p) => p.length)).toEqual([a.length, b.length, a.length]);
    expect(parts[1]!.equals(b)).toBe(true);
    expect(imageSize(a)).toEqual({ width: 3, height: 2 });
  });
  it('splits back-to-back PNGs at IEND', () => {
    const png = hex('89504e470d0a1a0a 0000000d 49484452 00000050 0000003c 0802000000 00000000 00000000 49454e44 ae426082');
    const parts = splitImages('png', Buffer.concat([png, png]));
    expect(parts).toHaveLength(2);
    expect(imageSize(parts[0]!)).toEqual({ width: 80, height: 60 });
  });
  it('rejects truncated or foreign data', () => {
    expect(() => splitImages('jpeg', fakeJpeg('aa').subarray(0, 20))).toThrow(/truncated/);
    expect(() => splitImages('png', Buffer.from('not a png'))).toThrow(/PNG/);
  });
});

describe('frameExtractionArgs / jpegQscale', () => {
  it('maps KVS quality 1..100 onto qscale 31..2', () => {
    expect([1, 80, 100].map(jpegQscale)).toEqual([31, 8, 2]);
  });
  it('selects exact frame times on the stored timeline and scales', () => {
    const args = frameExtractionArgs({ input: [], framePtsMs: [1000, 1040], format: 'png', height: 60 });
    expect(args).toContain('-copyts');
    expect(args[args.indexOf('-vf') + 1]).toBe("select='lt(abs(t-1.000000),0.0005)+lt(abs(t-1.040000),0.0005)',scale=-1:60");
    expect(args.slice(-4)).toEqual(['rgb24', '-f', 'image2pipe', 'pipe:1']);
  });
});

describe('extractFrames (real ffmpeg)', () => {
  it('decodes one fragment once and returns only the asked-for frames, sized and encoded', async () => {
    const file = await makeH264Mkv({ seconds: 2, fps: 10, gop: 10, size: '320x240' });
    const proc = spawnFfmpeg(remuxToMkvArgs(file), { stdout: 'pipe' });
    const chunks: Buffer[] = [];
    for await (const c of proc.stdout! as AsyncIterable<Buffer>) chunks.push(c);
    await proc.exited;
    const mkv = Buffer.concat(chunks);
    const cluster = Buffer.from([0x1f, 0x43, 0xb6, 0x75]);
    const first = mkv.indexOf(cluster);
    const second = mkv.indexOf(cluster, first + 4);
    const input = [mkv.subarray(0, first), mkv.subarray(first, second)];

    const jpegs = await extractFrames({ input, framePtsMs: [0, 500, 900], format: 'jpeg', jpegQuality: 90, width: 100, height: 50 });
    expect(jpegs).toHaveLength(3);
    for (const j of jpegs) expect(imageSize(j)).toEqual({ width: 100, height: 50 });
    expect(new Set(jpegs.map((j) => j.toString('hex'))).size).toBe(3);

    const pngs = await extractFrames({ input, framePtsMs: [300], format: 'png', width: 160 });
    expect(pngs.map(imageSize)).toEqual([{ width: 160, height: 120 }]);

    // A time with no frame in this fragment yields no image (the caller reports MEDIA_ERROR).
    expect(await extractFrames({ input, framePtsMs: [100, 1500], format: 'jpeg' })).toHaveLength(1);
  });
});
