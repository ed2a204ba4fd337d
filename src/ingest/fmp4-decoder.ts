/**
 * PutMedia body decoder for fragmented MP4: converts it to Matroska (src/mp4) and runs the bytes
 * through the same MkvStreamParser an MKV body goes through, so every rule downstream (timecodes,
 * sizes, tracks) is shared and fragments are stored exactly as MKV ones are.
 */
import { MkvError, type MkvEvent } from '../mkv/index.ts';
import { Fmp4ToMkv, type Fmp4ToMkvOptions } from '../mp4/fmp4-to-mkv.ts';
import { Mp4Error } from '../mp4/errors.ts';
import { AckError } from '../shared/errors.ts';
import type { BodyDecoder } from './put-media-session.ts';

export class Fmp4Decoder implements BodyDecoder {
  private readonly converter: Fmp4ToMkv;
  /** An error found after some fragments were already converted; thrown on the next call. */
  private deferred: unknown;

  constructor(
    private readonly mkv: BodyDecoder,
    opts: Fmp4ToMkvOptions = {},
  ) {
    this.converter = new Fmp4ToMkv(opts);
  }

  push(chunk: Buffer): MkvEvent[] {
    return this.run((out) => this.converter.push(chunk, out), false);
  }

  end(): MkvEvent[] {
    return this.run((out) => this.converter.end(out), true);
  }

  private run(convert: (out: Buffer[]) => void, last: boolean): MkvEvent[] {
    if (this.deferred !== undefined) throw this.deferred;
    const mkvBytes: Buffer[] = [];
    let error: unknown;
    try {
      convert(mkvBytes);
    } catch (err) {
      error = toAckError(err);
    }
    // Whatever converted before a bad box is still parsed, so complete fragments get ACKed.
    const events: MkvEvent[] = [];
    try {
      // Loops, not spreads: one cluster can hold more blocks than a call has argument slots.
      for (const bytes of mkvBytes) for (const e of this.mkv.push(bytes)) events.push(e);
      if (last && error === undefined) for (const e of this.mkv.end()) events.push(e);
    } catch (err) {
      // The MKV side failed first in stream order; the session flushes eventsBeforeError itself.
      if (err instanceof MkvError) err.eventsBeforeError = [...events, ...err.eventsBeforeError];
      throw err;
    }
    if (error === undefined) return events;
    // The session only salvages events from an MkvError; hand these over now and fail on the next
    // call (end() has no next call, but a failing end() never converts anything first).
    if (events.length === 0 || last) throw error;
    this.deferred = error;
    return events;
  }
}

function toAckError(err: unknown): unknown {
  if (!(err instanceof Mp4Error)) return err;
  switch (err.kind) {
    case 'too-large':
      return new AckError('MAX_FRAGMENT_SIZE_REACHED', `fMP4: ${err.message}`);
    case 'too-long':
      return new AckError('MAX_FRAGMENT_DURATION_REACHED', `fMP4: ${err.message}`);
    default:
      return new AckError('INVALID_MKV_DATA', `fMP4: ${err.message}`);
  }
}
