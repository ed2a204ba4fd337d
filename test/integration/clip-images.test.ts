import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  GetClipCommand,
  GetImagesCommand,
  KinesisVideoArchivedMediaClient,
  ListFragmentsCommand,
  type GetImagesCommandInput,
  type Image,
} from '@aws-sdk/client-kinesis-video-archived-media';
import { CreateStreamCommand, KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countFrames, probe, remuxToMkvArgs, spawnFfmpeg } from '../../src/media-tools/ffmpeg.ts';
import { imageSize } from '../../src/media-tools/image-stream.ts';
import { makeH264Mkv } from '../support/media.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';
import { expectKvsError } from '../support/kvs-sdk.ts';

/** Producer clock of the first push (RELATIVE timecodes + start timestamp, like real producers). */
const T0 = 1_700_000_000_000;
/** A second push 20 s later leaves a gap from ~T0+6 s to T0+20 s. */
const T1 = T0 + 20_000;
const at = (ms: number) => new Date(ms);

let srv: TestServer;
let archive: KinesisVideoArchivedMediaClient;
let live: Buffer;
let pushed: { video: number; audio: number };
let tmp: string;

async function liveMkv(file: string): Promise<Buffer> {
  const proc = spawnFfmpeg(remuxToMkvArgs(file), { stdout: 'pipe' });
  const chunks: Buffer[] = [];
  for await (const c of proc.stdout! as AsyncIterable<Buffer>) chunks.push(c);
  expect(await proc.exited).toEqual({ code: 0, signal: null });
  return Buffer.concat(chunks);
}

async function push(url: string, stream: string, startMs: number): Promise<void> {
  const res = await rawPutMedia(url, stream, [live], {
    'x-amzn-fragment-timecode-type': 'RELATIVE',
    'x-amzn-producer-start-timestamp': (startMs / 1000).toFixed(3),
  });
  expect(res.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(6);
}

async function setup(url: string, streams: Array<{ name: string; retention: number }>) {
  const kv = new KinesisVideoClient(sdkConfig(url));
  for (const s of streams) await kv.send(new CreateStreamCommand({ StreamName: s.name, DataRetentionInHours: s.retention }));
  return new KinesisVideoArchivedMediaClient(sdkConfig(url));
}

async function getClip(client: KinesisVideoArchivedMediaClient, startMs: number, endMs: number, stream = 'cam') {
  const out = await client.send(new GetClipCommand({
    StreamName: stream,
    ClipFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: at(startMs), EndTimestamp: at(endMs) } },
  }));
  expect(out.ContentType).toBe('video/mp4');
  const bytes = Buffer.from(await out.Payload!.transformToByteArray());
  const file = path.join(tmp, `clip-${startMs}-${endMs}-${Math.random().toString(36).slice(2)}.mp4`);
  fs.writeFileSync(file, bytes);
  return { bytes, file };
}

