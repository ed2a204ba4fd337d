/**
 * HLS playback use case: master and media playlists (LIVE, LIVE_REPLAY, ON_DEMAND, and LL-HLS for
 * LIVE), fMP4 init/media segments, MPEG-TS segments and LL-HLS parts. Everything is authorized by
 * the session token; nothing here knows HTTP (results say whether they can be cached for long).
 */
import { buildMasterPlaylist } from '../hls/master-playlist.ts';
import { buildMediaPlaylist, targetDurationSec, type LowLatencySpec, type OpenFragment } from '../hls/media-playlist.ts';
import type { PlannedPart } from '../hls/parts.ts';
import type { PlaylistFragment, PlaylistPart } from '../hls/types.ts';
import { initSegmentUri, mediaPlaylistUri, mp4PartUri, mp4SegmentUri, tsSegmentUri, MUXED_TRACK_NUMBER } from '../hls/uris.ts';
import type { Clock } from '../shared/clock.ts';
import { KvsError, invalidArgument } from '../shared/errors.ts';
import type { FragmentIndex, FragmentRecord } from '../store/types.ts';
import type { LiveParts, PartedFragment } from './live-parts.ts';
import type { OpenSession, PlaybackSessions } from './playback-sessions.ts';
import { describeRendition, renditionOf } from './rendition.ts';
import type { SegmentBuilder } from './segment-builder.ts';
import { discontinuityAfter, type SessionTimelines, type TimelineEntry, type TimelineView } from './session-timeline.ts';
import type { TrackCatalog } from './track-catalog.ts';

export interface PlaybackResult {
  body: Buffer | string;
  /** The bytes behind this URL never change (segments, init, VOD playlists): cache them. */
  final: boolean;
}

export interface MediaPlaylistQuery {
  /** Kestrel addition: `LowLatency=1` on the playlist URL turns LL-HLS on for a LIVE session. */
  lowLatency?: boolean;
  /** LL-HLS blocking reload delivery directives. */
  msn?: unknown;
  part?: unknown;
}

export interface HlsServiceDeps {
  sessions: PlaybackSessions;
  timelines: SessionTimelines;
  builder: SegmentBuilder;
  parts: LiveParts;
  catalog: TrackCatalog;
  index: FragmentIndex;
  clock: Clock;
}

/** Parts listed for complete segments within this many target durations of the playlist end (LL-HLS spec). */
const PART_LISTING_TARGETS = 3;

interface LiveSnapshot {
  view: TimelineView;
  open?: { parted: PartedFragment; fragment: OpenFragment };
  parts: Map<string, PlaylistPart[]>;
  /** The newest part in the playlist as (msn, part index). */
  lastPart: { msn: number; part: number } | undefined;
  lastMsn: number;
  /** EXT-X-PRELOAD-HINT: the part after the newest one (see liveSnapshot). */
  hint?: { fragmentNumber: string; part: number };
}

export class HlsService {

  constructor(private readonly deps: HlsServiceDeps) {}

  async masterPlaylist(token: unknown, query: { lowLatency?: boolean }): Promise<PlaybackResult> {
    const s = await this.deps.sessions.open(token, 'HLS');
    const view = await this.deps.timelines.view(s.key, s.claims);
    const records = view.entries.map((e) => e.record);
    // A LIVE session may start before its first fragment is stored: describe the one arriving.
    const arriving = records.length ? undefined : this.deps.parts.open(s.claims.streamId, this.deps.clock.now())?.header;
    if (arriving?.error) throw arriving.error;
    if (!records.length && !arriving?.codecs) {
      const latest = await this.deps.index.latest(s.claims.streamId);
      if (!latest) throw new KvsError('ResourceNotFoundException', 'No fragments found in the stream for the streaming request.');
      records.push(latest);
    }
    const r = arriving?.codecs ? renditionOf(arriving.codecs, []) : await describeRendition(this.deps.catalog, records);
    const body = buildMasterPlaylist({
      codecs: r.codecs.map((c) => c.codecString),
      bandwidth: r.bandwidth,
      averageBandwidth: r.averageBandwidth,
      ...(r.width && r.height ? { width: r.width, height: r.height } : {}),
      mediaPlaylistUri: mediaPlaylistUri(s.token, { lowLatency: this.lowLatency(s, query.lowLatency) && !s.claims.lowLatency }),
    });
    return { body, final: s.claims.mode === 'ON_DEMAND' };
  }

