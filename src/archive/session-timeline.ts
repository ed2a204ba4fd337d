/**
 * The fragments of a playback session in playlist order, numbered the way playlists need:
 * media sequence numbers (MSN), discontinuity flags and init-segment sequence numbers.
 *
 * Every number is a pure function of the session (its claims) and the index: a session walks its
 * stream's fragments from the token's anchor in fragment-number order, so a fragment always gets
 * the same MSN, on every reload and after a server restart. The walk's state is cached per
 * session so each reload only reads the fragments that are new since the previous one.
 */
import { isDiscontinuity, type TimelinePoint } from '../hls/discontinuity.ts';
import type { DiscontinuityMode, SessionClaims } from '../hls/types.ts';
import type { Clock } from '../shared/clock.ts';
import type { FragmentIndex, FragmentRecord } from '../store/types.ts';
import { LruCache } from './lru-cache.ts';
import type { TrackCatalog } from './track-catalog.ts';

export interface TimelineEntry {
  record: FragmentRecord;
  msn: number;
  /** Start per the session's selector (producer or server timestamp), ms. */
  timestampMs: number;
  initSequence: number;
  initKey: string;
  discontinuity: boolean;
  /** Σ durations of the session's fragments before this one (DASH Period starts). */
  offsetMs: number;
}

export interface TimelineView {
  /** The playlist window, oldest first. */
  entries: readonly TimelineEntry[];
  /** Discontinuity tags on fragments before the window (EXT-X-DISCONTINUITY-SEQUENCE). */
  discontinuitySequence: number;
  /** No fragment will be added (ON_DEMAND; LIVE_REPLAY past its EndTimestamp). */
  ended: boolean;
  /** The session's first fragment (MSN 0): DASH's presentation origin. */
  first?: FragmentRecord;
  /** Init SequenceNumber → header id. */
  inits: readonly number[];
  /** Longest fragment the session has listed so far (EXT-X-TARGETDURATION must not shrink). */
  maxDurationMs: number;
  /** LIVE_REPLAY: playback-time offset of the last fragment shown at once (later ones are paced from it). */
  replayLeadMs: number;
}

interface WalkState {
  after: string;
  nextMsn: number;
  discontinuities: number;
  inits: number[];
  last?: TimelineEntry;
  first?: FragmentRecord;
  /** Σ durations walked, and the start offset of the last fragment shown at once (LIVE_REPLAY pacing). */
  offsetMs: number;
  leadOffsetMs: number;
  maxDurationMs: number;
  window: TimelineEntry[];
  exhausted: boolean;
}

const BATCH = 500;
/** LIVE_REPLAY shows this many fragments at once (a player needs a few to start), then paces the rest. */
const REPLAY_LEAD_FRAGMENTS = 3;

export interface TimelineDeps {
  index: FragmentIndex;
  catalog: TrackCatalog;
  clock: Clock;
}