const imagesInput = (over: Partial<GetImagesCommandInput> = {}): GetImagesCommandInput => ({
  StreamName: 'cam',
  ImageSelectorType: 'PRODUCER_TIMESTAMP',
  StartTimestamp: at(T0),
  EndTimestamp: at(T0 + 5000),
  SamplingInterval: 1000,
  Format: 'JPEG',
  ...over,
});

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-clip-'));
  const source = await makeH264Mkv({ seconds: 6, fps: 25, gop: 25, audio: true, bframes: 0 });
  pushed = await countFrames(source, 'packets');
  expect(pushed.video).toBe(150);
  live = await liveMkv(source);
  srv = await startTestServer();
  archive = await setup(srv.url, [{ name: 'cam', retention: 24 }, { name: 'cold', retention: 0 }]);
  await push(srv.url, 'cam', T0);
  await push(srv.url, 'cam', T1);
});
afterAll(async () => {
  await srv?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('GetClip through the AWS SDK', () => {
  it('returns a fragmented MP4 of the whole range that ffprobe reads: 6 s, every pushed frame', async () => {
    const { bytes, file } = await getClip(archive, T0, T0 + 6000);
    expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
    expect(bytes.includes(Buffer.from('moof'))).toBe(true);
    const info = await probe(file);
    expect(info.format).toContain('mp4');
    expect(info.streams.map((s) => s.codec).sort()).toEqual(['aac', 'h264']);
    expect(Math.abs(info.durationSec! - 6)).toBeLessThanOrEqual(0.1);
    expect(await countFrames(file, 'frames')).toEqual(pushed);
  });

  it('a sub-range gives the whole fragments that start inside it', async () => {
    const [from, to] = [T0 + 1500, T0 + 3500];
    const listed = await archive.send(new ListFragmentsCommand({
      StreamName: 'cam',
      FragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: at(from), EndTimestamp: at(to) } },
    }));
    expect(listed.Fragments).toHaveLength(2);
    const { file } = await getClip(archive, from, to);
    expect((await countFrames(file, 'frames')).video).toBe(50);
    expect(Math.abs((await probe(file)).durationSec! - 2)).toBeLessThanOrEqual(0.1);
  });

  it('SERVER_TIMESTAMP keeps a burst upload whole (server times closer together than fragment lengths)', async () => {
    const listed = await archive.send(new ListFragmentsCommand({
      StreamName: 'cam',
      FragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: at(T0), EndTimestamp: at(T0 + 6000) } },
    }));
    const server = listed.Fragments!.map((f) => f.ServerTimestamp!.getTime()).sort((a, b) => a - b);
    expect(server).toHaveLength(6);
    const out = await archive.send(new GetClipCommand({
      StreamName: 'cam',
      ClipFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: at(server[0]!), EndTimestamp: at(server[5]! + 1) } },
    }));
    const file = path.join(tmp, 'server.mp4');
    fs.writeFileSync(file, await out.Payload!.transformToByteArray());
    expect((await countFrames(file, 'frames')).video).toBe(150);
    const images = await archive.send(new GetImagesCommand(imagesInput({ ImageSelectorType: 'SERVER_TIMESTAMP', StartTimestamp: at(server[0]!), EndTimestamp: at(server[0]! + 1), SamplingInterval: undefined })));
    expect(images.Images![0]!.ImageContent).toBeTruthy();
  });

  it('rejects bad ranges, empty ranges and streams without retention like KVS', async () => {
    await expectKvsError(getClip(archive, T0 + 5000, T0 + 5000), 'InvalidArgumentException', 400);
    await expectKvsError(getClip(archive, T0, T0 + 25 * 3600_000), 'InvalidArgumentException', 400);
    await expectKvsError(getClip(archive, T0 - 60_000, T0 - 30_000), 'ResourceNotFoundException', 404);
    await expectKvsError(getClip(archive, T0, T0 + 6000, 'cold'), 'NoDataRetentionException', 400);
    await expectKvsError(getClip(archive, T0, T0 + 6000, 'missing'), 'ResourceNotFoundException', 404);
  });

  it('truncates at the configured fragment limit (clipMaxFragments)', async () => {
    const small = await startTestServer({ clipMaxFragments: 2 });
    try {
      const client = await setup(small.url, [{ name: 'cam', retention: 1 }]);
      await push(small.url, 'cam', T0);
      const { file } = await getClip(client, T0, T0 + 6000);
      expect((await countFrames(file, 'frames')).video).toBe(50);
    } finally {
      await small.close();
    }
  });

  it('truncates before the fragment that would pass the byte limit (clipMaxBytes)', async () => {
    // Fragment MKV sizes bound their MP4 sizes from above (less framing), so this fits two, not three.
    const listed = await archive.send(new ListFragmentsCommand({
      StreamName: 'cam',
      FragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: at(T0), EndTimestamp: at(T0 + 6000) } },
    }));
    const sizes = listed.Fragments!.sort((a, b) => a.ProducerTimestamp!.getTime() - b.ProducerTimestamp!.getTime()).map((f) => f.FragmentSizeInBytes!);
    const small = await startTestServer({ clipMaxBytes: sizes[0]! + sizes[1]! + Math.floor(sizes[2]! / 4) });
    try {
      const client = await setup(small.url, [{ name: 'cam', retention: 1 }]);
      await push(small.url, 'cam', T0);
      const { file } = await getClip(client, T0, T0 + 6000);
      expect((await countFrames(file, 'frames')).video).toBe(50);
    } finally {
      await small.close();
    }
  });
});