  async mediaPlaylist(token: unknown, query: MediaPlaylistQuery): Promise<PlaybackResult> {
    const s = await this.deps.sessions.open(token, 'HLS');
    if (!this.lowLatency(s, query.lowLatency)) {
      const view = await this.blockingPlainView(s, query);
      return { body: this.render(s, view), final: view.ended };
    }
    return { body: await this.blockingLivePlaylist(s, query), final: false };
  }

  /**
   * `perTrack` (DASH): TrackNumber names one MKV track and the segment holds only it. HLS: the
   * muxed rendition, TrackNumber=1.
   */
  async initSegment(token: unknown, trackNumber: unknown, sequenceNumber: unknown, opts: { perTrack?: boolean } = {}): Promise<PlaybackResult> {
    const s = await this.deps.sessions.open(token);
    const track = opts.perTrack ? intParam(trackNumber, 'TrackNumber') : checkTrack(trackNumber);
    const seq = intParam(sequenceNumber, 'SequenceNumber');
    const view = await this.deps.timelines.view(s.key, s.claims);
    const headerId = view.inits[seq];
    if (headerId === undefined) throw new KvsError('ResourceNotFoundException', `Init segment ${seq} is not part of this session.`);
    return { body: await this.deps.catalog.initSegment(headerId, track), final: true };
  }

  async mp4Fragment(token: unknown, trackNumber: unknown, fragmentNumber: unknown, opts: { perTrack?: boolean } = {}): Promise<PlaybackResult> {
    const s = await this.deps.sessions.open(token);
    const track = opts.perTrack ? intParam(trackNumber, 'TrackNumber') : checkTrack(trackNumber);
    const record = await this.fragment(s, fragmentNumber);
    return { body: await this.deps.builder.mp4Segment(record, this.sequenceNumber(s, record.fragmentNumber), track), final: true };
  }

  async tsFragment(token: unknown, fragmentNumber: unknown): Promise<PlaybackResult> {
    const s = await this.deps.sessions.open(token, 'HLS');
    const record = await this.fragment(s, fragmentNumber);
    return { body: await this.deps.builder.tsSegment(record), final: true };
  }

  /**
   * LL-HLS part (Kestrel addition). Waits for a part that is announced but not complete yet
   * (preload hints). Part n of a complete fragment of n parts is the first part of the fragment
   * after it: the preload hint of a playlist that ends with a complete segment, whose successor's
   * fragment number is not known yet.
   */
  async mp4Part(token: unknown, trackNumber: unknown, fragmentNumber: unknown, part: unknown): Promise<PlaybackResult> {
    const s = await this.deps.sessions.open(token, 'HLS');
    checkTrack(trackNumber);
    if (typeof fragmentNumber !== 'string' || !/^[0-9]{1,128}$/.test(fragmentNumber)) throw invalidArgument('FragmentNumber must be a fragment number.');
    const index = intParam(part, 'Part');
    const { streamId } = s.claims;
    const deadline = this.deps.clock.now() + this.holdMs(await this.deps.timelines.view(s.key, s.claims));
    let target = fragmentNumber;
    let k = index;
    for (;;) {
      const stored = await this.deps.index.get(streamId, target);
      const parted = stored ? await this.deps.parts.ofStored(stored) : this.deps.parts.open(streamId, this.deps.clock.now());
      if (parted && parted.fragmentNumber === target) {
        const p = parted.parts[k];
        if (p) return { body: this.deps.parts.partBytes(parted, p, this.sequenceNumber(s, target)), final: true };
        if (parted.complete) {
          if (target !== fragmentNumber || k !== parted.parts.length) break;
          const next = await this.successor(streamId, target);
          if (next !== undefined) {
            target = next;
            k = 0;
            continue;
          }
        }
      } else if (!stored && (parted ? parted.fragmentNumber > target : true)) {
        // Neither stored nor arriving: only a fragment that is being stored right now is worth waiting for.
        const latest = await this.deps.index.latest(streamId);
        if (!latest || latest.fragmentNumber >= target) break;
      }
      const left = deadline - this.deps.clock.now();
      if (left <= 0) break;
      await this.deps.parts.changed(streamId, left);
    }
    throw new KvsError('ResourceNotFoundException', `Part ${index} of fragment ${fragmentNumber} is not available.`);
  }

