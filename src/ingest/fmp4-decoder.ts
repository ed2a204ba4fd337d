import type { MkvEvent } from '../mkv/index.ts';
import { AckError } from '../shared/errors.ts';
import type { BodyDecoder } from './put-media-session.ts';

// TEMPORARY: replaced by the real fMP4 → MKV converter in this same change set.
export class Fmp4Decoder implements BodyDecoder {
  constructor(_mkv: BodyDecoder) {}
  push(_chunk: Buffer): MkvEvent[] {
    throw new AckError('INVALID_MKV_DATA', 'fMP4 ingest not wired yet');
  }
  end(): MkvEvent[] {
    return [];
  }
}
