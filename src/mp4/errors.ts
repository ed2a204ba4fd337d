/**
 * The only error src/mp4 throws for bad input. `kind` lets ingest pick the ACK code without
 * this module knowing about KVS: invalid/unsupported ⇒ INVALID_MKV_DATA, too-large ⇒
 * MAX_FRAGMENT_SIZE_REACHED, too-long ⇒ MAX_FRAGMENT_DURATION_REACHED.
 */
export type Mp4ErrorKind = 'invalid' | 'unsupported' | 'too-large' | 'too-long';

export class Mp4Error extends Error {
  constructor(
    readonly kind: Mp4ErrorKind,
    message: string,
    /** Absolute stream offset of the box the problem was found in, when known. */
    readonly offset?: number,
  ) {
    super(message);
    this.name = 'Mp4Error';
  }
}

export const invalidMp4 = (message: string, offset?: number): Mp4Error => new Mp4Error('invalid', message, offset);
