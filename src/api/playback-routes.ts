/**
 * HLS / DASH playback edge: the two session-URL operations (POST + JSON, like every KVS call) and
 * the GET resources under /hls/v1/ and /dash/v1/ that players fetch with the session token.
 * CORS is open on all of them so browser players on other origins work.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { PlaybackResult } from '../archive/hls-service.ts';
import type { Playback } from '../archive/playback.ts';
import type { StreamService } from '../control/stream-service.ts';
import { invalidArgument } from '../shared/errors.ts';
import { jsonBody } from './json-body.ts';
import { sendJson, wrap } from './respond.ts';

export interface PlaybackRouteDeps {
  streams: StreamService;
  playback: Playback;
  /** Base URL the session URLs start with (the data endpoint). */
  endpoint: () => string;
}

/**
 * Kestrel addition: LL-HLS opt-in on the session call. The AWS SDK drops unknown members, so a
 * header is the portable way; raw HTTP clients may also send `"LowLatency": true`.
 */
export const LOW_LATENCY_HEADER = 'x-kestrel-low-latency';

const TYPES = {
  m3u8: 'application/vnd.apple.mpegurl',
  mpd: 'application/dash+xml',
  mp4: 'video/mp4',
  ts: 'video/mp2t',
} as const;

export function playbackRouter(deps: PlaybackRouteDeps): express.Router {
  const router = express.Router({ caseSensitive: true });
  const { hls, dash, sessions } = deps.playback;
  router.use(['/hls/v1', '/dash/v1', '/getHLSStreamingSessionURL', '/getDASHStreamingSessionURL'], cors);

  router.post('/getHLSStreamingSessionURL', jsonBody(), wrap(async (req, res) => {
    const body = bodyOf(req);
    const stream = await deps.streams.resolve(body);
    const url = await sessions.create('HLS', stream, body, { endpoint: deps.endpoint(), lowLatency: wantsLowLatency(req, body) });
    sendJson(res, { HLSStreamingSessionURL: url });
  }));
  router.post('/getDASHStreamingSessionURL', jsonBody(), wrap(async (req, res) => {
    const body = bodyOf(req);
    const stream = await deps.streams.resolve(body);
    sendJson(res, { DASHStreamingSessionURL: await sessions.create('DASH', stream, body, { endpoint: deps.endpoint() }) });
  }));

  const get = (path: string, type: keyof typeof TYPES, produce: (q: Query) => Promise<PlaybackResult>) =>
    router.get(path, wrap(async (req, res) => send(res, TYPES[type], await produce(queryOf(req)))));

  get('/hls/v1/getHLSMasterPlaylist.m3u8', 'm3u8', (q) => hls.masterPlaylist(q.SessionToken, { lowLatency: q.LowLatency === '1' }));
  get('/hls/v1/getHLSMediaPlaylist.m3u8', 'm3u8', (q) => {
    if (q.TrackNumber !== undefined && q.TrackNumber !== '1') throw invalidArgument('TrackNumber must be 1: this session serves one muxed rendition.');
    return hls.mediaPlaylist(q.SessionToken, { lowLatency: q.LowLatency === '1', msn: q._HLS_msn, part: q._HLS_part });
  });
  // Under /dash/v1/ TrackNumber selects one track (an AdaptationSet); under /hls/v1/ it is the muxed rendition.
  for (const [prefix, perTrack] of [['/hls/v1', false], ['/dash/v1', true]] as const) {
    get(`${prefix}/getMP4InitFragment.mp4`, 'mp4', (q) => hls.initSegment(q.SessionToken, q.TrackNumber, q.SequenceNumber ?? '0', { perTrack }));
    get(`${prefix}/getMP4MediaFragment.mp4`, 'mp4', (q) =>
      // Live DASH SegmentTemplate URLs name a Period and a media time instead of a fragment number.
      perTrack && q.FragmentNumber === undefined && q.MediaTime !== undefined
        ? dash.segmentAt(q.SessionToken, q.TrackNumber, q.Period, q.MediaTime)
        : hls.mp4Fragment(q.SessionToken, q.TrackNumber, q.FragmentNumber, { perTrack }));
  }
  get('/hls/v1/getTSFragment.ts', 'ts', (q) => hls.tsFragment(q.SessionToken, q.FragmentNumber));
  get('/hls/v1/getMP4MediaPart.mp4', 'mp4', (q) => hls.mp4Part(q.SessionToken, q.TrackNumber, q.FragmentNumber, q.Part));
  get('/dash/v1/getDASHManifest.mpd', 'mpd', (q) => dash.manifest(q.SessionToken));
  return router;
}

type Query = Record<string, string | undefined>;

/** First value of each query parameter (express 5 gives strings or arrays). */
function queryOf(req: Request): Query {
  const out: Query = {};
  for (const [k, v] of Object.entries(req.query as Record<string, unknown>)) {
    const first = Array.isArray(v) ? v[0] : v;
    if (typeof first === 'string') out[k] = first;
  }
  return out;
}

function send(res: Response, type: string, result: PlaybackResult): void {
  // Segments and finished playlists never change under their URL; live playlists change every reload.
  res.set('cache-control', result.final ? 'public, max-age=86400, immutable' : 'no-cache');
  // res.end, not res.send: send would hash every segment for an ETag nobody revalidates.
  const body = typeof result.body === 'string' ? Buffer.from(result.body, 'utf8') : result.body;
  res.status(200).type(type).set('content-length', String(body.length)).end(body);
}

function cors(req: Request, res: Response, next: NextFunction): void {
  res.set('access-control-allow-origin', '*');
  res.set('access-control-expose-headers', 'x-amzn-RequestId, x-amzn-ErrorType, content-length');
  if (req.method !== 'OPTIONS') return next();
  res.set('access-control-allow-methods', 'GET, HEAD, POST, OPTIONS');
  res.set('access-control-allow-headers', req.get('access-control-request-headers') ?? '*');
  res.set('access-control-max-age', '600');
  res.status(204).end();
}

function wantsLowLatency(req: Request, body: Record<string, unknown>): boolean {
  const h = req.get(LOW_LATENCY_HEADER);
  return h === '1' || h?.toLowerCase() === 'true' || body.LowLatency === true;
}

function bodyOf(req: Request): Record<string, unknown> {
  const b: unknown = req.body ?? {};
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw invalidArgument('Request body must be a JSON object.');
  return b as Record<string, unknown>;
}