  /** The stream's fragment after `fragmentNumber`, stored or arriving (read first: see liveSnapshot). */
  private async successor(streamId: number, fragmentNumber: string): Promise<string | undefined> {
    const arriving = this.deps.parts.open(streamId, this.deps.clock.now());
    const [stored] = await this.deps.index.after(streamId, fragmentNumber, 1);
    if (stored) return stored.fragmentNumber;
    return arriving && arriving.fragmentNumber > fragmentNumber ? arriving.fragmentNumber : undefined;
  }

  private lowLatency(s: OpenSession, requested: boolean | undefined): boolean {
    return (s.claims.lowLatency || Boolean(requested)) && s.claims.mode === 'LIVE' && s.claims.container === 'FRAGMENTED_MP4';
  }

  private async fragment(s: OpenSession, fragmentNumber: unknown): Promise<FragmentRecord> {
    if (typeof fragmentNumber !== 'string' || !/^[0-9]{1,128}$/.test(fragmentNumber)) throw invalidArgument('FragmentNumber must be a fragment number.');
    const record = await this.deps.index.get(s.claims.streamId, fragmentNumber);
    if (!record) throw new KvsError('ResourceNotFoundException', `Fragment ${fragmentNumber} was not found in stream ${s.claims.streamName}.`);
    return record;
  }

  /** mfhd sequence_number: the fragment's MSN + 1 when the session listed it (players do not rely on it). */
  private sequenceNumber(s: OpenSession, fragmentNumber: string): number {
    const entries = this.deps.timelines.peek(s.key);
    const e = entries?.find((x) => x.record.fragmentNumber === fragmentNumber);
    if (e) return e.msn + 1;
    const last = entries?.at(-1);
    return last ? last.msn + 2 : 1;
  }

  private uris(s: OpenSession) {
    const t = s.token;
    return s.claims.container === 'MPEG_TS'
      ? { segment: (fn: string) => tsSegmentUri(t, fn) }
      : { init: (seq: number) => initSegmentUri(t, seq), segment: (fn: string) => mp4SegmentUri(t, fn), part: (fn: string, k: number) => mp4PartUri(t, fn, k) };
  }

  private render(s: OpenSession, view: TimelineView, lowLatency?: LowLatencySpec): string {
    return buildMediaPlaylist({
      fmp4: s.claims.container === 'FRAGMENTED_MP4',
      vod: s.claims.mode === 'ON_DEMAND',
      ended: view.ended,
      fragments: view.entries.map(toPlaylistFragment),
      discontinuitySequence: view.discontinuitySequence,
      programDateTime: s.claims.displayTimestamp === 'ALWAYS',
      uris: this.uris(s),
      longestFragmentMs: view.maxDurationMs,
      canBlockReload: s.claims.mode !== 'ON_DEMAND',
      ...(lowLatency ? { lowLatency } : {}),
    });
  }

  /** How long a blocking request may be held: three target durations (LL-HLS spec). */
  private holdMs(view: TimelineView): number {
    return 3 * targetDurationSec([{ durationMs: view.maxDurationMs }]) * 1000;
  }

