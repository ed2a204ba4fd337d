/**
 * SimpleTag names reserved by KVS (kvs-api.md §3.2, §4.3). Producers may not use names starting
 * with "AWS" for their own fragment metadata; the service writes these into GetMedia output.
 */
export const KVS_TAG = {
  FRAGMENT_NUMBER: 'AWS_KINESISVIDEO_FRAGMENT_NUMBER',
  SERVER_TIMESTAMP: 'AWS_KINESISVIDEO_SERVER_TIMESTAMP',
  PRODUCER_TIMESTAMP: 'AWS_KINESISVIDEO_PRODUCER_TIMESTAMP',
  MILLIS_BEHIND_NOW: 'AWS_KINESISVIDEO_MILLIS_BEHIND_NOW',
  CONTINUATION_TOKEN: 'AWS_KINESISVIDEO_CONTINUATION_TOKEN',
  /** Producer → service: the fragment is complete (EOFR). */
  END_OF_FRAGMENT: 'AWS_KINESISVIDEO_END_OF_FRAGMENT',
  /** Producer → service: generate S3 images for this fragment. */
  IMAGE_GENERATION: 'AWS_KINESISVIDEO_IMAGE_GENERATION',
  IMAGE_PREFIX: 'AWS_KINESISVIDEO_IMAGE_PREFIX',
  /** Producer → service: send an SNS notification for this fragment. */
  NOTIFICATION: 'AWS_KINESISVIDEO_NOTIFICATION',
  /** GetMedia error chunk (no SERVER_TIMESTAMP tag alongside). */
  ERROR_ID: 'AWS_KINESISVIDEO_ERROR_ID',
  ERROR_CODE: 'AWS_KINESISVIDEO_ERROR_CODE',
} as const;

export type KvsTagName = (typeof KVS_TAG)[keyof typeof KVS_TAG];

/** True for names a producer must not use for user metadata (KVS reserves the "AWS" prefix). */
export function isReservedTagName(name: string): boolean {
  return name.startsWith('AWS');
}
