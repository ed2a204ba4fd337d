/**
 * The shared setting of both player-matrix suites: one server, one ffmpeg producer pushing a 25 fps,
 * 1 s GOP fixture at real time, the first stored fragments as the ON_DEMAND / LIVE_REPLAY range, and
 * the session URL of a format × mode.
 */
import type { FfmpegProcess } from '../../src/media-tools/ffmpeg.ts';
import { createStream, kvsCall, pushLive, waitForFragments, type ListedFragment } from './live-push.ts';
import { makeH264Mkv } from './media.ts';
import { startTestServer, type TestServer } from './server.ts';

export type Format = 'HLS fMP4' | 'HLS TS' | 'DASH';
export type Mode = 'LIVE' | 'LIVE_REPLAY' | 'ON_DEMAND';

/** Fragments (1 s GOPs at 25 fps) in the ON_DEMAND / LIVE_REPLAY range, and their frames. */
export const RANGE_FRAGMENTS = 4;
export const EXPECTED_FRAMES = RANGE_FRAGMENTS * 25;
/** How long a LIVE case plays, seconds. */
export const LIVE_SECONDS = 6;

export interface MatrixStream {
  srv: TestServer;
  producer: FfmpegProcess;
  /** The fragments ON_DEMAND and LIVE_REPLAY sessions cover. */
  range: ListedFragment[];
  /** A session URL; `extra` carries player-specific request fields (VLC: DiscontinuityMode). */
  sessionUrl(format: Format, mode: Mode, extra?: Record<string, unknown>): Promise<string>;
  stop(): Promise<void>;
}

export async function startMatrixStream(): Promise<MatrixStream> {
  const srv = await startTestServer();
  await createStream(srv.url, 'cam');
  const source = await makeH264Mkv({ seconds: 10, fps: 25, gop: 25, audio: true, bframes: 0 });
  const producer = pushLive(srv.url, 'cam', source);
  const range = (await waitForFragments(srv.url, 'cam', RANGE_FRAGMENTS + 1)).slice(0, RANGE_FRAGMENTS);
  const sessionUrl = async (format: Format, mode: Mode, extra: Record<string, unknown> = {}): Promise<string> => {
    const selector = mode === 'LIVE'
      ? undefined
      : { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: range[0]!.ServerTimestamp, EndTimestamp: range.at(-1)!.ServerTimestamp } };
    if (format === 'DASH') {
      const body = { StreamName: 'cam', PlaybackMode: mode, Expires: 3600, ...(selector ? { DASHFragmentSelector: selector } : {}) };
      return (await kvsCall<{ DASHStreamingSessionURL: string }>(srv.url, 'getDASHStreamingSessionURL', body)).DASHStreamingSessionURL;
    }
    const body = {
      StreamName: 'cam', PlaybackMode: mode, Expires: 3600,
      ContainerFormat: format === 'HLS TS' ? 'MPEG_TS' : 'FRAGMENTED_MP4',
      ...(selector ? { HLSFragmentSelector: selector } : {}),
      ...extra,
    };
    return (await kvsCall<{ HLSStreamingSessionURL: string }>(srv.url, 'getHLSStreamingSessionURL', body)).HLSStreamingSessionURL;
  };
  return {
    srv, producer, range, sessionUrl,
    stop: async () => {
      await producer.stop(2000);
      await srv.close();
    },
  };
}
