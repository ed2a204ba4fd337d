/**
 * Player matrix, browsers (docs/COMPATIBILITY.md "Player matrix"): headless Chromium with hls.js
 * (HLS fMP4 and MPEG-TS) and with Shaka Player (HLS fMP4, MPEG-TS and DASH), in LIVE,
 * LIVE_REPLAY and ON_DEMAND, over one server and one producer (ffmpeg pushing a 25 fps, 1 s GOP
 * fixture at real time).
 * - ON_DEMAND and LIVE_REPLAY cover four stored fragments and the video element plays to their
 *   end with no player error. ON_DEMAND decodes all 100 frames (getVideoPlaybackQuality()
 *   .totalVideoFrames; up to a GOP more when the start-up seek decodes part of it twice).
 *   LIVE_REPLAY is live to the player, which joins at its live edge and may skip the first
 *   fragments (Shaka does).
 * - LIVE plays a few seconds: currentTime advances and frames keep being decoded in the second
 *   half, with no player error.
 * Command-line players are in test/integration/player-matrix.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openHarness, openShakaHarness, playFrames, type FramesReport, type TestBrowser } from '../support/browser.ts';
import { EXPECTED_FRAMES, LIVE_SECONDS, RANGE_FRAGMENTS, startMatrixStream, type Format, type MatrixStream, type Mode } from '../support/player-matrix.ts';

let matrix: MatrixStream;
let browser: TestBrowser;

beforeAll(async () => {
  matrix = await startMatrixStream();
  browser = await launchBrowser();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await matrix?.stop();
});

const PLAYERS = [
  { name: 'hls.js' as const, formats: ['HLS fMP4', 'HLS TS'] as Format[] },
  { name: 'shaka' as const, formats: ['HLS fMP4', 'HLS TS', 'DASH'] as Format[] },
];
const MODES: Mode[] = ['LIVE', 'LIVE_REPLAY', 'ON_DEMAND'];

const failure = (r: FramesReport) => `${JSON.stringify(r)}\n${browser.logs.slice(-10).join('\n')}`;

for (const player of PLAYERS) {
  describe.concurrent(`Chromium + ${player.name}`, () => {
    for (const format of player.formats) {
      for (const mode of MODES) {
        it(`${format} ${mode}`, async () => {
          const page = await browser.newPage({ width: 640, height: 360 });
          try {
            if (player.name === 'shaka') await openShakaHarness(page, matrix.srv.url);
            else await openHarness(page, matrix.srv.url);
            const url = await matrix.sessionUrl(format, mode);
            if (mode === 'LIVE') {
              const r = await playFrames(page, player.name, url, { liveSeconds: LIVE_SECONDS });
              expect(r.errors, failure(r)).toEqual([]);
              expect(r.lastTime - r.firstTime, failure(r)).toBeGreaterThanOrEqual(LIVE_SECONDS - 2);
              expect(r.frames, failure(r)).toBeGreaterThan(r.midFrames);
            } else {
              const r = await playFrames(page, player.name, url);
              expect(r.errors, failure(r)).toEqual([]);
              expect(r.ended, failure(r)).toBe(true);
              // Played to the end of the four fragments.
              expect(r.lastTime, failure(r)).toBeGreaterThanOrEqual(RANGE_FRAGMENTS - 0.5);
              if (mode === 'ON_DEMAND') {
                // Every frame decoded; a browser may decode part of the first GOP twice after its start-up seek.
                expect(r.frames, failure(r)).toBeGreaterThanOrEqual(EXPECTED_FRAMES);
                expect(r.frames, failure(r)).toBeLessThan(EXPECTED_FRAMES + 25);
              } else {
                // LIVE_REPLAY is live to the player: it joins its live edge (Shaka: suggestedPresentationDelay
                // behind the newest segment), so it may skip the first fragments; it must play on to the end.
                expect(r.frames, failure(r)).toBeGreaterThanOrEqual(25);
                expect(r.frames, failure(r)).toBeLessThan(EXPECTED_FRAMES + 25);
              }
            }
          } finally {
            await page.close();
          }
        }, 90_000);
      }
    }
  });
}
