/** The HLS master (multivariant) playlist: one muxed rendition (video + audio in each segment). */

export interface MasterPlaylistSpec {
  /** RFC 6381 codec strings of every track in the rendition, e.g. ['avc1.64001f', 'mp4a.40.2']. */
  codecs: readonly string[];
  /** Peak bits per second. */
  bandwidth: number;
  averageBandwidth?: number;
  width?: number;
  height?: number;
  frameRate?: number;
  mediaPlaylistUri: string;
}

export function buildMasterPlaylist(spec: MasterPlaylistSpec): string {
  const attrs = [`BANDWIDTH=${Math.max(1, Math.round(spec.bandwidth))}`];
  if (spec.averageBandwidth) attrs.push(`AVERAGE-BANDWIDTH=${Math.max(1, Math.round(spec.averageBandwidth))}`);
  attrs.push(`CODECS="${spec.codecs.join(',')}"`);
  if (spec.width && spec.height) attrs.push(`RESOLUTION=${spec.width}x${spec.height}`);
  if (spec.frameRate) attrs.push(`FRAME-RATE=${spec.frameRate.toFixed(3)}`);
  return ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-INDEPENDENT-SEGMENTS', `#EXT-X-STREAM-INF:${attrs.join(',')}`, spec.mediaPlaylistUri, ''].join('\n');
}
