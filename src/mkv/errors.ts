import type { MkvEvent } from './types.ts';

export type MkvErrorKind = 'invalid' | 'too-large';

/**
 * The only error the parser throws for bad input. `kind` lets ingest map it to an ACK error
 * (too-large ⇒ 4001 MAX_FRAGMENT_SIZE_REACHED, invalid ⇒ 4006 INVALID_MKV_DATA).
 */
export class MkvError extends Error {
  /**
   * Events decoded by the same push()/end() call before the failure, so a caller can still
   * act on the clusters that were complete (they are not returned any other way).
   */
  eventsBeforeError: MkvEvent[] = [];

  constructor(
    readonly kind: MkvErrorKind,
    message: string,
    /** Absolute stream byte offset the problem was found at, when known. */
    readonly offset?: number,
  ) {
    super(message);
    this.name = 'MkvError';
  }
}

export function invalid(message: string, offset?: number): MkvError {
  return new MkvError('invalid', message, offset);
}

export function tooLarge(message: string, offset?: number): MkvError {
  return new MkvError('too-large', message, offset);
}
