/**
 * Stored fragment → playable segment: read the bytes (the live feed's tail first, else the
 * media store), demux, and package as fMP4 (moof+mdat) or MPEG-TS. Every track of the fragment
 * goes into the one muxed rendition.
 */
import { demuxFragment } from '../media/demux-mkv.ts';
import type { DemuxedFragment, MediaSample } from '../media/types.ts';
import { buildMediaSegment, withSequenceNumber } from '../mp4/index.ts';
import { buildTsSegment } from '../ts/index.ts';
import type { LiveFeed } from '../store/live-feed.ts';
import type { FragmentIndex, FragmentRecord, MediaStore } from '../store/types.ts';
import { indexedMediaBytes, type FragmentBytesSource } from '../store/fragment-bytes.ts';
import { KvsError } from '../shared/errors.ts';
import { withoutBrokenSamples } from '../codec/index.ts';
import { LruCache } from './lru-cache.ts';
import { packagingError, type TrackCatalog } from './track-catalog.ts';

export interface SegmentBuilderDeps {
  index: FragmentIndex;
  media: MediaStore;
  feed: LiveFeed;
  catalog: TrackCatalog;
  /** Bytes of fragments not in the live tail (default: index header + media store). */
  bytes?: FragmentBytesSource;
}

export class SegmentBuilder {
  /** Parts of one fragment are cut from the same demux several times; keep the newest few. */
  private readonly demuxed = new LruCache<string, DemuxedFragment>(16);
  /**
   * Built fMP4 segments, shared by every session (players of one live stream all fetch its newest
   * fragments); each response is a copy with the session's mfhd sequence number.
   */
  private readonly built = new LruCache<string, Buffer>(48);

  private readonly bytes: FragmentBytesSource;

  constructor(private readonly deps: SegmentBuilderDeps) {
    this.bytes = deps.bytes ?? indexedMediaBytes(deps.index, deps.media);
  }

  async demux(record: FragmentRecord): Promise<DemuxedFragment> {
    await this.deps.catalog.playable(record.headerId);
    const key = `${record.streamId}/${record.fragmentNumber}`;
    return this.demuxed.getOrLoad(key, async () => {
      const live = this.deps.feed.recent(record.streamId).find((f) => f.record.fragmentNumber === record.fragmentNumber);
      const { header, body } = live ?? (await this.bytes.read(record));
      return packagedFragment(header, body, record.fragmentNumber);
    });
  }

  /** `trackNumber`: one track only (DASH); default every track (the muxed HLS rendition). */
  async mp4Segment(record: FragmentRecord, sequenceNumber: number, trackNumber?: number): Promise<Buffer> {
    const key = `${record.streamId}/${record.fragmentNumber}/${trackNumber ?? '*'}`;
    const segment = await this.built.getOrLoad(key, async () => {
      const fragment = requireSamples(await this.demux(record), record.fragmentNumber);
      if (trackNumber !== undefined && !fragment.tracks.some((t) => t.number === trackNumber)) {
        throw new KvsError('ResourceNotFoundException', `Track ${trackNumber} is not in fragment ${record.fragmentNumber}.`);
      }
      return mp4Segment(fragment, 0, trackNumber === undefined ? undefined : [trackNumber], record.fragmentNumber);
    });
    return withSequenceNumber(segment, sequenceNumber);
  }

  /** The MPEG-TS segment of one fragment: the same bytes on every node, in any request order. */
  async tsSegment(record: FragmentRecord): Promise<Buffer> {
    const fragment = requireSamples(await this.demux(record), record.fragmentNumber);
    try {
      return buildTsSegment(fragment);
    } catch (err) {
      throw packagingError(err, record.fragmentNumber);
    }
  }
}

export function mp4Segment(fragment: DemuxedFragment, sequenceNumber: number, trackNumbers?: number[], fragmentNumber = 'in progress'): Buffer {
  try {
    return buildMediaSegment(fragment, { sequenceNumber: sequenceNumber >>> 0, ...(trackNumbers ? { trackNumbers } : {}) });
  } catch (err) {
    throw packagingError(err, fragmentNumber);
  }
}

/**
 * Demuxes a stored fragment for packaging: video tracks end at their first sample with broken NAL
 * framing (data stored before ingest checked it, or damaged on disk). Its times stay those of the
 * whole fragment (DASH media times). A cluster that no longer parses is InvalidMediaFrameException.
 */
export function packagedFragment(header: Buffer, body: Buffer, fragmentNumber: string): DemuxedFragment {
  try {
    return withoutBrokenSamples(demuxFragment(header, body)).fragment;
  } catch (err) {
    throw packagingError(err, fragmentNumber);
  }
}

/** A fragment with nothing left to package is InvalidMediaFrameException, not a segment a player would choke on. */
export function requireSamples(fragment: DemuxedFragment, fragmentNumber: string): DemuxedFragment {
  if (fragment.samples.length === 0) throw new KvsError('InvalidMediaFrameException', `Fragment ${fragmentNumber} has no frames that can be packaged.`);
  return fragment;
}

/** packagedFragment + requireSamples (GetClip skips such fragments). */
export function playableFragment(header: Buffer, body: Buffer, fragmentNumber: string): DemuxedFragment {
  return requireSamples(packagedFragment(header, body, fragmentNumber), fragmentNumber);
}

/** A fragment restricted to some of its samples (an LL-HLS part). */
export function withSamples(fragment: DemuxedFragment, samples: MediaSample[]): DemuxedFragment {
  const startMs = samples.length ? Math.min(...samples.map((s) => s.ptsMs)) : 0;
  const endMs = samples.length ? Math.max(...samples.map((s) => s.ptsMs + s.durationMs)) : 0;
  return { tracks: fragment.tracks, samples, startMs, durationMs: endMs - startMs };
}
