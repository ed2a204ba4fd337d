/** Where EXT-X-DISCONTINUITY goes (DiscontinuityMode, kvs-api.md §5.2). */
import type { DiscontinuityMode } from './types.ts';

/** KVS: ON_DISCONTINUITY marks a gap or overlap larger than this between consecutive fragments. */
export const DISCONTINUITY_THRESHOLD_MS = 50;

export interface TimelinePoint {
  /** Start per the session's selector, ms. */
  timestampMs: number;
  durationMs: number;
  initSequence: number;
}

/**
 * Whether a discontinuity precedes `cur`. A change of init segment (codec private data) always is
 * one, whatever the mode: players must reset their decoder there. The session's first fragment
 * carries one only in ALWAYS mode, as KVS's playlists do.
 */
export function isDiscontinuity(prev: TimelinePoint | undefined, cur: TimelinePoint, mode: DiscontinuityMode): boolean {
  if (mode === 'ALWAYS') return true;
  if (!prev) return false;
  if (prev.initSequence !== cur.initSequence) return true;
  if (mode === 'NEVER') return false;
  return Math.abs(cur.timestampMs - (prev.timestampMs + prev.durationMs)) > DISCONTINUITY_THRESHOLD_MS;
}