  /**
   * LL-HLS playlist with blocking reload: with `_HLS_msn` (and `_HLS_part`) the response waits
   * until that segment (part) is in the playlist; 400 when it is too far ahead, 503 when it does
   * not arrive within three target durations.
   */
  private async blockingLivePlaylist(s: OpenSession, query: MediaPlaylistQuery): Promise<string> {
    const msn = query.msn === undefined ? undefined : intParam(query.msn, '_HLS_msn');
    const part = query.part === undefined ? undefined : intParam(query.part, '_HLS_part');
    if (part !== undefined && msn === undefined) throw invalidArgument('_HLS_part requires _HLS_msn.');
    let snap = await this.liveSnapshot(s);
    if (msn === undefined) return this.renderLive(s, snap);
    const partLimit = Math.ceil(3000 / this.deps.parts.partTargetMs);
    const lastPart = snap.lastPart ?? { msn: snap.lastMsn, part: -1 };
    if (msn > snap.lastMsn + 2 || (part !== undefined && (msn > lastPart.msn ? part : part - lastPart.part) > partLimit)) {
      throw invalidArgument(`_HLS_msn=${msn}${part !== undefined ? ` _HLS_part=${part}` : ''} is too far beyond the end of the playlist.`);
    }
    const deadline = this.deps.clock.now() + this.holdMs(snap.view);
    while (!satisfied(snap, msn, part)) {
      const left = deadline - this.deps.clock.now();
      if (left <= 0) throw new KvsError('ServiceUnavailable', `Segment ${msn}${part !== undefined ? ` part ${part}` : ''} did not become available in time.`);
      await this.deps.parts.changed(s.claims.streamId, left);
      snap = await this.liveSnapshot(s);
    }
    return this.renderLive(s, snap);
  }

  /**
   * Plain (no parts) live playlists also answer `_HLS_msn`: the response waits until segment
   * `msn` is listed, so a player hears of a segment when it is stored instead of at its next
   * periodic reload (up to a target duration later). `_HLS_part` is ignored: there are no parts.
   */
  private async blockingPlainView(s: OpenSession, query: MediaPlaylistQuery): Promise<TimelineView> {
    let view = await this.deps.timelines.view(s.key, s.claims);
    if (query.msn === undefined || view.ended || s.claims.mode === 'ON_DEMAND') return view;
    const msn = intParam(query.msn, '_HLS_msn');
    const lastMsn = (): number => view.entries.at(-1)?.msn ?? -1;
    if (msn > lastMsn() + 2) throw invalidArgument(`_HLS_msn=${msn} is too far beyond the end of the playlist.`);
    const deadline = this.deps.clock.now() + this.holdMs(view);
    while (lastMsn() < msn && !view.ended) {
      const left = deadline - this.deps.clock.now();
      if (left <= 0) throw new KvsError('ServiceUnavailable', `Segment ${msn} did not become available in time.`);
      await this.deps.parts.changed(s.claims.streamId, left, true);
      view = await this.deps.timelines.view(s.key, s.claims);
    }
    return view;
  }

  private renderLive(s: OpenSession, snap: LiveSnapshot): string {
    return this.render(s, snap.view, {
      partTargetMs: this.deps.parts.partTargetMs,
      parts: snap.parts,
      ...(snap.open ? { open: snap.open.fragment } : {}),
      ...(snap.hint ? { preloadHint: snap.hint } : {}),
    });
  }

