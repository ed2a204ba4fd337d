/**
 * The one error src/codec throws for a track it cannot describe. `kvsName` is the KVS exception
 * the archived-media APIs answer with, so callers map it without knowing codec details.
 */
export type CodecErrorKvsName =
  | 'UnsupportedStreamMediaTypeException'
  | 'MissingCodecPrivateDataException'
  | 'InvalidCodecPrivateDataException';

export class CodecError extends Error {
  constructor(
    readonly kvsName: CodecErrorKvsName,
    message: string,
    /** MKV track number, when the problem belongs to one track. */
    readonly track?: number,
  ) {
    super(message);
    this.name = 'CodecError';
  }
}

export const invalidCodecPrivate = (message: string): CodecError =>
  new CodecError('InvalidCodecPrivateDataException', message);
