/**
 * HLS / DASH playback through the real AWS SDK and real players (ffmpeg/ffprobe): ON_DEMAND in
 * fMP4, MPEG-TS and DASH decodes exactly the pushed frames; LIVE and LIVE_REPLAY follow a stream
 * being pushed; tokens, validation and error names. LL-HLS: ll-hls.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CreateStreamCommand, DeleteStreamCommand, DescribeStreamCommand, KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import {
  GetDASHStreamingSessionURLCommand,
  GetHLSStreamingSessionURLCommand,
  KinesisVideoArchivedMediaClient,
  type GetHLSStreamingSessionURLCommandInput,
} from '@aws-sdk/client-kinesis-video-archived-media';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSessionToken, encodeSessionToken } from '../../src/hls/session-token.ts';
import { countFrames, runFfmpeg, runFfprobeJson, spawnFfmpeg, type FrameCount } from '../../src/media-tools/ffmpeg.ts';
import { expectKvsError } from '../support/kvs-sdk.ts';
import { makeH264Mkv } from '../support/media.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { pieces } from '../support/synthetic-mkv.ts';
import { mediaPlaylistUrl, parsePlaylist, text } from '../support/playlists.ts';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';
import { presignedPutMediaUrl } from '../support/auth.ts';
import { eventually } from '../support/wait.ts';

let srv: TestServer;
let kv: KinesisVideoClient;
let kvam: KinesisVideoArchivedMediaClient;
let source: string;
let pushed: FrameCount;
let range: { StartTimestamp: Date; EndTimestamp: Date };


function ffmpegLivePush(file: string, stream: string) {
  return [
    '-re', '-i', file, '-c', 'copy', '-f', 'matroska', '-cluster_size_limit', '10M', '-cluster_time_limit', '10000',
    '-method', 'POST', '-headers', `x-amzn-stream-name: ${stream}\r\nx-amzn-fragment-timecode-type: ABSOLUTE\r\n`,
    presignedPutMediaUrl(srv.url, stream),
  ];
}

async function hlsUrl(input: Omit<GetHLSStreamingSessionURLCommandInput, 'StreamName'> & { StreamName?: string }): Promise<string> {
  const out = await kvam.send(new GetHLSStreamingSessionURLCommand({ StreamName: 'vod', ...input }));
  return out.HLSStreamingSessionURL!;
}

beforeAll(async () => {
  srv = await startTestServer();
  kv = new KinesisVideoClient(sdkConfig(srv.url));
  kvam = new KinesisVideoArchivedMediaClient(sdkConfig(srv.url));
  source = await makeH264Mkv({ seconds: 6, fps: 25, gop: 25, audio: true, bframes: 0 });
  pushed = await countFrames(source, 'frames');
  await kv.send(new CreateStreamCommand({ StreamName: 'vod', DataRetentionInHours: 24 }));
  const start = new Date(Date.now() - 1000);
  // ffmpeg without -re can be reset before its last bytes are read; a plain HTTP push is deterministic.
  const put = await rawPutMedia(srv.url, 'vod', pieces(fs.readFileSync(source), 64 * 1024));
  expect(put.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(6);
  range = { StartTimestamp: start, EndTimestamp: new Date() };
});
afterAll(async () => {
  await srv?.close();
});

describe('ON_DEMAND', () => {
  it('fMP4 HLS decodes exactly the pushed frames', async () => {
    expect(pushed.video).toBe(150);
    const url = await hlsUrl({ PlaybackMode: 'ON_DEMAND', HLSFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: range } });
    expect(url).toMatch(new RegExp(`^${srv.url}/hls/v1/getHLSMasterPlaylist\\.m3u8\\?SessionToken=[A-Za-z0-9_.-]+$`));
    const master = await text(url);
    expect(master).toMatch(/#EXT-X-STREAM-INF:.*CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2",RESOLUTION=320x240/);
    const media = await text(mediaPlaylistUrl(master, url));
    expect(media).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(media).toContain('#EXT-X-ENDLIST');
    expect(media.match(/^#EXTINF:/gm)).toHaveLength(6);
    expect(media).toContain('#EXT-X-MAP:URI="getMP4InitFragment.mp4?SessionToken=');
    expect(await countFrames(url, 'frames')).toEqual(pushed);
  });

  it('MPEG-TS HLS decodes exactly the pushed frames', async () => {
    const url = await hlsUrl({ PlaybackMode: 'ON_DEMAND', ContainerFormat: 'MPEG_TS', DisplayFragmentTimestamp: 'ALWAYS', HLSFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: range } });
    const media = await text(mediaPlaylistUrl(await text(url), url));
    expect(media).toContain('getTSFragment.ts?FragmentNumber=');
    expect(media.match(/^#EXT-X-PROGRAM-DATE-TIME:/gm)).toHaveLength(6);
    expect(await countFrames(url, 'frames')).toEqual(pushed);
  });

  it('DASH decodes exactly the pushed frames', async () => {
    const out = await kvam.send(new GetDASHStreamingSessionURLCommand({
      StreamName: 'vod', PlaybackMode: 'ON_DEMAND', DisplayFragmentNumber: 'ALWAYS', DisplayFragmentTimestamp: 'ALWAYS',
      DASHFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: range },
    }));
    const url = out.DASHStreamingSessionURL!;
    expect(url).toMatch(new RegExp(`^${srv.url}/dash/v1/getDASHManifest\\.mpd\\?SessionToken=`));
    const res = await fetch(url);
    expect(res.headers.get('content-type')).toBe('application/dash+xml');
    const mpd = await res.text();
    expect(mpd).toContain('type="static"');
    expect(mpd.match(/<AdaptationSet /g)).toHaveLength(2);
    expect(mpd.match(/<S /g)).toHaveLength(12);
    expect(mpd).toMatch(/kvs:fn="\d{47}"/);
    expect((await countFrames(url, 'frames')).video).toBe(pushed.video);
    // ffmpeg's DASH demuxer ends at the first representation's EOF, dropping audio that outlasts the
    // video by a frame; read the audio AdaptationSet alone to count all of it.
    const audio = await runFfprobeJson(['-select_streams', 'a', '-count_frames', '-show_entries', 'stream=nb_read_frames', url]);
    expect(Number((audio.streams as Array<{ nb_read_frames: string }>)[0]!.nb_read_frames)).toBe(pushed.audio);
  });

  it('serves the right content types, CORS and caching', async () => {
    const url = await hlsUrl({ PlaybackMode: 'ON_DEMAND', HLSFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: range } });
    const res = await fetch(url, { headers: { origin: 'http://player.example' } });
    expect(res.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const media = await text(mediaPlaylistUrl(await res.text(), url));
    const seg = new URL(media.split('\n').find((l) => l.startsWith('getMP4MediaFragment'))!, url);
    const segRes = await fetch(seg);
    expect(segRes.headers.get('content-type')).toBe('video/mp4');
    expect(segRes.headers.get('cache-control')).toContain('max-age');
    const bytes = Buffer.from(await segRes.arrayBuffer());
    expect(bytes.subarray(4, 8).toString()).toBe('moof');
    const preflight = await fetch(`${srv.url}/getHLSStreamingSessionURL`, { method: 'OPTIONS', headers: { origin: 'http://x', 'access-control-request-headers': 'content-type' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toBe('content-type');
  });
});

describe('session errors', () => {
  const onDemand = () => ({ PlaybackMode: 'ON_DEMAND' as const, HLSFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP' as const, TimestampRange: range } });

  it('validates requests like KVS', async () => {
    const bad: Array<Partial<GetHLSStreamingSessionURLCommandInput>> = [
      { ...onDemand(), Expires: 299 },
      { ...onDemand(), Expires: 43_201 },
      { ...onDemand(), MaxMediaPlaylistFragmentResults: 5001 },
      { ...onDemand(), MaxMediaPlaylistFragmentResults: 0 },
      { PlaybackMode: 'ON_DEMAND' },
      { PlaybackMode: 'ON_DEMAND', HLSFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: range.StartTimestamp } } },
      { PlaybackMode: 'LIVE', HLSFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: range } },
      { PlaybackMode: 'ON_DEMAND', HLSFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: new Date(0), EndTimestamp: new Date(25 * 3600_000) } } },
      { PlaybackMode: 'ON_DEMAND', HLSFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: range.EndTimestamp, EndTimestamp: range.StartTimestamp } } },
      { ...onDemand(), PlaybackMode: 'BOGUS' as never },
      { ...onDemand(), ContainerFormat: 'MKV' as never },
      { ...onDemand(), DiscontinuityMode: 'SOMETIMES' as never },
    ];
    for (const input of bad) await expectKvsError(hlsUrl(input), 'InvalidArgumentException', 400);
  });

  it('ResourceNotFound for unknown streams, empty ranges and idle LIVE; NoDataRetention for retention 0', async () => {
    await expectKvsError(hlsUrl({ StreamName: 'nope', ...onDemand() }), 'ResourceNotFoundException', 404);
    const past = { StartTimestamp: new Date(Date.now() - 7200_000), EndTimestamp: new Date(Date.now() - 3600_000) };
    const err = await expectKvsError(
      hlsUrl({ PlaybackMode: 'ON_DEMAND', HLSFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: past } }),
      'ResourceNotFoundException',
      404,
    );
    expect(err.message).toBe('No fragments found in the stream for the streaming request.');
    await expectKvsError(hlsUrl({ PlaybackMode: 'LIVE_REPLAY', HLSFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: past } }), 'ResourceNotFoundException', 404);
    await kv.send(new CreateStreamCommand({ StreamName: 'idle', DataRetentionInHours: 24 }));
    await expectKvsError(hlsUrl({ StreamName: 'idle', PlaybackMode: 'LIVE' }), 'ResourceNotFoundException', 404);
    await expectKvsError(kvam.send(new GetDASHStreamingSessionURLCommand({ StreamName: 'idle', PlaybackMode: 'LIVE' })), 'ResourceNotFoundException', 404);
    await kv.send(new CreateStreamCommand({ StreamName: 'buffer-only', DataRetentionInHours: 0 }));
    await expectKvsError(hlsUrl({ StreamName: 'buffer-only', PlaybackMode: 'LIVE' }), 'NoDataRetentionException', 400);
    await expectKvsError(kvam.send(new GetDASHStreamingSessionURLCommand({ StreamName: 'buffer-only' })), 'NoDataRetentionException', 400);
  });

  it('refuses expired, forged, malformed and orphaned session tokens', async () => {
    const url = await hlsUrl(onDemand());
    const token = new URL(url).searchParams.get('SessionToken')!;
    const secret = Buffer.from(fs.readFileSync(path.join(srv.dataDir, 'session-secret'), 'utf8').trim(), 'hex');
    const claims = decodeSessionToken(token, secret, { nowMs: Date.now() });
    const withToken = (t: string) => url.replace(token, t);
    const expectError = async (u: string, name: string, status: number) => {
      const res = await fetch(u);
      expect(res.status).toBe(status);
      expect(res.headers.get('x-amzn-errortype')).toMatch(new RegExp(`^${name}:`));
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      return ((await res.json()) as { Message: string }).Message;
    };

    const expired = encodeSessionToken({ ...claims, expiresAtMs: Date.now() - 1 }, secret);
    expect(await expectError(withToken(expired), 'NotAuthorizedException', 401)).toMatch(/expired/);
    // The same session retargeted at another stream without the secret: the signature no longer matches.
    const [v, payload, mac] = token.split('.');
    const other = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    other.i = (other.i as number) + 1;
    const forged = `${v}.${Buffer.from(JSON.stringify(other)).toString('base64url')}.${mac}`;
    await expectError(withToken(forged), 'NotAuthorizedException', 401);
    await expectError(withToken('not-a-token'), 'InvalidArgumentException', 400);
    await expectError(`${srv.url}/hls/v1/getHLSMediaPlaylist.m3u8?TrackNumber=1`, 'InvalidArgumentException', 400);
    // HLS tokens do not open DASH manifests.
    await expectError(`${srv.url}/dash/v1/getDASHManifest.mpd?SessionToken=${token}`, 'InvalidArgumentException', 400);

    // A token outlives neither its stream nor a re-created stream of the same name.
    await kv.send(new CreateStreamCommand({ StreamName: 'short-lived', DataRetentionInHours: 24 }));
    const { StreamInfo } = await kv.send(new DescribeStreamCommand({ StreamName: 'short-lived' }));
    const orphan = encodeSessionToken({ ...claims, streamId: claims.streamId + 1000, streamName: 'short-lived' }, secret);
    await expectError(withToken(orphan), 'ResourceNotFoundException', 404);
    await kv.send(new DeleteStreamCommand({ StreamARN: StreamInfo!.StreamARN! }));
  });
});

describe('restarts', () => {
  it('a session URL keeps working, with the same playlist, after the server restarts on the same data dir', async () => {
    const dataDir = fs.mkdtempSync(path.join(srv.dataDir, 'restart-'));
    let server = await startTestServer({ dataDir });
    try {
      await new KinesisVideoClient(sdkConfig(server.url)).send(new CreateStreamCommand({ StreamName: 'r', DataRetentionInHours: 24 }));
      const start = new Date(Date.now() - 1000);
      await rawPutMedia(server.url, 'r', pieces(fs.readFileSync(source), 64 * 1024));
      const out = await new KinesisVideoArchivedMediaClient(sdkConfig(server.url)).send(
        new GetHLSStreamingSessionURLCommand({ StreamName: 'r', PlaybackMode: 'ON_DEMAND', HLSFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: start, EndTimestamp: new Date() } } }),
      );
      const pathAndQuery = out.HLSStreamingSessionURL!.slice(server.url.length);
      const before = await text(mediaPlaylistUrl(await text(server.url + pathAndQuery), server.url + pathAndQuery));
      await server.close();
      server = await startTestServer({ dataDir });
      const after = await text(mediaPlaylistUrl(await text(server.url + pathAndQuery), server.url + pathAndQuery));
      expect(after).toBe(before);
    } finally {
      await server.close();
    }
  });
});

describe('LIVE and LIVE_REPLAY while a producer is pushing', () => {
  it('LIVE windows advance with stable media sequence numbers; LIVE_REPLAY grows; players read them', async () => {
    await kv.send(new CreateStreamCommand({ StreamName: 'live', DataRetentionInHours: 24 }));
    const liveSource = await makeH264Mkv({ seconds: 12, fps: 25, gop: 25, audio: true, bframes: 0 });
    const pushStart = new Date(Date.now() - 500);
    const producer = spawnFfmpeg(ffmpegLivePush(liveSource, 'live'));
    try {
      // A LIVE session can be had once the first fragment is stored.
      const url = await eventually(() => hlsUrl({ StreamName: 'live', PlaybackMode: 'LIVE', DisplayFragmentTimestamp: 'ALWAYS' }), (u) => u !== undefined, 'a LIVE session URL', 20_000);
      const master = await text(url);
      const mediaUrl = mediaPlaylistUrl(master, url);
      const playlist = async () => parsePlaylist(await text(mediaUrl));
      // Wait for a window of a few segments, then for the live edge to move on by two.
      const first = await eventually(playlist, (p) => p.segments.length >= 2, 'a LIVE playlist with two segments');
      const second = await eventually(playlist, (p) => p.segments.at(-1)!.msn >= first.segments.at(-1)!.msn + 2, 'the LIVE window to advance');
      expect(first.ended || second.ended).toBe(false);
      expect(second.segments.at(-1)!.msn).toBeGreaterThan(first.segments.at(-1)!.msn);
      expect(second.segments.length).toBeLessThanOrEqual(5);
      for (const seg of second.segments) {
        const before = first.segments.find((s) => s.fragmentNumber === seg.fragmentNumber);
        if (before) expect(before.msn).toBe(seg.msn);
      }
      expect(first.text).toContain('#EXT-X-PROGRAM-DATE-TIME:');

      // ffmpeg follows the LIVE playlist and decodes what it gets.
      const out = path.join(srv.dataDir, 'live-read.mkv');
      await runFfmpeg(['-i', url, '-t', '2', '-c', 'copy', '-f', 'matroska', out]);
      expect((await countFrames(out, 'frames')).video).toBeGreaterThanOrEqual(40);

      // LIVE_REPLAY from the start of the push: a few fragments at once, then one per fragment duration.
      const replay = await hlsUrl({ StreamName: 'live', PlaybackMode: 'LIVE_REPLAY', MaxMediaPlaylistFragmentResults: 100, HLSFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: pushStart } } });
      const replayMedia = mediaPlaylistUrl(await text(replay), replay);
      const r1 = parsePlaylist(await text(replayMedia));
      expect(r1.segments.map((s) => s.msn)).toEqual([0, 1, 2]);
      // …and it grows as fragments arrive, keeping what it listed.
      const r2 = await eventually(async () => parsePlaylist(await text(replayMedia)), (p) => p.segments.length >= 4, 'LIVE_REPLAY to grow');
      expect(r2.segments.slice(0, 3)).toEqual(r1.segments);
      expect(r2.ended).toBe(false);

      const dash = await kvam.send(new GetDASHStreamingSessionURLCommand({ StreamName: 'live', PlaybackMode: 'LIVE' }));
      const mpd = await text(dash.DASHStreamingSessionURL!);
      expect(mpd).toContain('type="dynamic"');
      expect(mpd).toMatch(/minimumUpdatePeriod="PT\d+(\.\d+)?S"/);
    } finally {
      await producer.stop();
    }
  });
});
