/**
 * Player matrix, command-line players (docs/COMPATIBILITY.md "Player matrix"): ffmpeg, GStreamer
 * (playbin3 with hlsdemux2/dashdemux2, and an explicit hlsdemux pipeline) and VLC each play HLS
 * fMP4, HLS MPEG-TS and DASH in LIVE, LIVE_REPLAY and ON_DEMAND. One server and one producer
 * (ffmpeg pushing a 25 fps, 1 s GOP fixture at real time) serve every case.
 * - ON_DEMAND and LIVE_REPLAY cover four stored fragments: the player decodes exactly their
 *   100 video frames and ends by itself (VLC: fetches all four segments). DASH LIVE_REPLAY is
 *   live to the players until its end: see the case below.
 * - LIVE plays for a few seconds: frames keep coming (the presentation times span most of the
 *   wall-clock time played; VLC: its decoded count still rises in the second half), no error.
 * VLC plays fMP4 HLS with DiscontinuityMode NEVER: VLC 3.0 cannot cross EXT-X-DISCONTINUITY in
 * fMP4 (the SERVER_TIMESTAMP default ALWAYS puts one before every segment); see the doc.
 * Browsers (hls.js, Shaka) are in test/e2e/player-matrix.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { playFfmpeg, playGstreamer, playVlc, ptsSpan, type PlayResult } from '../support/players.ts';
import { EXPECTED_FRAMES, LIVE_SECONDS, RANGE_FRAGMENTS, startMatrixStream, type Format, type MatrixStream, type Mode } from '../support/player-matrix.ts';

let matrix: MatrixStream;

beforeAll(async () => {
  matrix = await startMatrixStream();
}, 90_000);

afterAll(async () => {
  await matrix?.stop();
});
const FORMATS: Format[] = ['HLS fMP4', 'HLS TS', 'DASH'];
const MODES: Mode[] = ['LIVE', 'LIVE_REPLAY', 'ON_DEMAND'];

interface Player {
  name: string;
  formats: Format[];
  /** `wallSeconds`: stop a player that does not end by itself (see the cases below). */
  play(url: string, liveSeconds?: number, wallSeconds?: number): Promise<PlayResult & { samples?: number[]; segments?: number; fetched?: string[] }>;
  extra?(format: Format): Record<string, unknown>;
}

const PLAYERS: Player[] = [
  { name: 'ffmpeg', formats: FORMATS, play: (url, s, wall) => playFfmpeg(url, s, wall) },
  { name: 'GStreamer playbin3', formats: FORMATS, play: (url, s) => playGstreamer(url, 'playbin3', s ?? 30) },
  { name: 'GStreamer hlsdemux', formats: ['HLS fMP4', 'HLS TS'], play: (url, s) => playGstreamer(url, 'hlsdemux', s ?? 30) },
  { name: 'VLC', formats: FORMATS, play: (url, s) => playVlc(url, s), extra: (f) => (f === 'HLS fMP4' ? { DiscontinuityMode: 'NEVER' } : {}) },
];

const describeLog = (r: PlayResult & { segments?: number }) =>
  `frames ${r.frames}, pts span ${ptsSpan(r.pts).toFixed(2)} s, ended ${r.ended}, segments ${r.segments ?? '-'}, error: ${r.error}`;

for (const player of PLAYERS) {
  describe.concurrent(player.name, () => {
    for (const format of player.formats) {
      for (const mode of MODES) {
        it(`${format} ${mode}`, async () => {
          const url = await matrix.sessionUrl(format, mode, player.extra?.(format));
          if (mode === 'LIVE') {
            // VLC pauses about 4 s after its first burst of DASH segments, then plays on: 12 s.
            const r = await player.play(url, player.name === 'VLC' && format === 'DASH' ? 2 * LIVE_SECONDS : LIVE_SECONDS);
            expect(r.error, describeLog(r)).toBeNull();
            if (r.samples) {
              // VLC: it fetched successive segments and its (sampled) decoded count still rises in the second half.
              expect(r.segments, describeLog(r)).toBeGreaterThanOrEqual(4);
              expect(r.frames, describeLog(r)).toBeGreaterThanOrEqual(25);
              const half = r.samples[Math.floor(r.samples.length / 2)] ?? 0;
              expect(r.samples.at(-1)!, r.samples.join(',')).toBeGreaterThan(half);
            } else {
              expect(r.frames, describeLog(r)).toBeGreaterThanOrEqual(2 * 25);
              expect(ptsSpan(r.pts), describeLog(r)).toBeGreaterThanOrEqual(LIVE_SECONDS - 3);
            }
          } else {
            // A DASH LIVE_REPLAY MPD is dynamic until the end of the range, then turns static. The
            // players join it at their live edge (they may skip the first fragments) and may not
            // notice the end: ffmpeg 5.1 never leaves live mode, VLC plays every segment and waits,
            // GStreamer 1.22 sometimes waits. So they are stopped after 10 s and checked on what they decoded.
            const waitsAtEnd = format === 'DASH' && mode === 'LIVE_REPLAY';
            const r = await player.play(url, waitsAtEnd ? 10 : undefined, waitsAtEnd ? 10 : undefined);
            expect(r.error, describeLog(r)).toBeNull();
            if (!waitsAtEnd) expect(r.ended, describeLog(r)).toBe(true);
            if (r.fetched && waitsAtEnd) {
              // VLC joins a live MPD at its live edge: it may skip the first fragments, but plays the last one.
              const final = await (await fetch(url)).text();
              const lastT = [...final.matchAll(/<S t="(\d+)"/g)].at(-1)![1];
              expect(r.fetched.some((u) => u.includes(`MediaTime=${lastT}`)), `${describeLog(r)} ${r.fetched.join(' ')}`).toBe(true);
              expect(r.frames, describeLog(r)).toBeGreaterThanOrEqual(25);
            } else if (waitsAtEnd) {
              // At least two of the four fragments, none twice.
              expect(r.frames, describeLog(r)).toBeGreaterThanOrEqual(EXPECTED_FRAMES / 2 - 1);
              expect(r.frames, describeLog(r)).toBeLessThanOrEqual(EXPECTED_FRAMES);
            } else if (r.segments !== undefined) {
              // VLC: every segment fetched, no demuxer error, and decoding well under way (sampled counter).
              expect(r.segments, describeLog(r)).toBe(RANGE_FRAGMENTS);
              expect(r.frames, describeLog(r)).toBeGreaterThanOrEqual(EXPECTED_FRAMES / 2);
            } else {
              expect(r.frames, describeLog(r)).toBe(EXPECTED_FRAMES);
            }
          }
        }, 90_000);
      }
    }
  });
}
