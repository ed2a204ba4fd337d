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
import { element, MKV_ID } from '../../src/mkv/index.ts';
import { readForPacing } from '../support/paced-mkv.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { signedFetch } from '../support/auth.ts';
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

/**
 * An ffmpeg-like producer (each fragment sent whole, as one known-size Cluster, once its media is
 * over) whose every other fragment leaves `lateMs` late: server timestamps that jitter.
 */
async function* jitteredClusters(file: string, lateMs: number, signal: AbortSignal): AsyncGenerator<Buffer> {
  const { header, clusters } = readForPacing(file);
  yield header;
  const t0 = Date.now();
  const first = clusters[0]?.blocks[0]?.ms ?? 0;
  for (const [i, c] of clusters.entries()) {
    const end = c.blocks.at(-1)?.ms ?? first;
    const wait = t0 + (end - first) + (i % 2 ? lateMs : 0) - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (signal.aborted) return;
    yield element(MKV_ID.Cluster, [c.start[1]!, ...c.blocks.map((b) => b.raw)]);
  }
}

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

  async function llSessionUrl(stream: string, mode?: string): Promise<string> {
    const res = await signedFetch(`${srv.url}/getHLSStreamingSessionURL`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-kestrel-low-latency': '1' },
      body: JSON.stringify({ StreamName: stream, PlaybackMode: 'LIVE', DisplayFragmentTimestamp: 'ALWAYS', Expires: 3600, ...(mode ? { DiscontinuityMode: mode } : {}) }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { HLSStreamingSessionURL: string }).HLSStreamingSessionURL;
  }

  async function llMediaPlaylist(url: string): Promise<string> {
    const master = await (await fetch(url)).text();
    const mediaUri = master.split('\n').find((l) => l.startsWith('getHLSMediaPlaylist'));
    expect(mediaUri).toBeDefined();
    return (await fetch(new URL(mediaUri!, url))).text();
  }

  /** Several reloads across completed segments and a sliding window, without a playlist error. */
  async function expectLlPlays(url: string) {
    const r = await playWithHlsJs(page, url, { lowLatencyMode: true, advanceSec: 6, timeoutMs: 40_000 });
    expect(r.fatalErrors, failure('fatal hls.js errors')).toEqual([]);
    expect(r.errors.filter((e) => /mismatch/i.test(e)), failure('hls.js playlist errors')).toEqual([]);
    expect(r.lastTime - r.firstTime, failure(`currentTime only went ${r.firstTime} → ${r.lastTime}`)).toBeGreaterThanOrEqual(6);
    expect(r.width).toBe(320);
    expect(r.usedParts).toBe(true);
  }

  // Every segment's discontinuity number (hls.js `cc`) must survive reloads, the open segment
  // completing and the window sliding, or hls.js fails fatally ("discontinuity sequence mismatch").
  // ALWAYS, the SERVER_TIMESTAMP default, puts a discontinuity before every segment.
  for (const mode of [undefined, 'NEVER'] as const) {
    it(`LL-HLS (LIVE, parts) with hls.js lowLatencyMode, DiscontinuityMode ${mode ?? 'default (ALWAYS)'}`, async () => {
      const url = await llSessionUrl('cam', mode);
      const media = await llMediaPlaylist(url);
      expect(media).toContain('#EXT-X-PART-INF');
      expect(media).toContain('#EXT-X-SERVER-CONTROL');
      if (!mode) expect(media).toContain('#EXT-X-DISCONTINUITY\n');
      await expectLlPlays(url);
    }, 60_000);
  }

  // ON_DISCONTINUITY with server timestamps that jitter (as with a loaded ffmpeg producer): every
  // other fragment arrives 150 ms late, so every fragment begins with a discontinuity. Whole
  // fragments leave the playlist without an open segment most of the time (the case that broke).
  it('LL-HLS with hls.js lowLatencyMode, ON_DISCONTINUITY and jittery server timestamps', async () => {
    await createStream(srv.url, 'jitter');
    const source = await makeH264Mkv({ seconds: 30, fps: 25, gop: 25, bframes: 0, size: '320x240' });
    const stop = new AbortController();
    const pushing = rawPutMedia(srv.url, 'jitter', jitteredClusters(source, 150, stop.signal));
    try {
      await waitForFragments(srv.url, 'jitter', 3);
      const url = await llSessionUrl('jitter', 'ON_DISCONTINUITY');
      expect(await llMediaPlaylist(url)).toContain('#EXT-X-DISCONTINUITY\n');
      await expectLlPlays(url);
    } finally {
      stop.abort();
      await pushing;
    }
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
