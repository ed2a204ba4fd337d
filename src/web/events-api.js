// Client for Kestrel's detection-events API (src/api/events-routes.ts): list and get events, the
// per-stream summary the grid shows, and the live SSE feed. URLs are relative like everything else.
import { ApiError } from './kvs.js';
import { sessionLost } from './session.js';

async function getJson(url, signal) {
  let res;
  try {
    res = await fetch(url, { signal, cache: 'no-store' });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new ApiError('NetworkError', 'Cannot reach the Kestrel server.', 0);
  }
  if (!res.ok) {
    if (res.status === 401) sessionLost();
    let message = res.statusText || `HTTP ${res.status}`;
    try {
      message = (await res.json()).message ?? message;
    } catch {
      // not JSON
    }
    throw new ApiError(`HTTP ${res.status}`, message, res.status);
  }
  return res.json();
}

/** One page of a stream's events, newest first: { events, nextToken? }. */
export function listEvents(stream, { limit = 20, nextToken, from, to, signal } = {}) {
  const q = new URLSearchParams({ stream, order: 'desc', limit: String(limit) });
  if (nextToken) q.set('nextToken', nextToken);
  if (from != null) q.set('from', String(Math.floor(from)));
  if (to != null) q.set('to', String(Math.ceil(to)));
  return getJson(`api/v1/events?${q}`, signal);
}

/** One event with every message it had (`history`). */
export function getEvent(id, signal) {
  return getJson(`api/v1/events/${encodeURIComponent(id)}`, signal);
}

/** { streams: { name: { count, active, more, latestStartTime } } } for events started since `sinceMs`. */
export function fetchEventSummary(names, sinceMs, signal) {
  const q = new URLSearchParams({ streams: names.join(','), since: String(Math.floor(sinceMs)) });
  return getJson(`api/v1/events/summary?${q}`, signal);
}

/**
 * Live start/update/end messages of one stream. EventSource reconnects by itself and resumes with
 * Last-Event-ID; `onState('open' | 'down')` reports the connection; `onReopen` fires after a drop
 * (the server's replay buffer is finite: callers reload their first page).
 * Returns a close function.
 */
export function openEventFeed(stream, { onMessage, onState, onReopen }) {
  const ES = window.EventSource;
  if (!ES) {
    onState?.('down');
    return () => {};
  }
  const es = new ES(`api/v1/events/stream?stream=${encodeURIComponent(stream)}`);
  let dropped = false;
  const handle = (e) => {
    try {
      onMessage(JSON.parse(e.data));
    } catch {
      // a malformed frame must not stop the feed
    }
  };
  for (const type of ['start', 'update', 'end']) es.addEventListener(type, handle);
  es.addEventListener('open', () => {
    onState?.('open');
    if (dropped) onReopen?.();
    dropped = false;
  });
  es.addEventListener('error', () => {
    dropped = true;
    onState?.('down');
  });
  return () => es.close();
}
