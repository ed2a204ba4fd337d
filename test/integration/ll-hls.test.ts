/**
 * Low-latency HLS (Kestrel addition) against a kvssink-like producer whose frames arrive in real
 * time: parts of the arriving fragment, blocking playlist reload, stable part bytes, the opt-ins.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CreateStreamCommand, KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { GetHLSStreamingSessionURLCommand, KinesisVideoArchivedMediaClient } from '@aws-sdk/client-kinesis-video-archived-media';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countFrames } from '../../src/media-tools/ffmpeg.ts';
import { makeH264Mkv } from '../support/media.ts';
import { pacedPieces } from '../support/paced-mkv.ts';
import { mediaPlaylistUrl, parseLl, parsePlaylist, text } from '../support/playlists.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';

let srv: TestServer;
let kv: KinesisVideoClient;
let kvam: KinesisVideoArchivedMediaClient;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function hlsUrl(client: KinesisVideoArchivedMediaClient): Promise<string> {
  return (await client.send(new GetHLSStreamingSessionURLCommand({ StreamName: 'll', PlaybackMode: 'LIVE' }))).HLSStreamingSessionURL!;
}

beforeAll(async () => {
  // A part target other than the default: the playlist must advertise what the server was given.
  srv = await startTestServer({ llPartTargetMs: 400 });
  kv = new KinesisVideoClient(sdkConfig(srv.url));
  kvam = new KinesisVideoArchivedMediaClient(sdkConfig(srv.url));
});
afterAll(async () => {
  await srv?.close();
});

describe('LL-HLS (Kestrel addition)', () => {
  it('lists parts of the arriving fragment, blocks reloads until the next part, serves stable part bytes', async () => {
    await kv.send(new CreateStreamCommand({ StreamName: 'll', DataRetentionInHours: 24 }));
    const llSource = await makeH264Mkv({ seconds: 10, fps: 25, gop: 50, audio: true, bframes: 0 });
    // kvssink-like producer: unknown-size clusters whose frames arrive in real time.
    const pushing = rawPutMedia(srv.url, 'll', pacedPieces(llSource));
    // The opt-in travels as a header on the session call (the SDK drops unknown body members).
    const llClient = new KinesisVideoArchivedMediaClient(sdkConfig(srv.url));
    llClient.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers['x-kestrel-low-latency'] = '1';
        return next(args);
      },
      { step: 'build' },
    );
    try {
      let url: string | undefined;
      for (let i = 0; i < 50 && !url; i++) {
        url = await hlsUrl(llClient).catch(() => undefined);
        if (!url) await sleep(100);
      }
      const mediaUrl = mediaPlaylistUrl(await text(url!), url!);
      let ll = parseLl(await text(mediaUrl));
      for (let i = 0; i < 40 && ll.parts.length < 2; i++) {
        await sleep(100);
        ll = parseLl(await text(mediaUrl));
      }
      expect(ll.text).toContain('#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.2');
      expect(ll.text).toContain('#EXT-X-PART-INF:PART-TARGET=0.4');
      expect(ll.parts.length).toBeGreaterThanOrEqual(2);
      expect(ll.text).toMatch(/#EXT-X-PRELOAD-HINT:TYPE=PART,URI="getMP4MediaPart\.mp4\?FragmentNumber=\d+&SessionToken=[^&]+&TrackNumber=1&Part=\d+"/);
      expect(ll.parts.every((p) => p.durationSec <= 0.4)).toBe(true);

      // A part of the arriving fragment, fetched now and again once the fragment is stored.
      const early = ll.parts.find((p) => p.msn === ll.last.msn && p.part === 0)!;
      const partUrl = new URL(early.uri, mediaUrl).toString();
      const res = await fetch(partUrl);
      expect(res.headers.get('content-type')).toBe('video/mp4');
      const arrivingBytes = Buffer.from(await res.arrayBuffer());
      expect(arrivingBytes.subarray(4, 8).toString()).toBe('moof');

      // Blocking reload: ask for the part after the last one; the answer waits until it exists.
      const want = { msn: ll.last.msn, part: ll.last.part + 1 };
      const t0 = Date.now();
      const next = parseLl(await text(`${mediaUrl}&_HLS_msn=${want.msn}&_HLS_part=${want.part}`));
      expect(Date.now() - t0).toBeLessThan(6000);
      expect(next.segments.some((s) => s.msn >= want.msn) || next.parts.some((p) => p.msn > want.msn || (p.msn === want.msn && p.part >= want.part))).toBe(true);
      // Too far ahead: 400 at once.
      const far = await fetch(`${mediaUrl}&_HLS_msn=${next.last.msn + 5}`);
      expect(far.status).toBe(400);

      // Once the fragment is complete its parts are cut from the stored fragment: same bytes.
      const done = parseLl(await text(`${mediaUrl}&_HLS_msn=${early.msn}`));
      expect(done.segments.some((s) => s.msn === early.msn)).toBe(true);
      const storedBytes = Buffer.from(await (await fetch(partUrl)).arrayBuffer());
      expect(storedBytes.equals(arrivingBytes)).toBe(true);

      // The parts of a complete fragment decode to its frames (init + parts = the segment's media).
      const fragmentParts = done.parts.filter((p) => p.msn === early.msn);
      const init = Buffer.from(await (await fetch(new URL(done.map!, mediaUrl))).arrayBuffer());
      const bodies = await Promise.all(fragmentParts.map(async (p) => Buffer.from(await (await fetch(new URL(p.uri, mediaUrl))).arrayBuffer())));
      const file = path.join(srv.dataDir, 'parts.mp4');
      fs.writeFileSync(file, Buffer.concat([init, ...bodies]));
      expect((await countFrames(file, 'frames')).video).toBe(50);
    } finally {
      await pushing;
    }

    // Without the opt-in, the same stream gets a plain playlist; `LowLatency=1` on the URL turns it on.
    const plain = await hlsUrl(kvam);
    const master = await text(plain);
    expect(await text(mediaPlaylistUrl(master, plain))).not.toContain('#EXT-X-PART');
    const llMaster = await text(`${plain}&LowLatency=1`);
    expect(llMaster).toContain('&LowLatency=1');
    expect(await text(mediaPlaylistUrl(llMaster, plain))).toContain('#EXT-X-PART-INF');
  });

  it('plain live playlists advertise and answer blocking reloads (_HLS_msn) without parts', async () => {
    await kv.send(new CreateStreamCommand({ StreamName: 'plain', DataRetentionInHours: 24 }));
    const source = await makeH264Mkv({ seconds: 6, fps: 25, gop: 25, audio: false, bframes: 0 });
    const pushing = rawPutMedia(srv.url, 'plain', pacedPieces(source));
    try {
      let url: string | undefined;
      for (let i = 0; i < 50 && !url; i++) {
        url = await kvam.send(new GetHLSStreamingSessionURLCommand({ StreamName: 'plain', PlaybackMode: 'LIVE' })).then((o) => o.HLSStreamingSessionURL, () => undefined);
        if (!url) await sleep(100);
      }
      const mediaUrl = mediaPlaylistUrl(await text(url!), url!);
      let first = parsePlaylist(await text(mediaUrl));
      for (let i = 0; i < 40 && first.segments.length === 0; i++) {
        await sleep(100);
        first = parsePlaylist(await text(mediaUrl));
      }
      expect(first.text).toContain('#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES');
      expect(first.text).not.toContain('#EXT-X-PART');
      const lastMsn = first.segments.at(-1)!.msn;
      // The answer waits for the next segment instead of repeating the current playlist.
      const next = parsePlaylist(await text(`${mediaUrl}&_HLS_msn=${lastMsn + 1}`));
      expect(next.segments.at(-1)!.msn).toBeGreaterThanOrEqual(lastMsn + 1);
      const far = await fetch(`${mediaUrl}&_HLS_msn=${lastMsn + 9}`);
      expect(far.status).toBe(400);
      const bad = await fetch(`${mediaUrl}&_HLS_msn=x`);
      expect(bad.status).toBe(400);
    } finally {
      await pushing;
    }
  });
});
