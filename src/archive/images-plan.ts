/**
 * Pure parts of GetImages: request validation, the sample instants of one page, which fragment
 * and frame each instant shows, and the NextToken (opaque base64, like KVS's) that carries the
 * range and where the next page starts.
 */
import { invalidArgument } from '../shared/errors.ts';
import type { TimestampKind } from '../store/types.ts';
import { epochSecondsToMs, intInRange } from './selectors.ts';

/** KVS limits (kvs-api.md §5.4, §9). */
export const MAX_IMAGES_RANGE_MS = 300_000;
export const MIN_SAMPLING_INTERVAL_MS = 200;
export const MAX_IMAGES_PER_PAGE = 25;
export const MAX_RESULTS_LIMIT = 100;
export const DEFAULT_JPEG_QUALITY = 80;
export const MAX_WIDTH_PIXELS = 3840;
export const MAX_HEIGHT_PIXELS = 2160;

/** The range a token walks through; fixed by the first request of a pagination. */
export interface ImageRange {
  kind: TimestampKind;
  startMs: number;
  endMs: number;
  /** undefined: one image, at the start. */
  intervalMs: number | undefined;
}

export interface ImagesRequest {
  range: ImageRange;
  /** Index (k in start + k·interval) of the page's first instant. */
  firstIndex: number;
  pageSize: number;
  format: 'JPEG' | 'PNG';
  jpegQuality: number;
  /** Output size; a missing side follows the source aspect ratio, both missing = source size. */
  width?: number;
  height?: number;
}

export function parseImagesRequest(body: Record<string, unknown>, streamId: number): ImagesRequest {
  const format = body.Format;
  if (format !== 'JPEG' && format !== 'PNG') throw invalidArgument('Format must be JPEG or PNG.');
  const maxResults = intInRange(body.MaxResults, 'MaxResults', 1, MAX_RESULTS_LIMIT, MAX_IMAGES_PER_PAGE);
  const hasToken = body.NextToken !== undefined && body.NextToken !== null;
  const { range, firstIndex } = hasToken ? decodeImagesToken(body.NextToken, streamId) : { range: parseRange(body), firstIndex: 0 };
  const width = optionalInt(body.WidthPixels, 'WidthPixels', MAX_WIDTH_PIXELS);
  const height = optionalInt(body.HeightPixels, 'HeightPixels', MAX_HEIGHT_PIXELS);
  return {
    range,
    firstIndex,
    pageSize: Math.min(maxResults, MAX_IMAGES_PER_PAGE),
    format,
    jpegQuality: parseJpegQuality(body.FormatConfig),
    ...(width !== undefined ? { width } : {}),
    ...(height !== undefined ? { height } : {}),
  };
}

function parseRange(body: Record<string, unknown>): ImageRange {
  const kind = body.ImageSelectorType;
  if (kind !== 'PRODUCER_TIMESTAMP' && kind !== 'SERVER_TIMESTAMP') {
    throw invalidArgument('ImageSelectorType must be PRODUCER_TIMESTAMP or SERVER_TIMESTAMP.');
  }
  const startMs = epochSecondsToMs(body.StartTimestamp, 'StartTimestamp');
  const endMs = epochSecondsToMs(body.EndTimestamp, 'EndTimestamp');
  if (endMs < startMs) throw invalidArgument('EndTimestamp must not be before StartTimestamp.');
  if (endMs - startMs > MAX_IMAGES_RANGE_MS) {
    throw invalidArgument('The range between StartTimestamp and EndTimestamp must be at most 300 seconds.');
  }
  const interval = body.SamplingInterval;
  if (interval === undefined || interval === null) return { kind, startMs, endMs, intervalMs: undefined };
  if (typeof interval !== 'number' || !Number.isInteger(interval) || interval < MIN_SAMPLING_INTERVAL_MS) {
    throw invalidArgument(`SamplingInterval must be an integer of at least ${MIN_SAMPLING_INTERVAL_MS} ms.`);
  }
  return { kind, startMs, endMs, intervalMs: interval };
}

function optionalInt(value: unknown, field: string, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  return intInRange(value, field, 1, max, 1);
}

function parseJpegQuality(config: unknown): number {
  if (config === undefined || config === null) return DEFAULT_JPEG_QUALITY;
  if (typeof config !== 'object' || Array.isArray(config)) throw invalidArgument('FormatConfig must be a map.');
  const entries = Object.entries(config as Record<string, unknown>);
  const unknown = entries.find(([key]) => key !== 'JPEGQuality');
  if (unknown) throw invalidArgument(`FormatConfig key ${unknown[0]} is not supported (only JPEGQuality).`);
  const value = (config as Record<string, unknown>).JPEGQuality;
  if (value === undefined) return DEFAULT_JPEG_QUALITY;
  if (typeof value !== 'string' || !/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > 100) {
    throw invalidArgument('FormatConfig.JPEGQuality must be a string from "1" to "100".');
  }
  return Number(value);
}

