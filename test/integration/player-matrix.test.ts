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
import type { FfmpegProcess } from '../../src/media-tools/ffmpeg.ts';
import { createStream, kvsCall, pushLive, waitForFragments, type ListedFragment } from '../support/live-push.ts';
import { makeH264Mkv } from '../support/media.ts';
import { playFfmpeg, playGstreamer, playVlc, ptsSpan, type PlayResult } from '../support/players.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let srv: TestServer;
let producer: FfmpegProcess;
/** The four fragments ON_DEMAND and LIVE_REPLAY sessions cover. */
let range: ListedFragment[];

/** Fragments (1 s GOPs at 25 fps) in the ON_DEMAND / LIVE_REPLAY range, and their frames. */
const RANGE_FRAGMENTS = 4;
const EXPECTED_FRAMES = RANGE_FRAGMENTS * 25;
/** How long a LIVE case plays, seconds. */
const LIVE_SECONDS = 6;

beforeAll(async () => {
  srv = await startTestServer();
  await createStream(srv.url, 'cam');
  const source = await makeH264Mkv({ seconds: 10, fps: 25, gop: 25, audio: true, bframes: 0 });
  producer = pushLive(srv.url, 'cam', source);
  const listed = await waitForFragments(srv.url, 'cam', RANGE_FRAGMENTS + 1);
  range = listed.slice(0, RANGE_FRAGMENTS);
}, 90_000);

afterAll(async () => {
  await producer?.stop(2000);
  await srv?.close();
});

type Format = 'HLS fMP4' | 'HLS TS' | 'DASH';
type Mode = 'LIVE' | 'LIVE_REPLAY' | 'ON_DEMAND';
const FORMATS: Format[] = ['HLS fMP4', 'HLS TS', 'DASH'];
const MODES: Mode[] = ['LIVE', 'LIVE_REPLAY', 'ON_DEMAND'];

/** A session URL; `extra` carries player-specific request fields (VLC: DiscontinuityMode). */
async function sessionUrl(format: Format, mode: Mode, extra: Record<string, unknown> = {}): Promise<string> {
  const selector =
    mode === 'LIVE'
      ? {}
      : { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: range[0]!.ServerTimestamp, EndTimestamp: range.at(-1)!.ServerTimestamp } };
  if (format === 'DASH') {
    const body = { StreamName: 'cam', PlaybackMode: mode, Expires: 3600, ...(mode === 'LIVE' ? {} : { DASHFragmentSelector: selector }) };
    return (await kvsCall<{ DASHStreamingSessionURL: string }>(srv.url, 'getDASHStreamingSessionURL', body)).DASHStreamingSessionURL;
  }
  const body = {
    StreamName: 'cam', PlaybackMode: mode, Expires: 3600,
    ContainerFormat: format === 'HLS TS' ? 'MPEG_TS' : 'FRAGMENTED_MP4',
    ...(mode === 'LIVE' ? {} : { HLSFragmentSelector: selector }),
    ...extra,
  };
  return (await kvsCall<{ HLSStreamingSessionURL: string }>(srv.url, 'getHLSStreamingSessionURL', body)).HLSStreamingSessionURL;
}

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
          const url = await sessionUrl(format, mode, player.extra?.(format));
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
