/**
 * Operations endpoints: GET /healthz (the process answers), GET /readyz (index and disk take writes;
 * 503 with generic reasons when not), both unauthenticated for load balancers and revealing nothing
 * sensitive; GET /metrics (Prometheus text) behind its own bearer token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import type { KestrelMetrics } from './metrics.ts';
import { countRefusal } from './metrics.ts';
import type { Readiness } from './readiness.ts';

export interface OpsSettings {
  /** Bearer token for /metrics (`--metrics-token`, KESTREL_METRICS_TOKEN). Without one, /metrics answers 403. */
  metricsToken?: string;
  /** Serve /metrics without a token: only when authentication is off (`--insecure-no-auth`). */
  metricsWithoutAuth?: boolean;
  /** Per-stream label cap (default 200); further streams are folded into stream="_other". */
  metricsMaxStreams?: number;
}

export function opsRouter(deps: { metrics: KestrelMetrics; readiness: Readiness; settings?: OpsSettings }): express.Router {
  const router = express.Router({ caseSensitive: true });
  const noStore = (res: Response) => res.set('cache-control', 'no-store');
  router.get('/healthz', (_req, res) => {
    noStore(res).type('text/plain').send('ok\n');
  });
  router.get('/readyz', async (_req, res) => {
    const report = await deps.readiness.check();
    noStore(res).status(report.ready ? 200 : 503).json(report.ready ? { status: 'ready' } : { status: 'not ready', failing: report.failing });
  });
  const token = deps.settings?.metricsToken;
  const expected = token ? digest(token) : undefined;
  router.get('/metrics', async (req: Request, res: Response) => {
    noStore(res);
    if (!authorized(req, expected, deps.settings?.metricsWithoutAuth === true)) {
      countRefusal('metrics_auth');
      if (!expected && !deps.settings?.metricsWithoutAuth) {
        res.status(403).type('text/plain').send('metrics are disabled: start the server with --metrics-token (env KESTREL_METRICS_TOKEN)\n');
        return;
      }
      res.status(401).set('www-authenticate', 'Bearer realm="kestrel-metrics"').type('text/plain').send('metrics need Authorization: Bearer <metrics token>\n');
      return;
    }
    const body = await deps.metrics.render();
    res.type(deps.metrics.contentType).send(body);
  });
  return router;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

function authorized(req: Request, expected: Buffer | undefined, open: boolean): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  // Compared as digests: equal length, constant time, and the token's length does not leak.
  if (expected && m) return timingSafeEqual(digest(m[1]!), expected);
  return !expected && open;
}

/** What each playback path serves, for the `kind` label (a fixed set: unknown paths count as "other"). */
const PLAYBACK_KINDS: Record<string, string> = {
  getHLSMasterPlaylist: 'master_playlist',
  getHLSMediaPlaylist: 'media_playlist',
  getDASHManifest: 'manifest',
  getMP4InitFragment: 'init',
  getMP4MediaFragment: 'fragment',
  getMP4MediaPart: 'part',
  getTSFragment: 'ts_fragment',
};

/** Counts HLS/DASH requests (session URL calls, playlists, segments) by kind once answered. */
export function playbackMetrics(metrics: KestrelMetrics): express.RequestHandler {
  return (req, res, next) => {
    const session = /^\/get(HLS|DASH)StreamingSessionURL$/.exec(req.path);
    const media = /^\/(hls|dash)\/v1\/([A-Za-z0-9]+)\.[a-z0-9]+$/.exec(req.path);
    if ((session || media) && req.method !== 'OPTIONS') {
      const protocol = (session ? session[1]!.toLowerCase() : media![1]!) as 'hls' | 'dash';
      const kind = session ? 'session_url' : (PLAYBACK_KINDS[media![2]!] ?? 'other');
      res.once('finish', () => metrics.playbackRequest(protocol, kind, res.statusCode));
    }
    next();
  };
}
