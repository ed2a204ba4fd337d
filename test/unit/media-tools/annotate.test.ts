import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { annotateFrame, annotateJpeg, buildAnnotateArgs, buildAnnotateFilter, buildSnapshotPairArgs, encodeSnapshotPair, findFont, sanitizeLabel } from '../../../src/media-tools/annotate.ts';
import { splitJpegs } from '../../../src/media-tools/jpeg.ts';
import { probe } from '../../../src/media-tools/ffmpeg.ts';
import { imageSize } from '../../../src/media-tools/image-stream.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A 320x240 grey rgb24 frame with a darker band, as raw bytes. */
function rawFrame(): Buffer {
  const w = 320;
  const h = 240;
  const buf = Buffer.alloc(w * h * 3, 128);
  for (let y = 100; y < 140; y++) buf.fill(40, y * w * 3, (y + 1) * w * 3);
  return buf;
}

describe('annotate filter building', () => {
  it('draws boxes and labels only with a usable font', () => {
    const boxes = [{ x: 10.4, y: 30, width: 50, height: 80, label: "person 0.91 ':[x]" }];
    expect(buildAnnotateFilter(boxes, undefined)).toBe('drawbox=x=10:y=30:w=50:h=80:color=red:t=3');
    const withFont = buildAnnotateFilter(boxes, '/f.ttf');
    expect(withFont).toContain("drawtext=fontfile='/f.ttf':text='person 0.91 x':x=10:y=8");
    expect(buildAnnotateFilter([], undefined)).toBe('null');
    expect(buildAnnotateFilter([{ x: 0, y: 0, width: 1, height: 1, color: 'red;evil' }], undefined)).toContain('color=red:');
    expect(sanitizeLabel("a'b:c,d%")).toBe('abcd');
    expect(findFont('/nonexistent.ttf')).toBe(findFont());
    expect(buildAnnotateArgs({ kind: 'raw', data: Buffer.alloc(0), width: 4, height: 2 }, 'null')).toEqual(
      expect.arrayContaining(['-f', 'rawvideo', '-s', '4x2', '-pix_fmt', 'rgb24']),
    );
  });
});

describe('annotateFrame (ffmpeg)', () => {
  it('encodes a raw frame to a clean JPEG and draws boxes onto it', async () => {
    const clean = await annotateFrame({ kind: 'raw', data: rawFrame(), width: 320, height: 240 }, []);
    expect(imageSize(clean)).toEqual({ width: 320, height: 240 });
    const boxes = [{ x: 40, y: 40, width: 100, height: 150, label: 'person 0.93' }];
    const annotated = await annotateJpeg(clean, boxes);
    const boxesOnly = await annotateJpeg(clean, boxes, { fontFile: false });
    expect(annotated.equals(clean)).toBe(false);
    expect(imageSize(annotated)).toEqual({ width: 320, height: 240 });
    expect(boxesOnly.equals(clean)).toBe(false);
    // With a font the label is drawn too, so the result differs from boxes only.
    if (findFont() !== undefined) expect(annotated.equals(boxesOnly)).toBe(false);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kestrel-annotate-'));
    dirs.push(dir);
    const file = path.join(dir, 'a.jpg');
    await writeFile(file, annotated);
    const info = await probe(file);
    expect(info.streams[0]).toMatchObject({ type: 'video', codec: 'mjpeg', width: 320, height: 240 });
  });

  it('makes the clean and the annotated JPEG in one run, scaled, boxes only on the second', async () => {
    const boxes = [{ x: 80, y: 80, width: 200, height: 300, label: 'person 93%' }];
    const args = buildSnapshotPairArgs({ kind: 'raw', data: Buffer.alloc(0), width: 320, height: 240 }, boxes, { outWidth: 640, outHeight: 480, fontFile: false });
    expect(args[args.indexOf('-vf') + 1]).toBe('scale=640:480,loop=loop=1:size=1:start=0,drawbox=x=80:y=80:w=200:h=300:color=red:t=3:enable=n');
    const pair = await encodeSnapshotPair({ kind: 'raw', data: rawFrame(), width: 320, height: 240 }, boxes, { outWidth: 640, outHeight: 480 });
    expect(imageSize(pair.clean)).toEqual({ width: 640, height: 480 });
    expect(imageSize(pair.annotated)).toEqual({ width: 640, height: 480 });
    expect(pair.annotated.equals(pair.clean)).toBe(false);
    // The clean one is the plain frame: the same as encoding it on its own.
    const alone = await annotateFrame({ kind: 'raw', data: rawFrame(), width: 320, height: 240 }, []);
    expect(splitJpegs(Buffer.concat([alone, pair.clean, pair.annotated]))).toHaveLength(3);
    expect(() => splitJpegs(pair.clean.subarray(0, pair.clean.length - 10))).toThrow();
  });

  it('rejects input that is not an image', async () => {
    await expect(annotateJpeg(Buffer.from('not a jpeg'), [])).rejects.toThrow();
  });
});
