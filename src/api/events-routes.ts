/**
 * Detection events over HTTP: list/get from the EventStore, a live SSE feed from the EventFeed
 * (`id:` = feed seq; reconnecting clients resume with Last-Event-ID), and the local snapshot files.
 *
 *   GET /api/v1/events?stream=S&from=ms&to=ms&limit=N&nextToken=T&order=asc|desc[&job=ID]
 *     (live detection events; with `job` a batch analysis job's events, `stream` then optional)
 *   GET /api/v1/events/stream[?stream=S]          (text/event-stream)
 *   GET /api/v1/events/summary?streams=A,B&since=ms  (per-stream counts for the viewer's grid)
 *   GET /api/v1/events/:id                        (event with its message history)
 *   GET /snapshots/<key>                          (LocalSnapshotStore files)
 */
import express, { type Response } from 'express';
import { wrap } from './respond.ts';
import type { EventStore, ListEventsQuery } from '../events/event-store.ts';
import type { EventFeed, FeedItem } from '../notify/event-feed.ts';
import type { LocalSnapshotStore } from '../notify/local-snapshot-store.ts';

export interface EventsRouteDeps {
  store: EventStore;
  feed: EventFeed;
  snapshots: LocalSnapshotStore;
  /** SSE keep-alive comment interval; default 15 s. */
  heartbeatMs?: number;
}

const SUMMARY_MAX_STREAMS = 200;

const bad = (res: Response, message: string) => void res.status(400).json({ message });
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function intParam(v: unknown): number | undefined | 'bad' {
  const s = str(v);
  if (s === undefined) return undefined;
  return /^-?\d{1,16}$/.test(s) ? Number(s) : 'bad';
}

export function eventsRouter(deps: EventsRouteDeps): express.Router {
  const router = express.Router({ caseSensitive: true });

  router.get('/api/v1/events', wrap(async (req, res) => {
    const stream = str(req.query.stream);
    const job = str(req.query.job);
    if (!stream && !job) return bad(res, 'stream is required');
    const q: ListEventsQuery = { ...(stream ? { stream } : {}), ...(job ? { job } : {}) };
    for (const k of ['from', 'to', 'limit'] as const) {
      const n = intParam(req.query[k]);
      if (n === 'bad') return bad(res, `${k} must be an integer`);
      if (n !== undefined) q[k] = n;
    }
    if (q.limit !== undefined && (q.limit < 1 || q.limit > 1000)) return bad(res, 'limit must be 1..1000');
    const token = str(req.query.nextToken);
    if (token) q.nextToken = token;
    const order = str(req.query.order);
    if (order !== undefined && order !== 'asc' && order !== 'desc') return bad(res, 'order must be asc or desc');
    if (order) q.order = order;
    try {
      res.set('cache-control', 'no-store').json(await deps.store.list(q));
    } catch (err) {
      if ((err as Error).message === 'invalid nextToken') return bad(res, 'invalid nextToken');
      throw err;
    }
  }));

  router.get('/api/v1/events/stream', (req, res) => {
    const lastId = Number(req.get('last-event-id') ?? str(req.query.lastEventId) ?? NaN);
    const stream = str(req.query.stream);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(': kestrel events\n\n');
    const send = (item: FeedItem) => {
      res.write(`id: ${item.seq}\nevent: ${item.event.type}\ndata: ${JSON.stringify(item.event)}\n\n`);
    };
    const unsubscribe = deps.feed.subscribe(send, {
      ...(stream !== undefined ? { stream } : {}),
      ...(Number.isInteger(lastId) && lastId >= 0 ? { afterSeq: lastId } : {}),
    });
    const hb = setInterval(() => res.write(': ping\n\n'), deps.heartbeatMs ?? 15_000);
    hb.unref();
    const done = () => {
      clearInterval(hb);
      unsubscribe();
    };
    req.on('close', done);
    res.on('close', done);
  });

  // Before /:id. Counts events started since `since` (default: the last hour), at most 100 per
  // stream (`more` says there are more), and how many of those are still open.
  router.get('/api/v1/events/summary', wrap(async (req, res) => {
    const names = [...new Set((str(req.query.streams) ?? '').split(',').filter(Boolean))];
    if (names.length > SUMMARY_MAX_STREAMS) return bad(res, `at most ${SUMMARY_MAX_STREAMS} streams`);
    const since = intParam(req.query.since);
    if (since === 'bad') return bad(res, 'since must be an integer');
    const from = since ?? Date.now() - 3_600_000;
    const streams: Record<string, { count: number; active: number; more: boolean; latestStartTime: number | null }> = {};
    for (const stream of names) {
      const page = await deps.store.list({ stream, from, order: 'desc', limit: 100 });
      streams[stream] = {
        count: page.events.length,
        active: page.events.filter((e) => e.state !== 'end').length,
        more: page.nextToken !== undefined,
        latestStartTime: page.events[0]?.startTime ?? null,
      };
    }
    res.set('cache-control', 'no-store').json({ since: from, streams });
  }));

  router.get('/api/v1/events/:id', wrap(async (req, res) => {
    const ev = await deps.store.get(String(req.params.id));
    if (!ev) return void res.status(404).json({ message: 'event not found' });
    res.set('cache-control', 'no-store').json(ev);
  }));

  router.get('/snapshots/*key', wrap(async (req, res) => {
    const raw = (req.params as { key?: string | string[] }).key;
    const key = Array.isArray(raw) ? raw.join('/') : (raw ?? '');
    let snap;
    try {
      snap = await deps.snapshots.read(key);
    } catch {
      return void res.status(404).json({ message: 'snapshot not found' });
    }
    if (!snap) return void res.status(404).json({ message: 'snapshot not found' });
    res.set('cache-control', 'private, max-age=3600').type(snap.contentType).send(snap.body);
  }));

  return router;
}
