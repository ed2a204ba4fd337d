/**
 * DASH playback use case: the MPD for a session (static for ON_DEMAND, dynamic for LIVE and
 * LIVE_REPLAY) and the live segments addressed by Period and media time. Segments are the HLS
 * fMP4 ones (per track, same builder). Each session keeps a PeriodPlan so that Period starts,
 * presentationTimeOffsets and availabilityStartTime never move across MPD reloads.
 */
import { buildDashManifest, type DashSegment, type DashTrack } from '../hls/dash-manifest.ts';
import { extendPeriods, periodEndMs, trimPeriods, PERIOD_BREAK_MS, type PeriodPlan } from '../hls/dash-periods.ts';
import { dashTimeSegmentTemplate, initSegmentUri, mp4SegmentUri } from '../hls/uris.ts';
import type { Clock } from '../shared/clock.ts';
import { KvsError, invalidArgument } from '../shared/errors.ts';
import type { FragmentRecord } from '../store/types.ts';
import type { PlaybackResult } from './hls-service.ts';
import type { LiveParts } from './live-parts.ts';
import { LruCache } from './lru-cache.ts';
import type { OpenSession, PlaybackSessions } from './playback-sessions.ts';
import { describeRendition, type Rendition } from './rendition.ts';
import type { SegmentBuilder } from './segment-builder.ts';
import type { SessionTimelines, TimelineEntry, TimelineView } from './session-timeline.ts';
import type { TrackCatalog } from './track-catalog.ts';
export interface DashServiceDeps {
  sessions: PlaybackSessions;
  timelines: SessionTimelines;
  builder: SegmentBuilder;
  catalog: TrackCatalog;
  clock: Clock;
  /** Wakes a held segment request when the stream stores a fragment. */
  parts: LiveParts;
}

/** Longest a request for the next (not yet stored) live segment is held. */
const MAX_SEGMENT_HOLD_MS = 10_000;

export class DashService {
  /** Producer timestamp minus media (tfdt) time, per header: constant within one PutMedia session. */
  private readonly mediaOffsets = new LruCache<number, number>(512);
  /** Per session: its Periods so far and its fixed availabilityStartTime. */
  private readonly plans = new LruCache<string, SessionPlan>(2000);

  constructor(private readonly deps: DashServiceDeps) {}

  async manifest(token: unknown): Promise<PlaybackResult> {
    const s = await this.deps.sessions.open(token, 'DASH');
    const view = await this.deps.timelines.view(s.key, s.claims);
    if (view.entries.length === 0) throw new KvsError('ResourceNotFoundException', 'No fragments found in the stream for the streaming request.');
    const r = await describeRendition(this.deps.catalog, view.entries.map((e) => e.record));
    const segments = await this.segments(view.entries);
    const { plan, availabilityStartTimeMs } = this.plan(s, view, segments);
    const maxDur = Math.max(...segments.map((x) => x.durationMs));
    const dynamic = s.claims.mode !== 'ON_DEMAND' && !view.ended;
    const body = buildDashManifest({
      segments,
      periods: plan.periods,
      tracks: dashTracks(r),
      uris: {
        init: (seq, track) => initSegmentUri(s.token, seq, track),
        segment: (fn, track) => mp4SegmentUri(s.token, fn, track),
        template: (periodId, track) => dashTimeSegmentTemplate(s.token, periodId, track),
      },
      displayTimestamp: s.claims.displayTimestamp === 'ALWAYS',
      displayFragmentNumber: s.claims.displayFragmentNumber === 'ALWAYS',
      template: s.claims.mode !== 'ON_DEMAND',
      ...(dynamic ? { live: liveTiming(plan, segments, availabilityStartTimeMs, maxDur, this.deps.clock.now()) } : {}),
    });
    return { body, final: !dynamic };
  }

