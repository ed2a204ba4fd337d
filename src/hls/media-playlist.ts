/**
 * HLS media playlists for the three playback modes, optionally low-latency (LL-HLS parts). The
 * caller chooses the fragments (window, media sequence numbers, discontinuity flags); this module
 * only renders them, so the same input always gives the same text.
 */
import type { PlaylistFragment, PlaylistPart } from './types.ts';

export interface PlaylistUris {
  /** EXT-X-MAP URI for an init SequenceNumber; omit for MPEG-TS (no init segments). */
  init?: (sequenceNumber: number) => string;
  segment: (fragmentNumber: string) => string;
  part?: (fragmentNumber: string, part: number) => string;
}

/** The fragment still arriving in an LL-HLS playlist: it has parts but no EXTINF yet. */
export interface OpenFragment extends Omit<PlaylistFragment, 'durationMs'> {
  parts: readonly PlaylistPart[];
}

export interface LowLatencySpec {
  partTargetMs: number;
  /** Parts of complete fragments to list (normally the ones within 3 target durations of the end). */
  parts: ReadonlyMap<string, readonly PlaylistPart[]>;
  open?: OpenFragment;
  /**
   * The next part a client can request (EXT-X-PRELOAD-HINT): the open fragment's next part, or the
   * one after the last complete fragment. Live LL playlists should always have one: hls.js takes a
   * playlist with parts that ends with a segment URI as if that segment were still open (see
   * HlsService.liveSnapshot).
   */
  preloadHint?: { fragmentNumber: string; part: number };
}

export interface MediaPlaylistSpec {
  /** fMP4 segments use EXT-X-MAP and version 7; MPEG-TS version 3. */
  fmp4: boolean;
  /** ON_DEMAND: EXT-X-PLAYLIST-TYPE:VOD. */
  vod: boolean;
  /** EXT-X-ENDLIST: no fragment will be added (ON_DEMAND, or a LIVE_REPLAY past its end). */
  ended: boolean;
  fragments: readonly PlaylistFragment[];
  /** EXT-X-DISCONTINUITY tags that already scrolled out of the window. */
  discontinuitySequence: number;
  /** EXT-X-PROGRAM-DATE-TIME before each segment (DisplayFragmentTimestamp=ALWAYS). */
  programDateTime: boolean;
  uris: PlaylistUris;
  lowLatency?: LowLatencySpec;
  /**
   * A live playlist without parts whose server answers `_HLS_msn` blocking reloads (Kestrel
   * addition): players that know the tag fetch the next segment the moment it exists.
   */
  canBlockReload?: boolean;
  /** Longest fragment the session has listed (live windows: the target duration must not shrink as it slides). */
  longestFragmentMs?: number;
}

const seconds = (ms: number): string => (Math.max(0, ms) / 1000).toFixed(3);
/** Trimmed decimal for attribute values such as PART-TARGET=0.5. */
const decimal = (ms: number): string => String(Math.round(ms) / 1000);

/**
 * EXT-X-TARGETDURATION: every EXTINF rounded to the nearest integer must not exceed it (RFC 8216
 * 4.3.3.1), so the nearest integer is enough. Not the ceiling: players hold back a multiple of the
 * target, and one 2.04 s GOP would otherwise put a 2 s camera 3 s further behind live.
 */
export function targetDurationSec(fragments: readonly Pick<PlaylistFragment, 'durationMs'>[]): number {
  const max = fragments.reduce((m, f) => Math.max(m, f.durationMs), 0);
  return Math.max(1, Math.round(max / 1000));
}

export function buildMediaPlaylist(spec: MediaPlaylistSpec): string {
  const ll = spec.lowLatency;
  const openMs = ll?.open?.parts.reduce((n, p) => n + p.durationMs, 0) ?? 0;
  const target = targetDurationSec([...spec.fragments, { durationMs: Math.max(openMs, spec.longestFragmentMs ?? 0) }]);
  const first = spec.fragments[0] ?? ll?.open;
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${ll ? 9 : spec.fmp4 ? 7 : 3}`];
  if (spec.vod) lines.push('#EXT-X-PLAYLIST-TYPE:VOD');
  lines.push(`#EXT-X-TARGETDURATION:${target}`);
  if (ll) {
    lines.push(`#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${decimal(3 * ll.partTargetMs)}`);
    lines.push(`#EXT-X-PART-INF:PART-TARGET=${decimal(ll.partTargetMs)}`);
  } else if (spec.canBlockReload && !spec.ended) {
    lines.push('#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES');
  }
  lines.push(`#EXT-X-MEDIA-SEQUENCE:${first?.msn ?? 0}`);
  if (spec.discontinuitySequence > 0) lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${spec.discontinuitySequence}`);
  lines.push('#EXT-X-INDEPENDENT-SEGMENTS');

  let mapped: number | undefined;
  const head = (f: Omit<PlaylistFragment, 'durationMs'>): void => {
    if (f.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    // The init segment is repeated after every discontinuity: players may reset their decoder there.
    if (spec.uris.init && (mapped !== f.initSequence || f.discontinuity)) {
      lines.push(`#EXT-X-MAP:URI="${spec.uris.init(f.initSequence)}"`);
      mapped = f.initSequence;
    }
    if (spec.programDateTime) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(f.timestampMs).toISOString()}`);
  };
  const partLines = (fragmentNumber: string, parts: readonly PlaylistPart[]): void => {
    if (!spec.uris.part) return;
    for (const p of parts) {
      const independent = p.independent ? ',INDEPENDENT=YES' : '';
      lines.push(`#EXT-X-PART:DURATION=${seconds(p.durationMs)},URI="${spec.uris.part(fragmentNumber, p.index)}"${independent}`);
    }
  };

  for (const f of spec.fragments) {
    head(f);
    const parts = ll?.parts.get(f.fragmentNumber);
    if (parts) partLines(f.fragmentNumber, parts);
    lines.push(`#EXTINF:${seconds(f.durationMs)},`, spec.uris.segment(f.fragmentNumber));
  }
  if (ll?.open) {
    head(ll.open);
    partLines(ll.open.fragmentNumber, ll.open.parts);
  }
  if (ll?.preloadHint && spec.uris.part) {
    lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${spec.uris.part(ll.preloadHint.fragmentNumber, ll.preloadHint.part)}"`);
  }
  if (spec.ended) lines.push('#EXT-X-ENDLIST');
  lines.push('');
  return lines.join('\n');
}
