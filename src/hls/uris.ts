/**
 * Relative resource URIs inside playlists and manifests, exactly as KVS writes them (kvs-api.md
 * §5.2). Relative, so they resolve under /hls/v1/ or /dash/v1/ wherever the server is mounted.
 * Part URIs are a Kestrel addition (LL-HLS).
 */

/** Session tokens are URL-safe already; encoding keeps a hand-made token from breaking the URI. */
const q = (v: string | number): string => encodeURIComponent(String(v));

/** The one muxed rendition is always TrackNumber=1 (see docs/COMPATIBILITY.md, Playback). */
export const MUXED_TRACK_NUMBER = 1;

export function hlsMasterPlaylistPath(token: string): string {
  return `/hls/v1/getHLSMasterPlaylist.m3u8?SessionToken=${q(token)}`;
}

export function dashManifestPath(token: string): string {
  return `/dash/v1/getDASHManifest.mpd?SessionToken=${q(token)}`;
}

export function mediaPlaylistUri(token: string, opts: { lowLatency?: boolean } = {}): string {
  return `getHLSMediaPlaylist.m3u8?SessionToken=${q(token)}&TrackNumber=${MUXED_TRACK_NUMBER}${opts.lowLatency ? '&LowLatency=1' : ''}`;
}

/** HLS: TrackNumber=1 is the muxed rendition. DASH: TrackNumber is one MKV track (one AdaptationSet each). */
export function initSegmentUri(token: string, sequenceNumber: number, trackNumber = MUXED_TRACK_NUMBER): string {
  return `getMP4InitFragment.mp4?SessionToken=${q(token)}&TrackNumber=${trackNumber}&SequenceNumber=${sequenceNumber}`;
}

export function mp4SegmentUri(token: string, fragmentNumber: string, trackNumber = MUXED_TRACK_NUMBER): string {
  return `getMP4MediaFragment.mp4?FragmentNumber=${q(fragmentNumber)}&SessionToken=${q(token)}&TrackNumber=${trackNumber}`;
}

export function tsSegmentUri(token: string, fragmentNumber: string): string {
  return `getTSFragment.ts?FragmentNumber=${q(fragmentNumber)}&SessionToken=${q(token)}`;
}

export function mp4PartUri(token: string, fragmentNumber: string, part: number): string {
  return `getMP4MediaPart.mp4?FragmentNumber=${q(fragmentNumber)}&SessionToken=${q(token)}&TrackNumber=${MUXED_TRACK_NUMBER}&Part=${part}`;
}

/**
 * Live DASH (Kestrel layout): a SegmentTemplate whose `$Time$` is the segment's SegmentTimeline
 * `t`, within the Period named by `Period` (its first fragment's MSN). Players that predict the
 * next segment from the timeline (ffmpeg) or slide their window by time stay in step this way.
 */
export function dashTimeSegmentTemplate(token: string, periodId: string, trackNumber: number): string {
  return `getMP4MediaFragment.mp4?SessionToken=${q(token)}&TrackNumber=${trackNumber}&Period=${q(periodId)}&MediaTime=$Time$`;
}