  /**
   * A live MPD's SegmentTemplate segment: the fragment at `mediaTime` (its timeline `t`) in Period
   * `period`. Players such as ffmpeg also request the segment after the newest listed one (they
   * predict its time from the timeline). That request is held until the fragment is stored (at
   * most a couple of fragment durations) and then answered 404, so the player reloads the MPD
   * and takes the segment at its exact listed time: no tight retry loop, and no segment fetched
   * twice (ffmpeg re-reads a segment it got before it was listed).
   */
  async segmentAt(token: unknown, trackNumber: unknown, period: unknown, mediaTime: unknown): Promise<PlaybackResult> {
    const s = await this.deps.sessions.open(token, 'DASH');
    const track = intParam(trackNumber, 'TrackNumber');
    const firstMsn = intParam(period, 'Period');
    const time = intParam(mediaTime, 'MediaTime');
    let deadline: number | undefined;
    for (;;) {
      const view = await this.deps.timelines.view(s.key, s.claims);
      const next = this.plans.get(s.key)?.plan.periods.find((p) => p.firstMsn > firstMsn)?.firstMsn ?? Infinity;
      const inPeriod = view.entries.filter((e) => e.msn >= firstMsn && e.msn < next);
      let arrived = false;
      for (const e of inPeriod) {
        const t = Math.round(await this.mediaTime(e.record));
        if (t === time && deadline === undefined) return { body: await this.deps.builder.mp4Segment(e.record, e.msn + 1, track), final: true };
        arrived ||= deadline !== undefined && t >= time - PERIOD_BREAK_MS;
      }
      if (arrived) break; // the awaited fragment is listed now: the player reloads the MPD and asks for it
      if (deadline === undefined) {
        // Listed before and slid out of the window. A Period's first segment, which a live timeline
        // keeps listing, only while it still adjoins the window: ffmpeg (which ignores
        // timeShiftBufferDepth) would otherwise play it and jump over the gap after it.
        const known = this.plans.get(s.key)?.listed?.find((x) => x.msn >= firstMsn && x.msn < next && x.t === time);
        const detachedFirst = known !== undefined && known.msn === firstMsn && (inPeriod[0]?.msn ?? Infinity) > known.msn + 1;
        if (known && !detachedFirst) return { body: await this.deps.builder.mp4Segment(known.entry.record, known.msn + 1, track), final: true };
      }
      const newest = inPeriod.at(-1);
      const upcoming =
        newest && next === Infinity && !view.ended && Math.abs((await this.mediaTime(newest.record)) + newest.record.durationMs - time) <= PERIOD_BREAK_MS;
      const now = this.deps.clock.now();
      deadline ??= now + Math.min(MAX_SEGMENT_HOLD_MS, 2 * Math.max(1000, view.maxDurationMs));
      if (!upcoming || now >= deadline) break;
      // Stored fragments wake the wait; LIVE_REPLAY lists paced fragments without one, so re-check.
      await this.deps.parts.changed(s.claims.streamId, Math.min(deadline - now, 500), true);
    }
    throw new KvsError('ResourceNotFoundException', `No fragment at media time ${time} in period ${firstMsn} of this session.`);
  }

  private async segments(entries: readonly TimelineEntry[]): Promise<DashSegment[]> {
    const out: DashSegment[] = [];
    for (const e of entries) {
      out.push({
        fragmentNumber: e.record.fragmentNumber,
        msn: e.msn,
        mediaTimeMs: await this.mediaTime(e.record),
        durationMs: e.record.durationMs,
        timestampMs: e.timestampMs,
        initSequence: e.initSequence,
      });
    }
    return out;
  }

  /** Extends the session's plan with the fragments it has not seen; creates it on first use. */
  private plan(s: OpenSession, view: TimelineView, segments: DashSegment[]): SessionPlan {
    const entries = view.entries;
    const dynamic = s.claims.mode !== 'ON_DEMAND';
    const first = entries[0]!;
    // Media time of presentation time 0 (the session's first fragment).
    const originMs = segments[0]!.mediaTimeMs - first.offsetMs;
    const prior = this.plans.get(s.key) ?? { plan: undefined, ...timing(s, view, first, segments[0]!.mediaTimeMs) };
    const inputs = entries.map((e, i) => ({
      msn: e.msn,
      mediaTimeMs: segments[i]!.mediaTimeMs,
      durationMs: e.record.durationMs,
      initSequence: e.initSequence,
      serverTimestampMs: e.record.serverTimestampMs,
      offsetMs: e.offsetMs,
    }));
    const opts = dynamic
      ? { dynamic: { originMs: prior.originMs ?? originMs, ...(s.claims.mode === 'LIVE' ? { realTimeAnchorMs: prior.availabilityStartTimeMs } : {}) } }
      : {};
    const plan = trimPeriods(extendPeriods(prior.plan, inputs, opts), first.msn);
    const next: SessionPlan = { ...prior, plan, listed: rememberListed(this.plans.get(s.key)?.listed ?? [], entries, segments) };
    this.plans.set(s.key, next);
    return next;
  }

