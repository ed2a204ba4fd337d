/**
 * Which media to evict under disk pressure: pure, so the policy is unit-tested without a disk.
 *
 * The unit is a whole segment file: fragments are appended into per-stream segments, and only
 * removing a whole file gives bytes back to the filesystem. Policy:
 * 1. Per-stream cap (`--max-bytes`): a stream above it loses its oldest segments until it fits.
 * 2. Free-space floor (`--min-free-space`): fair share. The stream holding the most bytes gives up
 *    its oldest segment, and again, until the floor is met. A quiet camera's history is not wiped
 *    because a busy one filled the disk; streams converge towards equal shares, each keeping its
 *    newest footage.
 * Within a stream, eviction is strictly oldest first: it stops at a segment that is not evictable
 * yet (bytes still being committed) rather than punch a hole in the middle of the history.
 * When nothing closed is left to take, the plan names open segments to seal (close, so that the
 * next append starts a new file) so that a later pass can evict them.
 */

export interface SegmentUsage {
  streamId: number;
  /** Segment names sort oldest first within a stream. */
  segment: string;
  bytes: number;
  /** Closed (not appended to) and settled: every byte committed to the index, or untouched for long. */
  evictable: boolean;
  /** The stream's open segment, the one appends go to. */
  active: boolean;
}

export interface EvictionInput {
  segments: readonly SegmentUsage[];
  /** Bytes to free for the filesystem to be back at its floor (0 when above it). */
  needBytes: number;
  /** Cap on each stream's media bytes; undefined means none. */
  maxBytesPerStream?: number;
}

export type EvictionReason = 'cap' | 'floor';

export interface EvictionPlan {
  evict: Array<SegmentUsage & { reason: EvictionReason }>;
  /** Streams whose open segment should be sealed so that a later pass can evict it. */
  seal: number[];
  freedBytes: number;
  /** What the floor still lacks after the evictions (sealing is not counted: it frees nothing yet). */
  shortfall: number;
}

interface StreamUsage {
  streamId: number;
  /** Remaining segments, oldest first. */
  segments: SegmentUsage[];
  total: number;
}

export function planEviction(input: EvictionInput): EvictionPlan {
  const streams = groupByStream(input.segments);
  const evict: EvictionPlan['evict'] = [];
  const seal = new Set<number>();
  let freed = 0;

  const take = (s: StreamUsage, reason: EvictionReason): number => {
    const seg = s.segments.shift()!;
    s.total -= seg.bytes;
    evict.push({ ...seg, reason });
    freed += seg.bytes;
    return seg.bytes;
  };
  const nextEvictable = (s: StreamUsage): boolean => s.segments[0]?.evictable === true;
  const onlyOpenLeft = (s: StreamUsage): boolean => s.segments.length > 0 && s.segments.every((x) => x.active) && s.total > 0;

  if (input.maxBytesPerStream !== undefined) {
    const cap = input.maxBytesPerStream;
    for (const s of streams) {
      while (s.total > cap && nextEvictable(s)) take(s, 'cap');
      if (s.total > cap && onlyOpenLeft(s)) seal.add(s.streamId);
    }
  }

  let need = Math.max(0, input.needBytes - freed);
  while (need > 0) {
    let biggest: StreamUsage | undefined;
    for (const s of streams) {
      if (nextEvictable(s) && (!biggest || s.total > biggest.total)) biggest = s;
    }
    if (!biggest) break;
    need = Math.max(0, need - take(biggest, 'floor'));
  }
  if (need > 0) {
    // Nothing closed is left: seal the largest open segments, enough to cover the shortfall.
    let covered = 0;
    for (const s of [...streams].sort((a, b) => b.total - a.total)) {
      if (covered >= need) break;
      if (!onlyOpenLeft(s) || seal.has(s.streamId)) continue;
      seal.add(s.streamId);
      covered += s.total;
    }
  }
  return { evict, seal: [...seal], freedBytes: freed, shortfall: need };
}

function groupByStream(segments: readonly SegmentUsage[]): StreamUsage[] {
  const byStream = new Map<number, StreamUsage>();
  for (const seg of segments) {
    let s = byStream.get(seg.streamId);
    if (!s) byStream.set(seg.streamId, (s = { streamId: seg.streamId, segments: [], total: 0 }));
    s.segments.push(seg);
    s.total += seg.bytes;
  }
  for (const s of byStream.values()) s.segments.sort((a, b) => (a.segment < b.segment ? -1 : a.segment > b.segment ? 1 : 0));
  // Ties in size go to the lower stream id: deterministic plans.
  return [...byStream.values()].sort((a, b) => a.streamId - b.streamId);
}
