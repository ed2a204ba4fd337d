/**
 * Real playback: ffmpeg pushes a fixture live into Kestrel, headless Chromium plays the HLS
 * sessions with the bundled hls.js. Every mode must play (currentTime advances by at least 1 s)
 * without a fatal hls.js error, including LL-HLS and a resolution change mid-stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.ts';
import { makeH264Mkv } from '../support/media.ts';
import { launchBrowser, openHarness, playWithHlsJs, type TestBrowser } from '../support/browser.ts';
import { createStream, hlsUrl, listAll, pushLive, pushOnce, waitForFragments } from '../support/live-push.ts';
import type { FfmpegProcess } from '../../src/media-tools/ffmpeg.ts';

let srv: TestServer;
let browser: TestBrowser;
let page: Page;
let camera: FfmpegProcess | undefined;
let liveSince = 0;

beforeAll(async () => {
  srv = await startTestServer();
  await createStream(srv.url, 'cam');
  const fixture = await makeH264Mkv({ seconds: 4, fps: 25, gop: 25, bframes: 0, size: '320x240' });
  liveSince = Date.now();
  camera = pushLive(srv.url, 'cam', fixture);
  browser = await launchBrowser();
  page = await browser.newPage();
  await openHarness(page, srv.url);
  // Enough history for replay and on-demand sessions.
  await waitForFragments(srv.url, 'cam', 5);
}, 90_000);

afterAll(async () => {
  await camera?.stop(2000);
  await browser?.close();
  await srv?.close();
});

const failure = (what: string) => `${what}\n${browser.logs.slice(-20).join('\n')}`;

async function expectPlays(url: string, opts: { lowLatencyMode?: boolean } = {}) {
  const r = await playWithHlsJs(page, url, { ...opts, advanceSec: 1, timeoutMs: 40_000 });
  expect(r.fatalErrors, failure('fatal hls.js errors')).toEqual([]);
  expect(r.lastTime - r.firstTime, failure(`currentTime only went ${r.firstTime} → ${r.lastTime}`)).toBeGreaterThanOrEqual(1);
  expect(r.width).toBe(320);
  return r;
}

describe('hls.js in Chromium plays Kestrel HLS', () => {
  it('LIVE, fragmented MP4, with PROGRAM-DATE-TIME near real time', async () => {
    const url = await hlsUrl(srv.url, { StreamName: 'cam', PlaybackMode: 'LIVE', ContainerFormat: 'FRAGMENTED_MP4' });
    const r = await expectPlays(url);
    expect(r.playingDateMs).not.toBeNull();
    expect(r.playingDateMs!).toBeGreaterThanOrEqual(liveSince - 1000);
  }, 60_000);

  it('LIVE, MPEG-TS', async () => {
    const url = await hlsUrl(srv.url, { StreamName: 'cam', PlaybackMode: 'LIVE', ContainerFormat: 'MPEG_TS' });
    await expectPlays(url);
  }, 60_000);

  it('LIVE_REPLAY from the first fragment', async () => {
    const [first] = await listAll(srv.url, 'cam');
    const url = await hlsUrl(srv.url, {
      StreamName: 'cam',
      PlaybackMode: 'LIVE_REPLAY',
      HLSFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: first!.ServerTimestamp } },
    });
    await expectPlays(url);
  }, 60_000);

  for (const container of ['FRAGMENTED_MP4', 'MPEG_TS'] as const) {
    it(`ON_DEMAND over the recorded range, ${container}`, async () => {
      const frags = await listAll(srv.url, 'cam');
      const url = await hlsUrl(srv.url, {
        StreamName: 'cam',
        PlaybackMode: 'ON_DEMAND',
        ContainerFormat: container,
        HLSFragmentSelector: {
          FragmentSelectorType: 'SERVER_TIMESTAMP',
          TimestampRange: { StartTimestamp: frags[0]!.ServerTimestamp, EndTimestamp: (Date.now() - 500) / 1000 },
        },
      });
      await expectPlays(url);
    }, 60_000);
  }

  // DiscontinuityMode NEVER, as the viewer asks for LL sessions: with per-fragment discontinuities
  // the LL playlists currently renumber them between reloads (hls.js: "discontinuity sequence mismatch").
  it('LL-HLS (LIVE, parts) with hls.js lowLatencyMode', async () => {
    const res = await fetch(`${srv.url}/getHLSStreamingSessionURL`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-kestrel-low-latency': '1' },
      body: JSON.stringify({ StreamName: 'cam', PlaybackMode: 'LIVE', DisplayFragmentTimestamp: 'ALWAYS', DiscontinuityMode: 'NEVER', Expires: 3600 }),
    });
    expect(res.status).toBe(200);
    const url = ((await res.json()) as { HLSStreamingSessionURL: string }).HLSStreamingSessionURL;
    // The media playlist really is low-latency.
    const master = await (await fetch(url)).text();
    const mediaUri = master.split('\n').find((l) => l.startsWith('getHLSMediaPlaylist'));
    expect(mediaUri).toBeDefined();
    const media = await (await fetch(new URL(mediaUri!, url))).text();
    expect(media).toContain('#EXT-X-PART-INF');
    expect(media).toContain('#EXT-X-SERVER-CONTROL');

    const r = await expectPlays(url, { lowLatencyMode: true });
    expect(r.usedParts).toBe(true);
  }, 60_000);

  it('a codec change mid-stream (320x240 then 640x360) plays through the discontinuity', async () => {
    await createStream(srv.url, 'switch');
    const small = await makeH264Mkv({ seconds: 3, fps: 25, gop: 25, bframes: 0, size: '320x240' });
    const big = await makeH264Mkv({ seconds: 3, fps: 25, gop: 25, bframes: 0, size: '640x360' });
    await pushOnce(srv.url, 'switch', small, true);
    await pushOnce(srv.url, 'switch', big, true);
    const frags = await waitForFragments(srv.url, 'switch', 6);
    const url = await hlsUrl(srv.url, {
      StreamName: 'switch',
      PlaybackMode: 'ON_DEMAND',
      HLSFragmentSelector: {
        FragmentSelectorType: 'SERVER_TIMESTAMP',
        TimestampRange: { StartTimestamp: frags[0]!.ServerTimestamp, EndTimestamp: (Date.now() - 200) / 1000 },
      },
    });
    const playlist = await (await fetch(url)).text();
    expect(playlist).toContain('RESOLUTION=');

    // The first clip is 3 s long: playing past 4 s means the player crossed into the second one.
    const r = await playWithHlsJs(page, url, { advanceSec: 1, untilTime: 4.5, timeoutMs: 40_000 });
    expect(r.fatalErrors, failure('fatal hls.js errors')).toEqual([]);
    expect(r.lastTime, failure(`stopped at ${r.lastTime}`)).toBeGreaterThanOrEqual(4.5);
    expect(r.width).toBe(640);
    expect(r.height).toBe(360);
  }, 90_000);
});
