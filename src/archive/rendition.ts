/** What a master playlist / MPD says about the one muxed rendition: codecs, size, bitrate. */
import type { TrackCodecInfo } from '../codec/index.ts';
import type { FragmentRecord } from '../store/types.ts';
import type { TrackCatalog } from './track-catalog.ts';

export interface Rendition {
  codecs: TrackCodecInfo[];
  /** Peak and average bits per second over the fragments seen. */
  bandwidth: number;
  averageBandwidth: number;
  width?: number;
  height?: number;
  sampleRate?: number;
}

/** `records`: the fragments to describe (the newest header wins); throws the KVS codec error if unplayable. */
export async function describeRendition(catalog: TrackCatalog, records: readonly FragmentRecord[]): Promise<Rendition> {
  const newest = records.at(-1);
  if (!newest) throw new Error('describeRendition needs at least one fragment');
  const { codecs } = await catalog.playable(newest.headerId);
  return renditionOf(codecs, records);
}

/** Bitrates from the fragments' sizes (a nominal 1 Mbit/s before any fragment is stored). */
export function renditionOf(codecs: TrackCodecInfo[], records: readonly FragmentRecord[]): Rendition {
  const rates = records.filter((r) => r.durationMs > 0).map((r) => (r.sizeBytes * 8000) / r.durationMs);
  const bandwidth = rates.length ? Math.max(...rates) : 1_000_000;
  const averageBandwidth = rates.length ? rates.reduce((a, b) => a + b, 0) / rates.length : bandwidth;
  const video = codecs.find((c) => c.kind === 'video');
  const audio = codecs.find((c) => c.kind === 'audio');
  return {
    codecs,
    bandwidth,
    averageBandwidth,
    ...(video?.width && video.height ? { width: video.width, height: video.height } : {}),
    ...(audio?.sampleRate ? { sampleRate: audio.sampleRate } : {}),
  };
}
