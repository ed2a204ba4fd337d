// Client for the calls the viewer makes: Kestrel's /api/v1/streams overview and the KVS archived-media
// API (kvs-api.md §5) over plain fetch. URLs are relative so the viewer also works behind a path prefix.
// Calls ride on the session cookie; POSTs carry the session's CSRF token (session.js).
import { csrfHeaders, sessionLost } from './session.js';

/** Server limits on GetClip output (kvs-api.md §5.3). */
export const CLIP_MAX_FRAGMENTS = 200;
export const CLIP_MAX_BYTES = 100 * 1024 * 1024;

export class ApiError extends Error {
  constructor(type, message, status) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

async function toError(res) {
  const type = (res.headers.get('x-amzn-ErrorType') ?? '').split(':')[0] || `HTTP ${res.status}`;
  let message = res.statusText || 'Request failed';
  try {
    const body = await res.json();
    message = body.Message ?? body.message ?? message;
  } catch {
    // not JSON: keep the status text
  }
  return new ApiError(type, message, res.status);
}

async function post(op, body, signal, headers = {}) {
  let res;
  try {
    res = await fetch(op, { method: 'POST', headers: { 'content-type': 'application/json', ...csrfHeaders(), ...headers }, body: JSON.stringify(body), signal });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new ApiError('NetworkError', 'Cannot reach the Kestrel server.', 0);
  }
  if (!res.ok) throw await failed(res);
  return res;
}

/**
 * The error for a failed response. No valid session (401 from Kestrel's API, the AWS-shaped
 * MissingAuthenticationTokenException on KVS operations) ends the page's session: the sign-in form shows.
 */
export async function failed(res) {
  const err = await toError(res);
  if (res.status === 401 || err.type === 'MissingAuthenticationTokenException') sessionLost();
  return err;
}

const secs = (ms) => Math.round(ms) / 1000;

/** GET api/v1/streams; also estimates the server-minus-client clock offset. */
export async function fetchOverview(dayStartMs, signal) {
  const sent = Date.now();
  let res;
  try {
    res = await fetch(`api/v1/streams?dayStart=${Math.round(dayStartMs)}`, { signal, cache: 'no-store' });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new ApiError('NetworkError', 'Cannot reach the Kestrel server.', 0);
  }
  if (!res.ok) throw await failed(res);
  const body = await res.json();
  const received = Date.now();
  return { ...body, clockOffsetMs: body.serverTimeMs - (sent + received) / 2 };
}

/**
 * Every fragment whose server timestamp starts in [startMs, endMs], sorted by time. Long windows
 * are split into slices listed in parallel (ListFragments pages are sequential within a slice).
 * Returns compact records { n, t, p, d, size } (number, server start ms, producer start ms, duration ms, bytes).
 */
export async function listFragments(stream, startMs, endMs, { signal, onProgress } = {}) {
  const sliceMs = 3_600_000;
  const slices = [];
  for (let s = startMs; s <= endMs; s += sliceMs) slices.push([s, Math.min(endMs, s + sliceMs - 1)]);
  const out = [];
  let next = 0;
  const worker = async () => {
    while (next < slices.length) {
      const [a, b] = slices[next++];
      let token;
      do {
        const body = token
          ? { StreamName: stream, NextToken: token, MaxResults: 1000 }
          : {
              StreamName: stream,
              MaxResults: 1000,
              FragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: secs(a), EndTimestamp: secs(b) } },
            };
        const page = await (await post('listFragments', body, signal)).json();
        for (const f of page.Fragments ?? []) {
          out.push({ n: f.FragmentNumber, t: Math.round(f.ServerTimestamp * 1000), p: Math.round(f.ProducerTimestamp * 1000), d: f.FragmentLengthInMilliseconds, size: f.FragmentSizeInBytes });
        }
        onProgress?.(out.length);
        token = page.NextToken;
      } while (token);
    }
  };
  await Promise.all(Array.from({ length: Math.min(3, slices.length) }, worker));
  const seen = new Set();
  return out
    .filter((f) => !seen.has(f.n) && seen.add(f.n))
    .sort((x, y) => x.t - y.t || (x.n < y.n ? -1 : 1));
}

