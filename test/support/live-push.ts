/**
 * Producers for end-to-end tests: ffmpeg pushing a fixture to PutMedia (looped at real time to
 * keep a stream live, or once), plus small KVS JSON calls over fetch.
 */
import { runFfmpeg, spawnFfmpeg, type FfmpegProcess } from '../../src/media-tools/ffmpeg.ts';
import { presignedPutMediaUrl, signedFetch } from './auth.ts';

/** ffmpeg cannot sign: it POSTs to a presigned PutMedia URL (as `kestrel presign put-media` prints). */
function putMediaArgs(url: string, stream: string): string[] {
  return [
    '-c', 'copy', '-f', 'matroska', '-cluster_size_limit', '10M', '-cluster_time_limit', '10000',
    '-method', 'POST', '-headers', `x-amzn-stream-name: ${stream}\r\nx-amzn-fragment-timecode-type: ABSOLUTE\r\n`,
    presignedPutMediaUrl(url, stream),
  ];
}

/** Pushes `file` in a loop at real time until stopped: a camera that stays live. */
export function pushLive(url: string, stream: string, file: string): FfmpegProcess {
  return spawnFfmpeg(['-re', '-stream_loop', '-1', '-i', file, ...putMediaArgs(url, stream)]);
}

/** Pushes `file` once (at real time with `realtime`), resolving when ffmpeg is done. */
export async function pushOnce(url: string, stream: string, file: string, realtime = false): Promise<void> {
  await runFfmpeg([...(realtime ? ['-re'] : []), '-i', file, ...putMediaArgs(url, stream)]);
}

export async function kvsCall<T = Record<string, unknown>>(url: string, op: string, body: unknown): Promise<T> {
  const res = await signedFetch(`${url}/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${op} → ${res.status} ${res.headers.get('x-amzn-errortype') ?? ''} ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

export async function createStream(url: string, name: string, retentionHours = 24): Promise<void> {
  await kvsCall(url, 'createStream', { StreamName: name, DataRetentionInHours: retentionHours });
}

export interface ListedFragment {
  FragmentNumber: string;
  ServerTimestamp: number;
  FragmentLengthInMilliseconds: number;
  FragmentSizeInBytes: number;
}

/** All fragments by server timestamp in [startMs, endMs], sorted. */
export async function listAll(url: string, stream: string, startMs = 0, endMs = Date.now() + 60_000): Promise<ListedFragment[]> {
  const out: ListedFragment[] = [];
  let token: string | undefined;
  do {
    const page = await kvsCall<{ Fragments: ListedFragment[]; NextToken?: string }>(url, 'listFragments', token
      ? { StreamName: stream, NextToken: token }
      : { StreamName: stream, FragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: startMs / 1000, EndTimestamp: endMs / 1000 } } });
    out.push(...page.Fragments);
    token = page.NextToken;
  } while (token);
  return out.sort((a, b) => a.ServerTimestamp - b.ServerTimestamp);
}

/** Polls until the stream has at least `n` fragments (or throws after `timeoutMs`). */
export async function waitForFragments(url: string, stream: string, n: number, timeoutMs = 30_000): Promise<ListedFragment[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = await listAll(url, stream);
    if (list.length >= n) return list;
    if (Date.now() > deadline) throw new Error(`${stream}: ${list.length} fragments after ${timeoutMs} ms, wanted ${n}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** GetHLSStreamingSessionURL with DisplayFragmentTimestamp ALWAYS; extra fields are merged in. */
export async function hlsUrl(url: string, body: Record<string, unknown>): Promise<string> {
  const res = await kvsCall<{ HLSStreamingSessionURL: string }>(url, 'getHLSStreamingSessionURL', { DisplayFragmentTimestamp: 'ALWAYS', Expires: 3600, ...body });
  return res.HLSStreamingSessionURL;
}