export class SessionTimelines {
  private readonly walks = new LruCache<string, WalkState>(2000);
  private readonly fixed = new LruCache<string, TimelineView>(500);
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: TimelineDeps) {}

  /** `key` identifies the session (its token). */
  view(key: string, claims: SessionClaims): Promise<TimelineView> {
    return this.serialized(key, () => (claims.mode === 'ON_DEMAND' ? this.onDemand(key, claims) : this.walk(key, claims)));
  }

  private async onDemand(key: string, claims: SessionClaims): Promise<TimelineView> {
    const cached = this.fixed.get(key);
    if (cached) return cached;
    const records = await this.rangeFragments(claims);
    const state = newState(claims.anchor);
    for (const r of records) await this.push(state, claims, r);
    const view: TimelineView = { entries: state.window, discontinuitySequence: 0, ended: true, inits: state.inits, replayLeadMs: 0, maxDurationMs: state.maxDurationMs, ...(state.first ? { first: state.first } : {}) };
    this.fixed.set(key, view);
    return view;
  }

  /** ON_DEMAND: the oldest MaxResults fragments starting in the range; producer-timestamp duplicates keep the newest. */
  private async rangeFragments(claims: SessionClaims): Promise<FragmentRecord[]> {
    const { kind, startMs = 0, endMs = Number.MAX_SAFE_INTEGER } = claims.selector;
    const byTimestamp = new Map<number, FragmentRecord>();
    const out: FragmentRecord[] = [];
    let after: string | undefined;
    while (out.length < claims.maxResults) {
      const rows = await this.deps.index.range({ streamId: claims.streamId, kind, startMs, endMs, afterFragmentNumber: after, limit: BATCH });
      for (const r of rows) {
        if (kind === 'PRODUCER_TIMESTAMP') byTimestamp.set(r.producerTimestampMs, r);
        else out.push(r);
      }
      if (kind === 'PRODUCER_TIMESTAMP') {
        out.length = 0;
        out.push(...[...byTimestamp.values()].sort((a, b) => a.producerTimestampMs - b.producerTimestampMs));
      }
      if (rows.length < BATCH) break;
      after = rows.at(-1)!.fragmentNumber;
    }
    return out.slice(0, claims.maxResults);
  }

  private async walk(key: string, claims: SessionClaims): Promise<TimelineView> {
    const state = this.walks.get(key) ?? newState(claims.anchor);
    const { index, clock } = this.deps;
    const { kind, startMs = 0, endMs } = claims.selector;
    const elapsed = clock.now() - claims.issuedAtMs;
    const lead = Math.min(REPLAY_LEAD_FRAGMENTS, claims.maxResults);
    let paused = false;
    while (!paused && !state.exhausted) {
      const rows =
        claims.mode === 'LIVE'
          ? await index.after(claims.streamId, state.after, BATCH)
          : await index.range({ streamId: claims.streamId, kind, startMs, endMs: endMs ?? Number.MAX_SAFE_INTEGER, afterFragmentNumber: state.after, limit: BATCH });
      for (const r of rows) {
        // LIVE_REPLAY adds a fragment once the previous ones' duration has elapsed since the session began.
        if (claims.mode === 'LIVE_REPLAY' && state.nextMsn >= lead && state.offsetMs - state.leadOffsetMs > elapsed) {
          paused = true;
          break;
        }
        await this.push(state, claims, r);
        if (state.window.length > claims.maxResults) state.window.shift();
      }
      if (rows.length < BATCH) {
        // A LIVE_REPLAY with an end has nothing more to add once its range is read (a SERVER_TIMESTAMP end is in the past).
        if (!paused && claims.mode === 'LIVE_REPLAY' && endMs !== undefined) {
          state.exhausted = true;
        }
        break;
      }
    }
    this.walks.set(key, state);
    const shown = state.window.reduce((n, e) => n + (e.discontinuity ? 1 : 0), 0);
    return {
      entries: state.window.slice(),
      discontinuitySequence: state.discontinuities - shown,
      ended: state.exhausted,
      inits: state.inits,
      replayLeadMs: state.leadOffsetMs,
      maxDurationMs: state.maxDurationMs,
      ...(state.first ? { first: state.first } : {}),
    };
  }

  private async push(state: WalkState, claims: SessionClaims, record: FragmentRecord): Promise<void> {
    const header = await this.deps.catalog.get(record.headerId);
    if (header.error) {
      // Unplayable tracks (e.g. a CodecID the packagers do not support) leave this fragment out,
      // not the session: the walk moves past it and numbers only what can be played.
      state.after = record.fragmentNumber;
      return;
    }
    const prev = state.last;
    let initSequence: number;
    if (prev && prev.initKey === header.initKey) initSequence = prev.initSequence;
    else {
      initSequence = state.inits.length;
      state.inits.push(record.headerId);
    }
    const timestampMs = claims.selector.kind === 'SERVER_TIMESTAMP' ? record.serverTimestampMs : record.producerTimestampMs;
    const discontinuity = discontinuityAfter(prev, { timestampMs, durationMs: record.durationMs, initSequence }, claims.discontinuity);
    const entry: TimelineEntry = { record, msn: state.nextMsn, timestampMs, initSequence, initKey: header.initKey, discontinuity, offsetMs: state.offsetMs };
    if (state.nextMsn === Math.min(REPLAY_LEAD_FRAGMENTS, claims.maxResults) - 1) state.leadOffsetMs = state.offsetMs;
    state.first ??= record;
    state.offsetMs += record.durationMs;
    state.maxDurationMs = Math.max(state.maxDurationMs, record.durationMs);
    state.nextMsn++;
    if (discontinuity) state.discontinuities++;
    state.last = entry;
    state.after = record.fragmentNumber;
    state.window.push(entry);
  }

  /** The session's last computed window, without reading the index (segment requests use it for MSNs). */
  peek(key: string): readonly TimelineEntry[] | undefined {
    return this.fixed.get(key)?.entries ?? this.walks.get(key)?.window;
  }

  /** One walk at a time per session, so concurrent reloads never number fragments twice. */
  private serialized<T>(key: string, task: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(task, task);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return run;
  }
}

/**
 * Whether an EXT-X-DISCONTINUITY precedes the fragment that follows `prev` (the session's last
 * entry; none for its first fragment). The one rule for a fragment stored and for the LL-HLS
 * fragment still arriving: a fragment's discontinuity — and so its discontinuity sequence number
 * in every playlist — must not change when it completes.
 */
export function discontinuityAfter(prev: TimelineEntry | undefined, point: TimelinePoint, mode: DiscontinuityMode): boolean {
  const before = prev ? { timestampMs: prev.timestampMs, durationMs: prev.record.durationMs, initSequence: prev.initSequence } : undefined;
  return isDiscontinuity(before, point, mode);
}

function newState(anchor: string): WalkState {
  return { after: anchor, nextMsn: 0, discontinuities: 0, inits: [], offsetMs: 0, leadOffsetMs: 0, maxDurationMs: 0, window: [], exhausted: false };
}
