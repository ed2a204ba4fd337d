/**
 * The web viewer: static assets under /ui (plain ES modules from src/web, no build step), the
 * bundled hls.js at /ui/vendor/hls.min.js, index.html at /, and the small Kestrel JSON endpoint the
 * stream grid polls (GET /api/v1/streams). Everything else the viewer does goes through the KVS API.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import express from 'express';
import { wrap } from './respond.ts';
import type { StreamOverview } from '../archive/stream-overview.ts';
import type { StreamRecord } from '../store/types.ts';
import type { Clock } from '../shared/clock.ts';

export interface UiDeps {
  /** Every stream, sorted by name (the grid shows at most `maxStreams`). */
  listStreams: (limit: number) => Promise<StreamRecord[]>;
  overview: StreamOverview;
  clock: Clock;
  /** Which node owns each stream now (stream id → node id); the grid shows it when there are several nodes. */
  owners?: () => Promise<Map<number, string>>;
  /** Where index.html and the modules live (default: src/web next to this file). */
  webRoot?: string;
}

// src/web is served as it is (no build step), also when this module runs compiled from dist/api.
const WEB_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/web');
const HLS_JS = createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js');
const MAX_STREAMS = 1000;
const DAY_MS = 86_400_000;

/**
 * The viewer's Content-Security-Policy: everything from this origin; blob: for hls.js's worker and
 * MediaSource URLs and for downloaded clips/stills; data: for inline placeholder images; any http(s)
 * image for detection snapshots kept in S3 (presigned URLs on the bucket's host).
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data: https: http:",
  "media-src 'self' blob:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "form-action 'self'",
  "base-uri 'self'",
].join('; ');

export function uiRouter(deps: UiDeps): express.Router {
  const root = deps.webRoot ?? WEB_ROOT;
  const router = express.Router({ caseSensitive: true });

  router.get(['/', '/index.html'], (_req, res) => {
    res.set({ 'cache-control': 'no-cache', 'content-security-policy': CSP, 'x-content-type-options': 'nosniff' });
    res.sendFile(path.join(root, 'index.html'));
  });

  router.get('/ui/vendor/hls.min.js', vendorHlsJs());

  // No hashed file names (no build step): browsers revalidate with ETag and get a cheap 304.
  router.use(
    '/ui',
    express.static(root, {
      index: false,
      fallthrough: true,
      dotfiles: 'ignore',
      setHeaders: (res) => {
        res.setHeader('cache-control', 'no-cache');
        res.setHeader('x-content-type-options', 'nosniff');
      },
    }),
  );

  router.get('/api/v1/streams', wrap(async (req, res) => {
    const now = deps.clock.now();
    const dayStartMs = parseDayStart(req.query.dayStart, now);
    const records = await deps.listStreams(MAX_STREAMS);
    deps.overview.forgetExcept(new Set(records.map((r) => r.id)));
    const [summaries, owners] = await Promise.all([deps.overview.summarize(records, dayStartMs), deps.owners?.() ?? new Map<number, string>()]);
    const streams = summaries.map((s, i) => ({ ...s, ownerNode: owners.get(records[i]!.id) ?? null }));
    res.set('cache-control', 'no-store').type('application/json');
    res.send(JSON.stringify({ serverTimeMs: deps.clock.now(), dayStartMs, streams, truncated: records.length >= MAX_STREAMS }));
  }));

  return router;
}

/** The viewer sends its own local midnight; without one (or a silly one) we use UTC midnight. */
function parseDayStart(value: unknown, now: number): number {
  const n = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (Number.isFinite(n) && n <= now && now - n <= 2 * DAY_MS) return n;
  return now - (now % DAY_MS);
}

/** hls.js from node_modules, gzipped once in memory (600 KB → ~190 KB matters on a phone). */
function vendorHlsJs(): express.RequestHandler {
  let cached: { raw: Buffer; gz: Buffer; etag: string } | undefined;
  const load = () => {
    if (!cached) {
      const raw = fs.readFileSync(HLS_JS);
      const version = (JSON.parse(fs.readFileSync(path.join(path.dirname(HLS_JS), '../package.json'), 'utf8')) as { version: string }).version;
      cached = { raw, gz: zlib.gzipSync(raw, { level: 9 }), etag: `"hls.js-${version}-${raw.length}"` };
    }
    return cached;
  };
  return (req, res) => {
    const file = load();
    res.set({
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=86400',
      etag: file.etag,
      vary: 'accept-encoding',
      'x-content-type-options': 'nosniff',
    });
    if (req.headers['if-none-match'] === file.etag) {
      res.status(304).end();
      return;
    }
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    if (gzip) res.set('content-encoding', 'gzip');
    res.send(gzip ? file.gz : file.raw);
  };
}