describe('GetImages through the AWS SDK', () => {
  const decodeAll = (images: Image[]) => images.map((i) => Buffer.from(i.ImageContent ?? '', 'base64'));

  it('JPEG every 1000 ms over 5 s: 6 images of the requested size, one per instant', async () => {
    const out = await archive.send(new GetImagesCommand(imagesInput({ WidthPixels: 160, HeightPixels: 100, FormatConfig: { JPEGQuality: '60' } })));
    const images = out.Images!;
    expect(out.NextToken).toBeUndefined();
    expect(images.map((i) => i.TimeStamp!.getTime())).toEqual([0, 1, 2, 3, 4, 5].map((k) => T0 + k * 1000));
    expect(images.every((i) => i.Error === undefined && i.ImageContent)).toBe(true);
    const jpegs = decodeAll(images);
    for (const jpeg of jpegs) {
      expect(jpeg.subarray(0, 2).toString('hex')).toBe('ffd8');
      expect(imageSize(jpeg)).toEqual({ width: 160, height: 100 });
    }
    // testsrc2 moves: different instants show different pictures.
    expect(new Set(jpegs.map((j) => j.toString('base64'))).size).toBe(6);
  });

  it('PNG with only HeightPixels keeps the aspect ratio; no interval gives one image at the start', async () => {
    const png = await archive.send(new GetImagesCommand(imagesInput({ Format: 'PNG', HeightPixels: 60 })));
    expect(png.Images).toHaveLength(6);
    for (const img of decodeAll(png.Images!)) {
      expect(img.subarray(1, 4).toString('latin1')).toBe('PNG');
      expect(imageSize(img)).toEqual({ width: 80, height: 60 });
    }
    const one = await archive.send(new GetImagesCommand(imagesInput({ SamplingInterval: undefined })));
    expect(one.Images).toHaveLength(1);
    expect(imageSize(decodeAll(one.Images!)[0]!)).toEqual({ width: 320, height: 240 });
  });

  it('paginates with MaxResults 2: the NextToken round trip yields every instant once', async () => {
    const pages: Image[][] = [];
    let NextToken: string | undefined;
    do {
      const out = await archive.send(new GetImagesCommand(imagesInput({ MaxResults: 2, WidthPixels: 64, HeightPixels: 48, ...(NextToken ? { NextToken } : {}) })));
      pages.push(out.Images!);
      NextToken = out.NextToken;
    } while (NextToken);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 2]);
    expect(pages.flat().map((i) => i.TimeStamp!.getTime())).toEqual([0, 1, 2, 3, 4, 5].map((k) => T0 + k * 1000));
    expect(pages.flat().every((i) => i.ImageContent)).toBe(true);
  });

  it('instants in a gap between fragments are NO_MEDIA', async () => {
    const out = await archive.send(new GetImagesCommand(imagesInput({ StartTimestamp: at(T0 + 4000), EndTimestamp: at(T1 + 2000), SamplingInterval: 2000, WidthPixels: 64, HeightPixels: 48 })));
    const byTime = new Map(out.Images!.map((i) => [i.TimeStamp!.getTime() - T0, i]));
    expect(out.Images).toHaveLength(10);
    for (const ms of [4000, 20_000, 22_000]) expect(byTime.get(ms)?.ImageContent).toBeTruthy();
    for (const ms of [8000, 10_000, 12_000, 14_000, 16_000, 18_000]) expect(byTime.get(ms)?.Error).toBe('NO_MEDIA');
  });

  it('rejects a range over 300 s, a short interval, a bad quality, and streams without retention', async () => {
    await expectKvsError(archive.send(new GetImagesCommand(imagesInput({ EndTimestamp: at(T0 + 301_000) }))), 'InvalidArgumentException', 400);
    await expectKvsError(archive.send(new GetImagesCommand(imagesInput({ SamplingInterval: 100 }))), 'InvalidArgumentException', 400);
    await expectKvsError(archive.send(new GetImagesCommand(imagesInput({ FormatConfig: { JPEGQuality: '0' } }))), 'InvalidArgumentException', 400);
    await expectKvsError(archive.send(new GetImagesCommand(imagesInput({ StreamName: 'cold' }))), 'NoDataRetentionException', 400);
  });
});