/** Number of sample instants in the range: start, start + interval, … while ≤ end. */
export function instantCount(range: ImageRange): number {
  if (range.intervalMs === undefined) return 1;
  return Math.floor((range.endMs - range.startMs) / range.intervalMs) + 1;
}

export interface ImagePage {
  instantsMs: number[];
  /** Index of the next page's first instant, when there is one. */
  nextIndex?: number;
}

export function planImagePage(range: ImageRange, firstIndex: number, pageSize: number): ImagePage {
  const total = instantCount(range);
  const end = Math.min(total, firstIndex + pageSize);
  const instantsMs: number[] = [];
  for (let k = firstIndex; k < end; k++) instantsMs.push(range.startMs + k * (range.intervalMs ?? 0));
  return end < total ? { instantsMs, nextIndex: end } : { instantsMs };
}

export function encodeImagesToken(streamId: number, range: ImageRange, nextIndex: number): string {
  const t = { v: 1, s: streamId, k: range.kind, a: range.startMs, b: range.endMs, i: range.intervalMs ?? 0, n: nextIndex };
  return Buffer.from(JSON.stringify(t)).toString('base64');
}

export function decodeImagesToken(token: unknown, streamId: number): { range: ImageRange; firstIndex: number } {
  if (typeof token !== 'string' || token.length > 4096 || !/^[a-zA-Z0-9+/]+={0,2}$/.test(token)) {
    throw invalidArgument('NextToken is not valid.');
  }
  try {
    const t = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as Record<string, unknown>;
    const { k, a, b, i, n } = t;
    if (t.v !== 1 || t.s !== streamId || (k !== 'SERVER_TIMESTAMP' && k !== 'PRODUCER_TIMESTAMP')) throw new Error();
    if (![a, b, i, n].every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)) throw new Error();
    const range: ImageRange = { kind: k, startMs: a as number, endMs: b as number, intervalMs: i ? (i as number) : undefined };
    if (range.endMs < range.startMs || range.endMs - range.startMs > MAX_IMAGES_RANGE_MS) throw new Error();
    if ((i as number) !== 0 && (i as number) < MIN_SAMPLING_INTERVAL_MS) throw new Error();
    if ((n as number) >= instantCount(range)) throw new Error();
    return { range, firstIndex: n as number };
  } catch {
    throw invalidArgument('NextToken is not valid for this stream.');
  }
}

/**
 * The fragment covering each instant (start ≤ t < start + duration), or undefined in a gap.
 * Where fragments overlap: on producer time that is a re-ingest and the oldest ingest wins, as
 * in GetClip; on server time it is a burst upload and the latest arrival by t wins.
 */
export function coveringFragments<R extends { fragmentNumber: string; durationMs: number }>(
  instantsMs: readonly number[],
  records: readonly R[],
  timestamp: (r: R) => number,
  prefer: 'oldest-ingest' | 'latest-start',
): Array<R | undefined> {
  const better = (r: R, best: R) =>
    prefer === 'oldest-ingest' ? r.fragmentNumber < best.fragmentNumber : timestamp(r) > timestamp(best) || (timestamp(r) === timestamp(best) && r.fragmentNumber > best.fragmentNumber);
  return instantsMs.map((t) => {
    let best: R | undefined;
    for (const r of records) {
      const start = timestamp(r);
      if (start <= t && t < start + Math.max(1, r.durationMs) && (!best || better(r, best))) best = r;
    }
    return best;
  });
}

/**
 * The frame shown at media time `atMs`: the last one presented at or before it. An instant
 * before the first decodable frame (audio often starts a cluster a few ms early, and a
 * keyframe's leading B-frames cannot be decoded) shows that first decodable frame instead of
 * NO_MEDIA. `framePtsMs` is ascending; frames before `firstDecodableMs` are skipped.
 */
export function frameAt(framePtsMs: readonly number[], firstDecodableMs: number, atMs: number): number | undefined {
  let chosen: number | undefined;
  for (const pts of framePtsMs) {
    if (pts < firstDecodableMs) continue;
    if (chosen === undefined || pts <= atMs) chosen = pts;
    else break;
  }
  return chosen;
}