  /**
   * What an LL-HLS playlist shows: the timeline's window, the parts near its end, and the fragment
   * still arriving as the open segment. Every MSN must keep its discontinuity sequence number (hls.js
   * `cc`) from reload to reload, or hls.js fails ("discontinuity sequence mismatch"):
   * - the open segment's discontinuity is decided by the timeline's rule (discontinuityAfter), so it
   *   does not change when the fragment completes;
   * - the arriving fragment is read before the timeline, so a fragment stored in between is listed
   *   complete and the arriving one gets the MSN after it (never the stored one's MSN);
   * - the playlist always ends with EXT-X-PRELOAD-HINT. hls.js 1.7 takes the end of a playlist with
   *   parts as its open segment: when the last line is a complete segment's URI, that segment
   *   becomes the open one too (LevelDetails.fragmentHint === the last fragment), and the next
   *   reload compares its `cc` with the next MSN's — a mismatch whenever that segment starts with a
   *   discontinuity. After a trailing hint, the open segment is empty and hls.js skips it.
   *   Without an arriving fragment the hint names part n of the last (complete, n parts) fragment,
   *   which mp4Part serves as the next fragment's first part.
   */
  private async liveSnapshot(s: OpenSession): Promise<LiveSnapshot> {
    const arriving = this.deps.parts.open(s.claims.streamId, this.deps.clock.now());
    const view = await this.deps.timelines.view(s.key, s.claims);
    const last = view.entries.at(-1);
    const parts = new Map<string, PlaylistPart[]>();
    // Parts of the complete segments near the end of the playlist.
    const target = targetDurationSec([{ durationMs: view.maxDurationMs }]) * 1000;
    let listedMs = 0;
    for (const e of [...view.entries].reverse()) {
      if (listedMs >= PART_LISTING_TARGETS * target) break;
      const parted = await this.deps.parts.ofStored(e.record);
      parts.set(e.record.fragmentNumber, parted.parts.map(toPlaylistPart));
      listedMs += e.record.durationMs;
    }
    const lastMsn = last?.msn ?? -1;
    const lastCompleteParts = last ? (parts.get(last.record.fragmentNumber)?.length ?? 0) : 0;
    let lastPart = last && lastCompleteParts > 0 ? { msn: last.msn, part: lastCompleteParts - 1 } : undefined;
    let open: LiveSnapshot['open'];
    // The arriving fragment joins only when it continues the window with the same init segment.
    if (arriving && (!last || (arriving.fragmentNumber > last.record.fragmentNumber && arriving.header?.initKey === last.initKey))) {
      const timestampMs = s.claims.selector.kind === 'SERVER_TIMESTAMP' ? arriving.serverTimestampMs : arriving.producerTimestampMs;
      const initSequence = last?.initSequence ?? 0;
      // Its own duration plays no part in the rule (only the previous fragment's end does).
      const discontinuity = discontinuityAfter(last, { timestampMs, durationMs: 0, initSequence }, s.claims.discontinuity);
      const fragment: OpenFragment = {
        fragmentNumber: arriving.fragmentNumber,
        msn: lastMsn + 1,
        timestampMs,
        initSequence,
        discontinuity,
        parts: arriving.parts.map(toPlaylistPart),
      };
      open = { parted: arriving, fragment };
      if (fragment.parts.length > 0) lastPart = { msn: fragment.msn, part: fragment.parts.length - 1 };
    }
    const hint = open
      ? { fragmentNumber: open.fragment.fragmentNumber, part: open.fragment.parts.length }
      : last
        ? { fragmentNumber: last.record.fragmentNumber, part: lastCompleteParts }
        : undefined;
    return { view, parts, lastPart, lastMsn: open ? open.fragment.msn : lastMsn, ...(open ? { open } : {}), ...(hint ? { hint } : {}) };
  }
}

/** Whether a playlist snapshot holds segment `msn` (or its part `part`), per the blocking-reload rules. */
function satisfied(snap: LiveSnapshot, msn: number, part: number | undefined): boolean {
  const lastComplete = snap.view.entries.at(-1)?.msn ?? -1;
  if (part === undefined) return lastComplete >= msn;
  if (lastComplete > msn) return true;
  const lp = snap.lastPart;
  return lp !== undefined && (lp.msn > msn || (lp.msn === msn && lp.part >= part));
}

function toPlaylistFragment(e: TimelineEntry): PlaylistFragment {
  return {
    fragmentNumber: e.record.fragmentNumber,
    msn: e.msn,
    timestampMs: e.timestampMs,
    durationMs: e.record.durationMs,
    initSequence: e.initSequence,
    discontinuity: e.discontinuity,
  };
}

function toPlaylistPart(p: PlannedPart): PlaylistPart {
  return { index: p.index, durationMs: p.durationMs, independent: p.independent };
}

function intParam(value: unknown, name: string): number {
  if (typeof value !== 'string' || !/^[0-9]{1,9}$/.test(value)) throw invalidArgument(`${name} must be a non-negative integer.`);
  return Number(value);
}

/** HLS serves one muxed rendition: TrackNumber is 1 (or absent). Returns undefined = every track. */
function checkTrack(trackNumber: unknown): undefined {
  if (trackNumber !== undefined && trackNumber !== String(MUXED_TRACK_NUMBER)) {
    throw new KvsError('ResourceNotFoundException', `TrackNumber ${String(trackNumber)} does not exist: this session serves one muxed rendition, TrackNumber=1.`);
  }
  return undefined;
}
