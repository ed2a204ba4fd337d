/**
 * Stream overview for the web viewer's grid: per stream, whether it is live, when its last
 * fragment arrived, its recent bitrate and how many fragments it received since a given day start.
 * Reads only the fragment index (no media), so a grid refresh costs a few indexed queries per stream.
 */
import type { Clock } from '../shared/clock.ts';
import type { FragmentIndex, FragmentRecord, StreamRecord } from '../store/types.ts';

export type StreamState = 'LIVE' | 'IDLE' | 'EMPTY';

export interface StreamSummary {
  name: string;
  arn: string;
  status: StreamRecord['status'];
  mediaType: string | null;
  dataRetentionInHours: number;
  creationTimeMs: number;
  /** LIVE: a fragment ended within the live window; IDLE: has fragments, none recent; EMPTY: none stored. */
  state: StreamState;
  lastFragment: {
    fragmentNumber: string;
    serverTimestampMs: number;
    producerTimestampMs: number;
    durationMs: number;
    sizeBytes: number;
  } | null;
  /** Bits per second over the last few fragments (bytes / their total duration); null without fragments. */
  recentBitrateBps: number | null;
  /** Fragments whose server timestamp is at or after `dayStartMs`. */
  fragmentsToday: number;
}

export interface StreamOverviewOptions {
  index: FragmentIndex;
  clock: Clock;
  /** A stream is LIVE when its newest fragment ended at most this long ago (default 10 s). */
  liveWindowMs?: number;
  /** How many recent fragments the bitrate is computed over (default 10). */
  bitrateFragments?: number;
}

interface DayCount {
  dayStartMs: number;
  count: number;
  /** Newest fragment number counted; later calls only read fragments after it. */
  lastNumber: string | undefined;
}

const PAGE = 1000;
const MAX_CACHED_STREAMS = 10_000;

export class StreamOverview {
  private readonly liveWindowMs: number;
  private readonly bitrateFragments: number;
  /** Per stream id: today's count so far, updated incrementally from the index. */
  private readonly dayCounts = new Map<number, DayCount>();
  /** Summaries run one at a time so concurrent requests never double-count into the cache. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: StreamOverviewOptions) {
    this.liveWindowMs = opts.liveWindowMs ?? 10_000;
    this.bitrateFragments = opts.bitrateFragments ?? 10;
  }

  summarize(streams: readonly StreamRecord[], dayStartMs: number): Promise<StreamSummary[]> {
    const run = this.queue.then(async () => {
      const out: StreamSummary[] = [];
      for (const s of streams) out.push(await this.summarizeOne(s, dayStartMs));
      return out;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Forgets cached counts of streams that no longer exist (ids are never reused). */
  forgetExcept(liveIds: ReadonlySet<number>): void {
    for (const id of this.dayCounts.keys()) if (!liveIds.has(id)) this.dayCounts.delete(id);
  }

  private async summarizeOne(s: StreamRecord, dayStartMs: number): Promise<StreamSummary> {
    const base = {
      name: s.name,
      arn: s.arn,
      status: s.status,
      mediaType: s.mediaType,
      dataRetentionInHours: s.dataRetentionInHours,
      creationTimeMs: s.creationTimeMs,
    };
    const latest = await this.opts.index.latest(s.id);
    if (!latest) {
      this.dayCounts.delete(s.id);
      return { ...base, state: 'EMPTY', lastFragment: null, recentBitrateBps: null, fragmentsToday: 0 };
    }
    const endedAgo = this.opts.clock.now() - (latest.serverTimestampMs + latest.durationMs);
    return {
      ...base,
      state: endedAgo <= this.liveWindowMs ? 'LIVE' : 'IDLE',
      lastFragment: {
        fragmentNumber: latest.fragmentNumber,
        serverTimestampMs: latest.serverTimestampMs,
        producerTimestampMs: latest.producerTimestampMs,
        durationMs: latest.durationMs,
        sizeBytes: latest.sizeBytes,
      },
      recentBitrateBps: await this.recentBitrate(s.id, latest),
      fragmentsToday: await this.countSince(s.id, dayStartMs, latest),
    };
  }

  private async recentBitrate(streamId: number, latest: FragmentRecord): Promise<number | null> {
    // A window wide enough to hold N fragments of the newest one's length, whatever the GOP.
    const spanMs = 2 * this.bitrateFragments * Math.max(latest.durationMs, 1000);
    const rows = await this.opts.index.range({
      streamId,
      kind: 'SERVER_TIMESTAMP',
      startMs: latest.serverTimestampMs - spanMs,
      endMs: latest.serverTimestampMs,
      limit: PAGE,
    });
    const recent = rows.slice(-this.bitrateFragments);
    if (recent.length === 0) recent.push(latest);
    const bytes = recent.reduce((n, r) => n + r.sizeBytes, 0);
    const ms = recent.reduce((n, r) => n + r.durationMs, 0);
    return ms > 0 ? Math.round((bytes * 8 * 1000) / ms) : null;
  }

  private async countSince(streamId: number, dayStartMs: number, latest: FragmentRecord): Promise<number> {
    let entry = this.dayCounts.get(streamId);
    if (!entry || entry.dayStartMs !== dayStartMs) {
      entry = await this.fullCount(streamId, dayStartMs, latest);
    } else if (entry.lastNumber !== latest.fragmentNumber) {
      // Fragment numbers grow with ingestion order, so everything after the last counted one is new.
      for (;;) {
        const rows = await this.opts.index.after(streamId, entry.lastNumber, PAGE);
        for (const r of rows) if (r.serverTimestampMs >= dayStartMs) entry.count++;
        entry.lastNumber = rows.at(-1)?.fragmentNumber ?? entry.lastNumber;
        if (rows.length < PAGE) break;
      }
    }
    if (!this.dayCounts.has(streamId) && this.dayCounts.size >= MAX_CACHED_STREAMS) this.dayCounts.clear();
    this.dayCounts.set(streamId, entry);
    return entry.count;
  }

  private async fullCount(streamId: number, dayStartMs: number, latest: FragmentRecord): Promise<DayCount> {
    const entry: DayCount = { dayStartMs, count: 0, lastNumber: undefined };
    let after: string | undefined;
    for (;;) {
      const rows = await this.opts.index.range({
        streamId,
        kind: 'SERVER_TIMESTAMP',
        startMs: dayStartMs,
        endMs: Number.MAX_SAFE_INTEGER,
        afterFragmentNumber: after,
        limit: PAGE,
      });
      entry.count += rows.length;
      after = rows.at(-1)?.fragmentNumber ?? after;
      if (rows.length < PAGE) break;
    }
    // Counting resumes after the newest fragment counted, or after the newest one overall when none
    // arrived today (fragment numbers follow ingestion order).
    entry.lastNumber = after !== undefined && after > latest.fragmentNumber ? after : latest.fragmentNumber;
    return entry;
  }
}
