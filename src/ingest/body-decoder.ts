import { AckError } from '../shared/errors.ts';
import { Fmp4Decoder } from './fmp4-decoder.ts';
import type { BodyDecoder } from './put-media-session.ts';

const EBML_MAGIC = 0x1a45dfa3;
const ISO_BOX_TYPES = new Set(['ftyp', 'styp', 'moov', 'moof', 'sidx', 'free', 'skip']);

/** Picks the decoder from the first bytes: Matroska (EBML magic) or fragmented MP4 (an ISO box). */
export function decoderForBody(head: Buffer, mkv: () => BodyDecoder): BodyDecoder {
  if (head.length >= 4 && head.readUInt32BE(0) === EBML_MAGIC) return mkv();
  if (head.length >= 8 && ISO_BOX_TYPES.has(head.toString('latin1', 4, 8))) return new Fmp4Decoder(mkv());
  throw new AckError('INVALID_MKV_DATA', 'Body is neither Matroska (EBML header) nor fragmented MP4.');
}