  /** Start of a fragment on the media timeline its fMP4 segment's tfdt uses, ms. */
  private async mediaTime(record: FragmentRecord): Promise<number> {
    const offset = await this.mediaOffsets.getOrLoad(record.headerId, async () => {
      const fragment = await this.deps.builder.demux(record);
      return record.producerTimestampMs - fragment.startMs;
    });
    return record.producerTimestampMs - offset;
  }
}

interface SessionPlan {
  plan: PeriodPlan;
  availabilityStartTimeMs: number;
  originMs?: number;
  /** Fragments recent MPDs listed, still served for a while once the window slid past them. */
  listed?: ListedSegment[];
}

interface ListedSegment {
  msn: number;
  /** Its timeline `t` (ms), the `MediaTime` of its URL. */
  t: number;
  entry: TimelineEntry;
}

/** Recently listed segments kept per session. */
const LISTED_KEEP = 64;

/**
 * A player may fetch a segment a moment after the window slid past it (a slow browser): the
 * session remembers what its MPDs listed (the last LISTED_KEEP), so that stays answerable.
 */
function rememberListed(prior: readonly ListedSegment[], entries: readonly TimelineEntry[], segments: readonly DashSegment[]): ListedSegment[] {
  const newest = prior.at(-1)?.msn ?? -1;
  const added = entries.flatMap((entry, i) => (entry.msn > newest ? [{ msn: entry.msn, t: Math.round(segments[i]!.mediaTimeMs), entry }] : []));
  return [...prior, ...added].slice(-LISTED_KEEP);
}

/**
 * Fixed for the session. Presentation time is the session offset in the first Period (its
 * presentationTimeOffset is the media time of the session's first fragment), so
 * availabilityStartTime is the wall-clock time of the session's start. LIVE: a fragment became
 * available on arrival. LIVE_REPLAY: the fragments shown at once are all available when the
 * session is issued, later ones as their pacing lists them.
 */
function timing(s: OpenSession, view: TimelineView, first: TimelineEntry, firstMediaTimeMs: number): { availabilityStartTimeMs: number; originMs: number } {
  const originMs = firstMediaTimeMs - first.offsetMs;
  if (s.claims.mode === 'LIVE') return { availabilityStartTimeMs: first.record.serverTimestampMs - first.offsetMs, originMs };
  const lead = view.entries.find((e) => e.offsetMs === view.replayLeadMs);
  const leadEndMs = view.replayLeadMs + (lead?.record.durationMs ?? view.maxDurationMs);
  return { availabilityStartTimeMs: s.claims.issuedAtMs - leadEndMs, originMs };
}

function liveTiming(plan: PeriodPlan, segments: DashSegment[], astMs: number, maxDur: number, now: number) {
  const span = segments.reduce((n, x) => n + x.durationMs, 0);
  const timeShiftBufferDepthMs = Math.ceil((span + maxDur) / 1000) * 1000;
  const last = plan.periods.at(-1);
  // The MPD last changed when its newest segment became available.
  const newestAvailableMs = last ? astMs + periodEndMs(last) : now;
  return {
    availabilityStartTimeMs: astMs,
    publishTimeMs: Math.max(astMs, Math.min(now, newestAvailableMs)),
    minimumUpdatePeriodMs: Math.max(1000, Math.round(maxDur / 2)),
    timeShiftBufferDepthMs,
    suggestedPresentationDelayMs: Math.max(maxDur, Math.min(3 * maxDur, timeShiftBufferDepthMs - maxDur)),
  };
}

function intParam(value: unknown, name: string): number {
  if (typeof value !== 'string' || !/^[0-9]{1,15}$/.test(value)) throw invalidArgument(`${name} must be a non-negative integer.`);
  return Number(value);
}

/** Nominal audio bitrate: fragments carry one total size, so the video share is the rest. */
const AUDIO_BANDWIDTH = 128_000;

function dashTracks(r: Rendition): DashTrack[] {
  const audioCount = r.codecs.filter((c) => c.kind === 'audio').length;
  return r.codecs.map((c) => ({
    number: c.track,
    kind: c.kind,
    codec: c.codecString,
    bandwidth: c.kind === 'audio' ? AUDIO_BANDWIDTH : Math.max(100_000, r.bandwidth - audioCount * AUDIO_BANDWIDTH),
    ...(c.kind === 'video' ? { width: c.width, height: c.height } : { sampleRate: c.sampleRate }),
  }));
}
