/**
 * What playback needs from each stored MKV header: its tracks, their codec descriptions (which
 * also validate them, with KVS's codec error names) and the init segment. Cached per header id:
 * every fragment of a PutMedia session shares one header.
 */
import { CodecError, describeTracks, type TrackCodecInfo } from '../codec/index.ts';
import { demuxFragment } from '../media/demux-mkv.ts';
import { MkvError } from '../mkv/index.ts';
import type { MediaTrack } from '../media/types.ts';
import { buildInitSegment } from '../mp4/index.ts';
import { KvsError } from '../shared/errors.ts';
import type { FragmentIndex } from '../store/types.ts';
import { LruCache } from './lru-cache.ts';

export interface HeaderTracks {
  headerId: number;
  tracks: MediaTrack[];
  /** Identity of the init segment: equal keys mean the same codec private data and track layout. */
  initKey: string;
  /** Present when every track is playable. */
  codecs?: TrackCodecInfo[];
  /** Why the tracks are not playable (a KVS codec error). */
  error?: KvsError;
}

export class TrackCatalog {
  private readonly headers = new LruCache<number, HeaderTracks>(512);
  private readonly inits = new LruCache<string, Buffer>(128);

  constructor(private readonly index: FragmentIndex) {}

  async get(headerId: number): Promise<HeaderTracks> {
    return this.headers.getOrLoad(headerId, async () => describeHeader(headerId, await this.index.getHeader(headerId)));
  }

  /** Throws the KVS codec error when a track cannot be played. */
  async playable(headerId: number): Promise<Required<Pick<HeaderTracks, 'codecs'>> & HeaderTracks> {
    const h = await this.get(headerId);
    if (h.error || !h.codecs) throw h.error ?? new KvsError('UnsupportedStreamMediaTypeException', 'The stream has no playable tracks.');
    return h as Required<Pick<HeaderTracks, 'codecs'>> & HeaderTracks;
  }

  /**
   * ftyp + moov for the header's tracks (all of them, or one: DASH serves a track per
   * AdaptationSet), cached: the bytes depend only on the codec private data.
   */
  async initSegment(headerId: number, trackNumber?: number): Promise<Buffer> {
    const h = await this.playable(headerId);
    const tracks = trackNumber === undefined ? h.tracks : h.tracks.filter((t) => t.number === trackNumber);
    if (tracks.length === 0) throw new KvsError('ResourceNotFoundException', `Track ${trackNumber} is not in this stream.`);
    return this.inits.getOrLoad(`${headerId}/${trackNumber ?? '*'}`, async () => buildInitSegment(tracks));
  }
}

/** Pure: tracks from header bytes, validated for playback. */
export function describeHeader(headerId: number, header: Buffer): HeaderTracks {
  const tracks = demuxFragment(header, Buffer.alloc(0)).tracks;
  const initKey = JSON.stringify(
    tracks.map((t) => [t.number, t.codecId, t.codecPrivate?.toString('base64') ?? '', t.width, t.height, t.sampleRate, t.channels]),
  );
  if (tracks.length === 0) {
    return { headerId, tracks, initKey, error: new KvsError('UnsupportedStreamMediaTypeException', 'The stream has no tracks.') };
  }
  try {
    return { headerId, tracks, initKey, codecs: describeTracks(tracks) };
  } catch (err) {
    return { headerId, tracks, initKey, error: toKvsError(err) };
  }
}

/**
 * Packaging failures of one fragment's media (a RangeError from a packager: a time fMP4 cannot
 * carry, a frame too big for ADTS; a stored cluster that no longer parses) become
 * InvalidMediaFrameException, the KVS error for frames that cannot be parsed, instead of a 500.
 * Codec problems become the exception they name.
 */
export function packagingError(err: unknown, fragmentNumber: string): KvsError {
  if (err instanceof RangeError || err instanceof MkvError) {
    return new KvsError('InvalidMediaFrameException', `Fragment ${fragmentNumber} cannot be packaged: ${err.message}`);
  }
  return toKvsError(err);
}

/** Codec problems become the KVS exception they name; anything else propagates. */
export function toKvsError(err: unknown): KvsError {
  if (err instanceof KvsError) return err;
  if (err instanceof CodecError) return new KvsError(err.kvsName, err.message);
  throw err;
}
