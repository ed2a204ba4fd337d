/**
 * The one catalogue of client-visible errors. Each KVS exception name carries its HTTP status
 * (kvs-api.md §1.2); only the api layer turns a KvsError into a response.
 */
export const KVS_ERRORS = {
  AccessDeniedException: 401,
  AccountStreamLimitExceededException: 400,
  ClientLimitExceededException: 400,
  ConnectionLimitExceededException: 400,
  DeviceStreamLimitExceededException: 400,
  InvalidArgumentException: 400,
  InvalidDeviceException: 400,
  InvalidEndpointException: 400,
  InvalidResourceFormatException: 400,
  NoDataRetentionException: 400,
  NotAuthorizedException: 401,
  ResourceInUseException: 400,
  ResourceNotFoundException: 404,
  TagsPerResourceExceededLimitException: 400,
  VersionMismatchException: 400,
  InvalidCodecPrivateDataException: 400,
  InvalidMediaFrameException: 400,
  MissingCodecPrivateDataException: 400,
  UnsupportedStreamMediaTypeException: 400,
  UnknownOperationException: 404,
  NotImplementedException: 501,
  InternalFailure: 500,
  // Unmodelled common error; LL-HLS blocking reloads answer it when the part does not arrive in time.
  ServiceUnavailable: 503,
  // Kestrel's request screening (docs/SECURITY.md): not KVS names, but in KVS's error shape.
  ForbiddenException: 403,
  RequestTimeoutException: 408,
  RequestEntityTooLargeException: 413,
  UnsupportedMediaTypeException: 415,
  // Authentication (src/auth): what AWS endpoints answer for unsigned, unknown-key and badly signed requests.
  MissingAuthenticationTokenException: 403,
  UnrecognizedClientException: 403,
  InvalidSignatureException: 403,
  IncompleteSignatureException: 400,
} as const;

export type KvsErrorName = keyof typeof KVS_ERRORS;

export class KvsError extends Error {
  readonly status: number;
  constructor(
    readonly kvsName: KvsErrorName,
    message: string,
    /** Overrides the catalogue status (IAM denials are AccessDeniedException 403, the KVS model says 401). */
    status?: number,
  ) {
    super(message);
    this.name = kvsName;
    this.status = status ?? KVS_ERRORS[kvsName];
  }
}

export const invalidArgument = (message: string): KvsError => new KvsError('InvalidArgumentException', message);
export const streamNotFound = (what = 'stream'): KvsError =>
  new KvsError('ResourceNotFoundException', `The requested ${what} is not found or not active.`);

/** PutMedia ACK error ids (kvs-api.md §3.3). */
export const ACK_ERRORS = {
  STREAM_READ_ERROR: 4000,
  MAX_FRAGMENT_SIZE_REACHED: 4001,
  MAX_FRAGMENT_DURATION_REACHED: 4002,
  MAX_CONNECTION_DURATION_REACHED: 4003,
  FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS: 4004,
  MORE_THAN_ALLOWED_TRACKS_FOUND: 4012,
  INVALID_MKV_DATA: 4006,
  INVALID_PRODUCER_TIMESTAMP: 4007,
  STREAM_NOT_ACTIVE: 4008,
  FRAGMENT_METADATA_LIMIT_REACHED: 4009,
  TRACK_NUMBER_MISMATCH: 4010,
  FRAMES_MISSING_FOR_TRACK: 4011,
  INTERNAL_ERROR: 5000,
  ARCHIVAL_ERROR: 5001,
} as const;

export type AckErrorCode = keyof typeof ACK_ERRORS;

/** An ingest failure that ends a PutMedia session with an ERROR ACK. */
export class AckError extends Error {
  readonly errorId: number;
  constructor(
    readonly code: AckErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AckError';
    this.errorId = ACK_ERRORS[code];
  }
}