/**
 * GetHLSStreamingSessionURL. mode: LIVE | LIVE_REPLAY | ON_DEMAND. The returned URL is rebased onto
 * this page's origin: the server answers with its own idea of its address (often 127.0.0.1), which a
 * phone on the LAN or a reverse proxy cannot use.
 */
export async function hlsSessionUrl(stream, { mode, startMs, endMs, container = 'FRAGMENTED_MP4', lowLatency = false, signal }) {
  const selector = { FragmentSelectorType: 'SERVER_TIMESTAMP' };
  if (mode !== 'LIVE') {
    selector.TimestampRange = { StartTimestamp: secs(startMs) };
    if (endMs != null) selector.TimestampRange.EndTimestamp = secs(endMs);
  }
  const body = {
    StreamName: stream,
    PlaybackMode: mode,
    ContainerFormat: container,
    DisplayFragmentTimestamp: 'ALWAYS',
    HLSFragmentSelector: selector,
    Expires: 43200,
  };
  // Kestrel extension (src/api/playback-routes.ts): this header binds LL-HLS (parts, preload hints,
  // blocking reloads) into a LIVE fMP4 session's token. Servers without it ignore the header.
  const ll = lowLatency && mode === 'LIVE' && container === 'FRAGMENTED_MP4' ? { [LOW_LATENCY_HEADER]: '1' } : {};
  const res = await (await post('getHLSStreamingSessionURL', body, signal, ll)).json();
  return rebase(res.HLSStreamingSessionURL);
}

export const LOW_LATENCY_HEADER = 'x-kestrel-low-latency';

function rebase(url) {
  const u = new URL(url, location.href);
  const base = new URL('.', location.href);
  const prefix = base.pathname.replace(/\/$/, '');
  const path = prefix && !u.pathname.startsWith(`${prefix}/`) ? prefix + u.pathname : u.pathname;
  return new URL(path + u.search, location.origin).href;
}

/**
 * GetClip as a Blob, with progress callbacks ({ received, total? } in bytes).
 * Returns { blob, size, contentType }.
 */
export async function getClip(stream, startMs, endMs, { signal, onProgress } = {}) {
  const res = await post(
    'getClip',
    {
      StreamName: stream,
      ClipFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: secs(startMs), EndTimestamp: secs(endMs) } },
    },
    signal,
  );
  const total = Number(res.headers.get('content-length')) || undefined;
  const contentType = res.headers.get('content-type') || 'video/mp4';
  const chunks = [];
  let received = 0;
  if (res.body) {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      received += value.byteLength;
      onProgress?.({ received, total });
    }
  } else {
    const buf = await res.arrayBuffer();
    chunks.push(new Uint8Array(buf));
    received = buf.byteLength;
  }
  return { blob: new Blob(chunks, { type: contentType }), size: received, contentType };
}

/**
 * One JPEG at `atMs` (server timestamp) via GetImages; null when the server has no media there.
 * Returns { blob, timestampMs }.
 */
export async function getStill(stream, atMs, { heightPixels, quality = 85, signal } = {}) {
  const body = {
    StreamName: stream,
    ImageSelectorType: 'SERVER_TIMESTAMP',
    StartTimestamp: secs(atMs),
    EndTimestamp: secs(atMs + 1000),
    SamplingInterval: 3000,
    Format: 'JPEG',
    FormatConfig: { JPEGQuality: String(quality) },
    MaxResults: 1,
  };
  if (heightPixels) body.HeightPixels = heightPixels;
  const res = await (await post('getImages', body, signal)).json();
  const image = (res.Images ?? []).find((i) => i.ImageContent);
  if (!image) return null;
  const raw = atob(image.ImageContent);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  const ts = typeof image.TimeStamp === 'number' ? image.TimeStamp * 1000 : Date.parse(image.TimeStamp);
  return { blob: new Blob([bytes], { type: 'image/jpeg' }), timestampMs: Number.isFinite(ts) ? ts : atMs };
}

/** DeleteStream (operators and admins; the server refuses everyone else). */
export async function deleteStream(arn, signal) {
  await post('deleteStream', { StreamARN: arn }, signal);
}
