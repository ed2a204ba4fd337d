/**
 * Ingest checks for what playback relies on, so a fragment that is PERSISTED can be packaged.
 * For the codecs the packagers support (H.264, H.265, AAC) the CodecPrivate must parse, and every
 * H.264/H.265 frame's NAL length prefixes must tile it exactly; otherwise the fragment is refused
 * with INVALID_MKV_DATA (4006) and nothing of it is stored. Other CodecIDs are stored as KVS stores
 * them; playback leaves those fragments out with UnsupportedStreamMediaTypeException
 * (docs/COMPATIBILITY.md). Cheap by design: records are parsed once per Tracks element and frames
 * are only walked (no copies).
 */
import { CodecError, MKV_CODEC_ID, nalFramingProblem, parseAudioSpecificConfig, parseAvcC, parseHvcC } from '../codec/index.ts';
import type { BlockInfo, TrackEntry } from '../mkv/index.ts';
import { AckError } from '../shared/errors.ts';

const NAMES: Record<string, string> = { [MKV_CODEC_ID.H264]: 'H.264', [MKV_CODEC_ID.H265]: 'H.265', [MKV_CODEC_ID.AAC]: 'AAC' };

export class MediaValidator {
  /** Track number → NAL length-prefix size, for the H.264/H.265 tracks of the current header. */
  private lengthSizes = new Map<number, number>();

  /** A new Tracks element; throws AckError for a known codec with missing or unparseable CodecPrivate. */
  setTracks(tracks: readonly TrackEntry[]): void {
    const sizes = new Map<number, number>();
    for (const t of tracks) {
      const name = NAMES[t.codecId];
      if (name === undefined) continue;
      const priv = t.codecPrivate;
      if (priv === undefined || priv.length === 0) {
        throw new AckError('INVALID_MKV_DATA', `track ${t.number} (${t.codecId}) has no CodecPrivate (MissingCodecPrivateDataException).`);
      }
      try {
        if (t.codecId === MKV_CODEC_ID.H264) sizes.set(t.number, parseAvcC(priv, { requireSps: false }).lengthSize);
        else if (t.codecId === MKV_CODEC_ID.H265) sizes.set(t.number, parseHvcC(priv, { requireSps: false }).lengthSize);
        else parseAudioSpecificConfig(priv);
      } catch (err) {
        if (!(err instanceof CodecError)) throw err;
        throw new AckError('INVALID_MKV_DATA', `track ${t.number} (${name}): ${err.message} (InvalidCodecPrivateDataException).`);
      }
    }
    this.lengthSizes = sizes;
  }

  /** Throws AckError when an H.264/H.265 frame's NAL length prefixes do not add up to its size. */
  checkBlock(block: BlockInfo): void {
    const lengthSize = this.lengthSizes.get(block.track);
    if (lengthSize === undefined) return;
    for (const frame of block.frames) {
      const problem = nalFramingProblem(frame, lengthSize);
      if (problem !== undefined) {
        throw new AckError('INVALID_MKV_DATA', `track ${block.track} frame at relative timecode ${block.relativeTimecode}: ${problem}.`);
      }
    }
  }
}
