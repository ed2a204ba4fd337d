/**
 * Playback of a stream whose video has B-frames and whose timecodes start at 0 (RELATIVE
 * timecodes, or an ffmpeg producer's ABSOLUTE ones): the first fragment's decode times are
 * negative (dts = pts − reorder delay). HLS fMP4 / MPEG-TS, DASH and GetClip must still decode
 * every frame.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateStreamCommand, KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import {
  GetClipCommand,
  GetDASHStreamingSessionURLCommand,
  GetHLSStreamingSessionURLCommand,
  KinesisVideoArchivedMediaClient,
  type ContainerFormat,
} from '@aws-sdk/client-kinesis-video-archived-media';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countFrames } from '../../src/media-tools/ffmpeg.ts';
import { parseMoof } from '../../src/mp4/moof-parser.ts';
import { PEOPLE_MKV } from '../support/analyze-helpers.ts';
import { mediaPlaylistUrl, text } from '../support/playlists.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';

let srv: TestServer;
let kvam: KinesisVideoArchivedMediaClient;
let tmp: string;
const FRAMES = 30;
/** A realistic producer start (RELATIVE) and the ffmpeg case (ABSOLUTE timecodes from 0). */
const START_MS = Date.UTC(2024, 0, 1, 12);
const range = { StartTimestamp: new Date(START_MS - 1000), EndTimestamp: new Date(START_MS + 10_000) };
const zeroRange = { StartTimestamp: new Date(0), EndTimestamp: new Date(10_000) };

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-bframes-'));
  srv = await startTestServer();
  kvam = new KinesisVideoArchivedMediaClient(sdkConfig(srv.url));
  const kv = new KinesisVideoClient(sdkConfig(srv.url));
  const mkv = fs.readFileSync(PEOPLE_MKV);
  for (const [name, headers] of [
    ['rel', { 'x-amzn-fragment-timecode-type': 'RELATIVE', 'x-amzn-producer-start-timestamp': (START_MS / 1000).toFixed(3) }],
    ['abs', { 'x-amzn-fragment-timecode-type': 'ABSOLUTE' }],
  ] as const) {
    await kv.send(new CreateStreamCommand({ StreamName: name, DataRetentionInHours: 24 }));
    const res = await rawPutMedia(srv.url, name, [mkv], headers);
    expect(res.acks.filter((a) => a.EventType === 'ERROR')).toEqual([]);
    expect(res.acks.filter((a) => a.EventType === 'PERSISTED').length).toBeGreaterThanOrEqual(2);
  }
  kv.destroy();
});
afterAll(async () => {
  await srv?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The samples of a media segment (moof first), from the ingest-side moof parser. */
function moofSamples(segment: Buffer) {
  return parseMoof(segment.subarray(0, segment.readUInt32BE(0)), 0, {
    defaults: () => ({ sampleDescriptionIndex: 1, duration: 0, size: 0, flags: 0 }),
    nextDecodeTime: () => 0,
  });
}

const cases = [
  { stream: 'rel', selector: 'PRODUCER_TIMESTAMP', range },
  { stream: 'abs', selector: 'PRODUCER_TIMESTAMP', range: zeroRange },
] as const;

describe.each(cases)('B-frames from t=0 ($stream)', ({ stream, selector, range: r }) => {
  const hls = async (format: ContainerFormat) =>
    (await kvam.send(new GetHLSStreamingSessionURLCommand({
      StreamName: stream, PlaybackMode: 'ON_DEMAND', ContainerFormat: format,
      HLSFragmentSelector: { FragmentSelectorType: selector, TimestampRange: r },
    }))).HLSStreamingSessionURL!;

  it('fMP4 HLS: every segment has tfdt ≥ 0, decode times join up, and every frame decodes', async () => {
    const url = await hls('FRAGMENTED_MP4');
    const media = await text(mediaPlaylistUrl(await text(url), url));
    let expectedStart: number | undefined;
    for (const line of media.split('\n').filter((l) => l.startsWith('getMP4MediaFragment'))) {
      const res = await fetch(new URL(line, url));
      expect(res.status).toBe(200);
      const seg = Buffer.from(await res.arrayBuffer());
      const video = moofSamples(seg);
      expect(video[0]!.dts).toBeGreaterThanOrEqual(0);
      expect(video.every((s) => s.dts + s.cts >= 0 && s.duration >= 0)).toBe(true);
      // Segments never overlap in decode time. They join exactly while the GOP structure stays the
      // same; demux-mkv derives each fragment's reorder delay from that fragment alone, so the last
      // fragment of this file (shallower reordering) starts up to a frame later.
      if (expectedStart === undefined) expect([video[0]!.dts, video[0]!.cts]).toEqual([0, 0]);
      else expect(video[0]!.dts - expectedStart).toBeGreaterThanOrEqual(0);
      if (expectedStart !== undefined) expect(video[0]!.dts - expectedStart).toBeLessThanOrEqual(9000);
      expectedStart = video.at(-1)!.dts + video.at(-1)!.duration;
    }
    expect((await countFrames(url, 'frames')).video).toBe(FRAMES);
  });

  it('MPEG-TS HLS decodes every frame', async () => {
    expect((await countFrames(await hls('MPEG_TS'), 'frames')).video).toBe(FRAMES);
  });

  // ffmpeg 5.1's DASH demuxer reads a single-Representation SegmentList unreliably (it skips a
  // segment, or truncates long URLs), with or without B-frames: fetch what the MPD lists instead.
  it('DASH: SegmentTimeline t is each segment\'s earliest presentation time, and the segments decode every frame', async () => {
    const out = await kvam.send(new GetDASHStreamingSessionURLCommand({
      StreamName: stream, PlaybackMode: 'ON_DEMAND',
      DASHFragmentSelector: { FragmentSelectorType: selector, TimestampRange: r },
    }));
    const url = out.DASHStreamingSessionURL!;
    const mpd = await text(url);
    const attr = (re: RegExp) => [...mpd.matchAll(re)].map((m) => m[1]!.replace(/&amp;/g, '&'));
    const times = attr(/<S t="(\d+)"/g).map(Number);
    const [init] = attr(/<Initialization sourceURL="([^"]+)"/g);
    const parts = [Buffer.from(await (await fetch(new URL(init!, url))).arrayBuffer())];
    const segments = attr(/<SegmentURL media="([^"]+)"/g);
    expect(segments).toHaveLength(times.length);
    for (const [i, uri] of segments.entries()) {
      const res = await fetch(new URL(uri, url));
      expect(res.status).toBe(200);
      const seg = Buffer.from(await res.arrayBuffer());
      const earliest = Math.min(...moofSamples(seg).map((x) => x.dts + x.cts));
      expect(earliest / 90).toBe(times[i]);
      parts.push(seg);
    }
    const file = path.join(tmp, `${stream}-dash.mp4`);
    fs.writeFileSync(file, Buffer.concat(parts));
    expect((await countFrames(file, 'frames')).video).toBe(FRAMES);
  });

  it('GetClip decodes every frame', async () => {
    const out = await kvam.send(new GetClipCommand({
      StreamName: stream, ClipFragmentSelector: { FragmentSelectorType: selector, TimestampRange: r },
    }));
    const file = path.join(tmp, `${stream}.mp4`);
    fs.writeFileSync(file, await out.Payload!.transformToByteArray());
    expect((await countFrames(file, 'frames')).video).toBe(FRAMES);
  });
});
