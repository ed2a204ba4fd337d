/**
 * LL-HLS parts. A fragment still arriving (the live feed's progress: header + cluster children
 * so far) is demuxed as it grows and cut into parts with the deterministic plan of
 * src/hls/parts.ts; once stored, the same fragment re-splits into the same parts, so part URIs
 * stay valid after their fragment completes.
 */
import { withoutBrokenSamples } from '../codec/index.ts';
import { element, MKV_ID } from '../mkv/index.ts';
import { planParts, samplesOfPart, type PlannedPart } from '../hls/parts.ts';
import { demuxFragment } from '../media/demux-mkv.ts';
import type { DemuxedFragment } from '../media/types.ts';
import type { FragmentProgress, LiveFeed } from '../store/live-feed.ts';
import type { FragmentRecord } from '../store/types.ts';
import { LruCache } from './lru-cache.ts';
import { describeHeader, type HeaderTracks } from './track-catalog.ts';
import { mp4Segment, withSamples, type SegmentBuilder } from './segment-builder.ts';

/** A third of a second: 1 s fragments become 3 parts (plus a short tail), PART-HOLD-BACK about 1 s. */
export const DEFAULT_PART_TARGET_MS = 333;
/** A progress report older than this belongs to a producer that went away mid-fragment. */
const STALE_PROGRESS_MS = 30_000;
/** Per-stream watchers nobody asked about for this long are dropped. */
const WATCH_IDLE_MS = 5 * 60_000;

/** A fragment cut into parts: the one arriving (complete=false) or a stored one. */
export interface PartedFragment {
  fragmentNumber: string;
  serverTimestampMs: number;
  producerTimestampMs: number;
  complete: boolean;
  fragment: DemuxedFragment;
  parts: PlannedPart[];
  leadTrack: number;
  /** Only for the arriving fragment: its header's tracks (its header is not in the index yet). */
  header?: HeaderTracks;
}

interface StreamWatch {
  /** Fragments seen arriving and not yet stored, in arrival order. */
  arriving: Set<string>;
  lastUsedMs: number;
  unsubscribe: () => void;
}

export class LiveParts {
  private readonly watches = new Map<number, StreamWatch>();
  private readonly stored = new LruCache<string, PartedFragment>(32);
  private readonly headers = new WeakMap<Buffer, HeaderTracks>();
  /** Per stream: the arriving fragment's cut, keyed by how many blocks it had (re-cut only when it grew). */
  private readonly openCuts = new Map<number, { key: string; value: PartedFragment }>();

  constructor(
    private readonly feed: LiveFeed,
    private readonly builder: SegmentBuilder,
    readonly partTargetMs = DEFAULT_PART_TARGET_MS,
  ) {}

  /**
   * The fragment arriving on a stream, cut into its complete parts so far. Undefined when none,
   * or while an earlier fragment is still being stored (its successor's MSN is not known yet).
   */
  open(streamId: number, nowMs: number): PartedFragment | undefined {
    const watch = this.watch(streamId);
    const p = this.feed.progress(streamId);
    if (!p || p.serverTimestampMs < nowMs - STALE_PROGRESS_MS) return undefined;
    for (const fn of watch.arriving) if (fn < p.fragmentNumber) return undefined;
    const key = `${p.fragmentNumber}/${p.blocks}`;
    let cut = this.openCuts.get(streamId);
    if (cut?.key !== key) {
      cut = { key, value: this.cutArriving(p) };
      this.openCuts.set(streamId, cut);
    }
    return cut.value;
  }

  /** Parts of a stored fragment (same boundaries as while it arrived). */
  async ofStored(record: FragmentRecord): Promise<PartedFragment> {
    return this.stored.getOrLoad(`${record.streamId}/${record.fragmentNumber}`, async () => {
      const fragment = await this.builder.demux(record);
      const leadTrack = leadTrackOf(fragment);
      return {
        fragmentNumber: record.fragmentNumber,
        serverTimestampMs: record.serverTimestampMs,
        producerTimestampMs: record.producerTimestampMs,
        complete: true,
        fragment,
        parts: this.plan(fragment, leadTrack, true),
        leadTrack,
      };
    });
  }

  /** fMP4 bytes (moof+mdat) of one part. */
  partBytes(parted: PartedFragment, part: PlannedPart, sequenceNumber: number): Buffer {
    return mp4Segment(withSamples(parted.fragment, samplesOfPart(parted.fragment.samples, part, parted.leadTrack)), sequenceNumber);
  }

  /**
   * Resolves at the next progress report or stored fragment of the stream (only the latter with
   * `storedOnly`: plain playlists change only then), or after `timeoutMs`.
   */
  changed(streamId: number, timeoutMs: number, storedOnly = false): Promise<void> {
    if (!storedOnly) this.watch(streamId);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        offProgress();
        offStored();
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      timer.unref();
      const offProgress = storedOnly ? () => {} : this.feed.subscribeProgress(streamId, done);
      // Stored here or on another node (live bus), or a resync after a bus outage.
      const offStored = this.feed.subscribeStored(streamId, done);
    });
  }

  close(): void {
    for (const w of this.watches.values()) w.unsubscribe();
    this.watches.clear();
    this.openCuts.clear();
  }

  private cutArriving(p: FragmentProgress): PartedFragment {
    const cluster = element(MKV_ID.Cluster, [...p.clusterChildren]);
    // Cut like the stored fragment will be (SegmentBuilder.demux), so part boundaries agree.
    const { fragment } = withoutBrokenSamples(demuxFragment(p.header, cluster));
    let header = this.headers.get(p.header);
    if (!header) {
      header = describeHeader(-1, p.header);
      this.headers.set(p.header, header);
    }
    const leadTrack = leadTrackOf(fragment);
    return {
      fragmentNumber: p.fragmentNumber,
      serverTimestampMs: p.serverTimestampMs,
      producerTimestampMs: p.producerTimestampMs,
      complete: false,
      fragment,
      parts: this.plan(fragment, leadTrack, false),
      leadTrack,
      header,
    };
  }

  private plan(fragment: DemuxedFragment, leadTrack: number, complete: boolean): PlannedPart[] {
    return planParts(fragment.samples, { partTargetMs: this.partTargetMs, leadTrack, tracks: fragment.tracks.map((t) => t.number), complete });
  }

  /** Remembers which fragments are arriving, so a successor is not numbered before its predecessor is stored. */
  private watch(streamId: number): StreamWatch {
    const now = Date.now();
    for (const [id, w] of this.watches) {
      if (id !== streamId && w.lastUsedMs < now - WATCH_IDLE_MS) {
        w.unsubscribe();
        this.watches.delete(id);
        this.openCuts.delete(id);
      }
    }
    let w = this.watches.get(streamId);
    if (!w) {
      const arriving = new Set<string>();
      const offProgress = this.feed.subscribeProgress(streamId, (p) => arriving.add(p.fragmentNumber));
      // Stored fragments (and any earlier ones whose producer went away mid-fragment) are no longer arriving.
      const offStored = this.feed.subscribeStored(streamId, (n) => {
        if (!n.record) return;
        for (const fn of arriving) if (fn <= n.record.fragmentNumber) arriving.delete(fn);
      });
      w = { arriving, lastUsedMs: now, unsubscribe: () => (offProgress(), offStored()) };
      this.watches.set(streamId, w);
    }
    w.lastUsedMs = now;
    return w;
  }
}

/** Parts are timed on the video track when there is one. */
function leadTrackOf(fragment: DemuxedFragment): number {
  return (fragment.tracks.find((t) => t.kind === 'video') ?? fragment.tracks[0])?.number ?? 1;
}
