/**
 * Vocabulary of KVS playback sessions (kvs-api.md §5.2), shared by the token codec, the playlist
 * builders and the archive use case. Plain string unions: src/hls imports nothing internal.
 */

export type PlaybackMode = 'LIVE' | 'LIVE_REPLAY' | 'ON_DEMAND';
export type ContainerFormat = 'FRAGMENTED_MP4' | 'MPEG_TS';
export type DiscontinuityMode = 'ALWAYS' | 'NEVER' | 'ON_DISCONTINUITY';
export type DisplayMode = 'ALWAYS' | 'NEVER';
export type SelectorKind = 'SERVER_TIMESTAMP' | 'PRODUCER_TIMESTAMP';
export type PlaybackProtocol = 'HLS' | 'DASH';

export const PLAYBACK_MODES: readonly PlaybackMode[] = ['LIVE', 'LIVE_REPLAY', 'ON_DEMAND'];
export const CONTAINER_FORMATS: readonly ContainerFormat[] = ['FRAGMENTED_MP4', 'MPEG_TS'];
export const DISCONTINUITY_MODES: readonly DiscontinuityMode[] = ['ALWAYS', 'NEVER', 'ON_DISCONTINUITY'];
export const DISPLAY_MODES: readonly DisplayMode[] = ['ALWAYS', 'NEVER'];
export const SELECTOR_KINDS: readonly SelectorKind[] = ['SERVER_TIMESTAMP', 'PRODUCER_TIMESTAMP'];

/** Everything a playback session is bound to; carried (signed) inside its session token. */
export interface SessionClaims {
  protocol: PlaybackProtocol;
  streamId: number;
  streamName: string;
  mode: PlaybackMode;
  /** Always FRAGMENTED_MP4 for DASH. */
  container: ContainerFormat;
  selector: { kind: SelectorKind; startMs?: number; endMs?: number };
  discontinuity: DiscontinuityMode;
  displayTimestamp: DisplayMode;
  /** DASH only (kvs:fn); NEVER for HLS. */
  displayFragmentNumber: DisplayMode;
  /** MaxMediaPlaylistFragmentResults / MaxManifestFragmentResults. */
  maxResults: number;
  /**
   * Exclusive fragment-number cursor: media sequence numbers count the session's fragments after
   * it (the first one is 0), which keeps them stable across reloads and server restarts.
   */
  anchor: string;
  /** Kestrel addition: LIVE HLS sessions serve low-latency (LL-HLS) playlists. */
  lowLatency: boolean;
  issuedAtMs: number;
  expiresAtMs: number;
}

/** A fragment as playlist builders see it: no bytes, only timing and identity. */
export interface PlaylistFragment {
  fragmentNumber: string;
  /** Media sequence number within the session. */
  msn: number;
  /** Start per the session's selector (producer or server timestamp), epoch ms. */
  timestampMs: number;
  durationMs: number;
  /** EXT-X-MAP SequenceNumber: changes only when the codec private data changes. */
  initSequence: number;
  /** An EXT-X-DISCONTINUITY precedes this fragment. */
  discontinuity: boolean;
}

/** One LL-HLS partial segment of a fragment. */
export interface PlaylistPart {
  index: number;
  durationMs: number;
  independent: boolean;
}
