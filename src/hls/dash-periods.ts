/**
 * Stable DASH Periods for a session (ISO/IEC 23009-1 §5.3.2): once a Period is announced, its
 * `start` and `presentationTimeOffset` never change on later MPD reloads. Players (ffmpeg,
 * GStreamer dashdemux2, VLC, dash.js) tie their position to those two values, so the plan is
 * extended fragment by fragment and only ever grows at the end.
 *
 * A new Period begins where the media (tfdt) timeline does not continue: a new init segment
 * (codec private data change), a gap or an overlap (a producer reconnecting with a restarted
 * clock). Its start is the end of the previous Period, or later when real time says so (LIVE:
 * the fragment's server arrival, so availability times stay close to the wall clock). ffmpeg
 * follows only one Period; GStreamer, VLC and dash.js move on to the next.
 */

export interface PeriodInput {
  /** The session's media sequence number of the fragment (stable per session). */
  msn: number;
  /** Start on the media (tfdt) timeline, ms. */
  mediaTimeMs: number;
  durationMs: number;
  initSequence: number;
  serverTimestampMs: number;
  /** Σ durations of the session's fragments before this one. */
  offsetMs: number;
}

export interface DashPeriod {
  /** Period@id, also named in segment URLs: the first fragment's MSN. */
  id: string;
  firstMsn: number;
  initSequence: number;
  /** Period@start relative to the MPD's availabilityStartTime (dynamic) or presentation start (static), ms. */
  startMs: number;
  /** presentationTimeOffset: media time of the Period's first fragment, ms. */
  ptoMs: number;
  /** Duration of the Period's first fragment (dynamic MPDs keep it listed, see dash-manifest.ts). */
  firstDurationMs: number;
  /** End of its last fragment on the media timeline, ms. */
  mediaEndMs: number;
  /** End of its last fragment as a session offset (PeriodInput.offsetMs + durationMs). */
  offsetEndMs: number;
}

export interface PeriodPlan {
  periods: DashPeriod[];
  /** MSN after the last fragment planned. */
  nextMsn: number;
}

/** Media-time gap or overlap between consecutive fragments beyond which a new Period starts. */
export const PERIOD_BREAK_MS = 100;

export interface PeriodOptions {
  /**
   * Dynamic MPDs. The first Period starts at 0 and its presentationTimeOffset is `originMs`, the
   * media time of presentation time 0 (the session's first fragment), even when the plan is
   * built after that fragment left the window; presentation time is then the session offset.
   * With `realTimeAnchorMs` (LIVE: availabilityStartTime) a later Period never starts before its
   * first fragment's arrival.
   */
  dynamic?: { originMs: number; realTimeAnchorMs?: number };
}

export function periodEndMs(p: DashPeriod): number {
  return p.startMs + (p.mediaEndMs - p.ptoMs);
}

/**
 * Adds the fragments the plan has not seen (MSN ≥ plan.nextMsn), in MSN order. Without a plan
 * (a new session, or one whose plan was evicted) the first fragment starts a Period at its
 * session offset (LIVE: its arrival).
 */
export function extendPeriods(plan: PeriodPlan | undefined, fragments: readonly PeriodInput[], opts: PeriodOptions = {}): PeriodPlan {
  const out: PeriodPlan = plan ? { periods: plan.periods.slice(), nextMsn: plan.nextMsn } : { periods: [], nextMsn: 0 };
  for (const f of fragments) {
    if (plan && f.msn < out.nextMsn) continue;
    const last = out.periods.at(-1);
    // A LIVE window may have slid past fragments no reload saw: the media timeline continues when
    // it advanced as far as the session's own clock (Σ durations) did since the plan's last fragment.
    const expectedMediaTimeMs = last ? last.mediaEndMs + (f.offsetMs - last.offsetEndMs) : 0;
    const continues =
      last !== undefined && last.initSequence === f.initSequence && Math.abs(f.mediaTimeMs - expectedMediaTimeMs) <= PERIOD_BREAK_MS;
    if (continues) {
      out.periods[out.periods.length - 1] = { ...last, mediaEndMs: f.mediaTimeMs + f.durationMs, offsetEndMs: f.offsetMs + f.durationMs };
    } else {
      const earliest = last ? periodEndMs(last) : 0;
      const d = opts.dynamic;
      const natural = d?.realTimeAnchorMs !== undefined ? f.serverTimestampMs - d.realTimeAnchorMs : f.offsetMs;
      const first = d !== undefined && last === undefined;
      const startMs = first ? 0 : Math.max(earliest, Math.round(natural), 0);
      out.periods.push({
        id: String(f.msn),
        firstMsn: f.msn,
        initSequence: f.initSequence,
        startMs,
        ptoMs: Math.round(first && d ? d.originMs : f.mediaTimeMs),
        // A plan built after the session's first fragment left the window spans up to the first one it sees.
        firstDurationMs: Math.max(1, Math.round(first && d && f.offsetMs > 0 ? f.mediaTimeMs - d.originMs : f.durationMs)),
        mediaEndMs: f.mediaTimeMs + f.durationMs,
        offsetEndMs: f.offsetMs + f.durationMs,
      });
    }
    out.nextMsn = f.msn + 1;
  }
  return out;
}

/** Drops Periods none of whose fragments are at or after `firstMsn` (the window slid past them). */
export function trimPeriods(plan: PeriodPlan, firstMsn: number): PeriodPlan {
  let i = 0;
  while (i + 1 < plan.periods.length && plan.periods[i + 1]!.firstMsn <= firstMsn) i++;
  return i === 0 ? plan : { periods: plan.periods.slice(i), nextMsn: plan.nextMsn };
}

/** The Period a fragment belongs to. */
export function periodOf(plan: PeriodPlan, msn: number): DashPeriod | undefined {
  let found: DashPeriod | undefined;
  for (const p of plan.periods) if (p.firstMsn <= msn) found = p;
  return found;
}
