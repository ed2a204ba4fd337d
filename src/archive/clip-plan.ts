/**
 * Pure parts of GetClip: request validation, which stored fragments make up the clip (time
 * order, duplicates dropped, truncated like KVS) and where each one goes on the clip timeline.
 */
import { invalidArgument } from '../shared/errors.ts';
import type { DemuxedFragment, MediaTrack } from '../media/types.ts';
import type { FragmentRecord, TimestampKind } from '../store/types.ts';
import { parseFragmentSelector, type FragmentSelector } from './selectors.ts';

const DAY_MS = 24 * 3600_000;

export function parseClipSelector(value: unknown): FragmentSelector {
  const selector = parseFragmentSelector(value, 'ClipFragmentSelector');
  if (selector.endMs <= selector.startMs) {
    throw invalidArgument('ClipFragmentSelector.TimestampRange.EndTimestamp must be later than StartTimestamp.');
  }
  if (selector.endMs - selector.startMs > DAY_MS) {
    throw invalidArgument('ClipFragmentSelector.TimestampRange.EndTimestamp must be within 24 hours of StartTimestamp.');
  }
  return selector;
}

export const timestampOf = (kind: TimestampKind, r: FragmentRecord): number =>
  kind === 'SERVER_TIMESTAMP' ? r.serverTimestampMs : r.producerTimestampMs;

/**
 * Keeps the clip's first `max` fragments in time order. Called once per index batch so memory
 * stays bounded however many fragments the range holds. With producer timestamps, a fragment is
 * a re-ingest of time the clip already has (dropped; the oldest ingest wins, as KVS documents
 * for GetClip) when it starts at the same time as, or before the middle of, the fragment kept
 * before it. Server timestamps never repeat, and a producer uploading its backlog in a burst
 * gets server timestamps closer together than the fragments are long, so they are not deduplicated.
 */
export function mergeClipFragments(
  kept: readonly FragmentRecord[],
  batch: readonly FragmentRecord[],
  kind: TimestampKind,
  max: number,
): FragmentRecord[] {
  const all = [...kept, ...batch].sort(
    (a, b) => timestampOf(kind, a) - timestampOf(kind, b) || (a.fragmentNumber < b.fragmentNumber ? -1 : 1),
  );
  const out: FragmentRecord[] = [];
  for (const r of all) {
    const prev = out.at(-1);
    const reIngest = kind === 'PRODUCER_TIMESTAMP' && prev && r.producerTimestampMs < prev.producerTimestampMs + Math.max(1, prev.durationMs / 2);
    if (reIngest) continue;
    out.push(r);
    if (out.length >= max) break;
  }
  return out;
}

/**
 * What must stay the same for fragments to share one init segment: track numbers, codecs,
 * codec private data and picture/audio format. Other header bytes (segment UID, muxer name)
 * change on every producer reconnect and do not matter.
 */
export function trackSignature(tracks: readonly MediaTrack[]): string {
  return tracks
    .map((t) =>
      [t.number, t.kind, t.codecId, t.codecPrivate?.toString('base64') ?? '', t.width ?? '', t.height ?? '', t.sampleRate ?? '', t.channels ?? ''].join(':'),
    )
    .join('|');
}

/**
 * Places fragments on a clip timeline that starts at 0. Producer timestamps position each
 * fragment (gaps are kept); a fragment that would overlap or go back in time is moved to the
 * end of the previous one, so decode times in the MP4 only ever grow.
 */
export class ClipTimeline {
  private originMs: number | undefined;
  private endMs = 0;

  /** Returns a copy of the fragment with pts/dts moved onto the clip timeline. */
  place(record: FragmentRecord, fragment: DemuxedFragment): DemuxedFragment {
    const minDts = fragment.samples.reduce((m, s) => Math.min(m, s.dtsMs), fragment.startMs);
    // With B-frames decode starts before presentation; the first fragment's decode start is 0.
    this.originMs ??= record.producerTimestampMs - (fragment.startMs - minDts);
    const wanted = record.producerTimestampMs - this.originMs;
    const decodeStart = Math.max(wanted - (fragment.startMs - minDts), this.endMs);
    const shift = decodeStart - minDts;
    const samples = fragment.samples.map((s) => ({ ...s, ptsMs: s.ptsMs + shift, dtsMs: s.dtsMs + shift }));
    this.endMs = samples.reduce((m, s) => Math.max(m, s.dtsMs + s.durationMs), this.endMs);
    return { ...fragment, samples, startMs: fragment.startMs + shift };
  }
}
