/**
 * Validation of GetHLSStreamingSessionURL / GetDASHStreamingSessionURL request bodies, exactly as
 * kvs-api.md §5.2 describes them. Pure: returns what the session will be bound to.
 */
import {
  CONTAINER_FORMATS,
  DISCONTINUITY_MODES,
  DISPLAY_MODES,
  PLAYBACK_MODES,
  SELECTOR_KINDS,
  type PlaybackMode,
  type PlaybackProtocol,
  type SessionClaims,
} from '../hls/types.ts';
import { invalidArgument } from '../shared/errors.ts';
import { epochSecondsToMs, intInRange } from './selectors.ts';

/** A validated session request: the session claims minus what the token adds (stream, anchor, expiry). */
export type PlaybackRequest = Pick<
  SessionClaims,
  'protocol' | 'mode' | 'container' | 'selector' | 'discontinuity' | 'displayTimestamp' | 'displayFragmentNumber' | 'maxResults'
> & { expiresInSec: number };

export const EXPIRES_MIN_SEC = 300;
export const EXPIRES_MAX_SEC = 43_200;
export const MAX_FRAGMENT_RESULTS = 5000;
const DAY_MS = 24 * 3600_000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const present = (v: unknown): boolean => v !== undefined && v !== null;

function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[], fallback: T): T {
  if (!present(value)) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw invalidArgument(`${field} must be one of ${allowed.join(', ')}.`);
  }
  return value as T;
}

/** `nowMs` checks that SERVER_TIMESTAMP ranges end in the past, as KVS requires. */
export function parsePlaybackRequest(protocol: PlaybackProtocol, body: Record<string, unknown>, nowMs: number): PlaybackRequest {
  const mode = oneOf(body.PlaybackMode, 'PlaybackMode', PLAYBACK_MODES, 'LIVE');
  const selectorField = protocol === 'HLS' ? 'HLSFragmentSelector' : 'DASHFragmentSelector';
  const selector = parseSelector(body[selectorField], selectorField, mode, nowMs);
  const container = protocol === 'HLS' ? oneOf(body.ContainerFormat, 'ContainerFormat', CONTAINER_FORMATS, 'FRAGMENTED_MP4') : 'FRAGMENTED_MP4';
  // KVS: ALWAYS for server timestamps (they jitter), NEVER for producer timestamps. DASH has no such member.
  const discontinuity =
    protocol === 'HLS'
      ? oneOf(body.DiscontinuityMode, 'DiscontinuityMode', DISCONTINUITY_MODES, selector.kind === 'SERVER_TIMESTAMP' ? 'ALWAYS' : 'NEVER')
      : 'NEVER';
  const displayTimestamp = oneOf(body.DisplayFragmentTimestamp, 'DisplayFragmentTimestamp', DISPLAY_MODES, 'NEVER');
  const displayFragmentNumber =
    protocol === 'DASH' ? oneOf(body.DisplayFragmentNumber, 'DisplayFragmentNumber', DISPLAY_MODES, 'NEVER') : 'NEVER';
  const maxField = protocol === 'HLS' ? 'MaxMediaPlaylistFragmentResults' : 'MaxManifestFragmentResults';
  const maxResults = intInRange(body[maxField], maxField, 1, MAX_FRAGMENT_RESULTS, mode === 'ON_DEMAND' ? 1000 : 5);
  const expiresInSec = intInRange(body.Expires, 'Expires', EXPIRES_MIN_SEC, EXPIRES_MAX_SEC, EXPIRES_MIN_SEC);
  return { protocol, mode, container, selector, discontinuity, displayTimestamp, displayFragmentNumber, maxResults, expiresInSec };
}

function parseSelector(value: unknown, field: string, mode: PlaybackMode, nowMs: number): PlaybackRequest['selector'] {
  if (present(value) && !isObject(value)) throw invalidArgument(`${field} must be an object.`);
  const sel = isObject(value) ? value : {};
  const kind = oneOf(sel.FragmentSelectorType, `${field}.FragmentSelectorType`, SELECTOR_KINDS, 'SERVER_TIMESTAMP');
  const range = sel.TimestampRange;
  if (mode === 'LIVE') {
    if (present(range)) throw invalidArgument(`${field}.TimestampRange must not be set when PlaybackMode is LIVE.`);
    return { kind };
  }
  if (!isObject(range)) throw invalidArgument(`${field}.TimestampRange is required when PlaybackMode is ${mode}.`);
  if (!present(range.StartTimestamp)) throw invalidArgument(`${field}.TimestampRange.StartTimestamp is required.`);
  const startMs = epochSecondsToMs(range.StartTimestamp, `${field}.TimestampRange.StartTimestamp`);
  if (!present(range.EndTimestamp)) {
    if (mode === 'ON_DEMAND') throw invalidArgument(`${field}.TimestampRange.EndTimestamp is required when PlaybackMode is ON_DEMAND.`);
    return { kind, startMs };
  }
  const endMs = epochSecondsToMs(range.EndTimestamp, `${field}.TimestampRange.EndTimestamp`);
  if (endMs <= startMs) throw invalidArgument(`${field}.TimestampRange.EndTimestamp must be later than StartTimestamp.`);
  if (endMs - startMs > DAY_MS) throw invalidArgument(`${field}.TimestampRange.EndTimestamp must be within 24 hours of StartTimestamp.`);
  if (kind === 'SERVER_TIMESTAMP' && endMs > nowMs) {
    throw invalidArgument(`${field}.TimestampRange.EndTimestamp must be in the past for SERVER_TIMESTAMP.`);
  }
  return { kind, startMs, endMs };
}
