import type { NewStreamRecord } from '../../src/store/types.ts';

/** A complete stream record for store-level tests; override what the test cares about. */
export function streamRecord(name: string, extra: Partial<NewStreamRecord> = {}): NewStreamRecord {
  return {
    name,
    arn: `arn:aws:kinesisvideo:us-east-1:000000000000:stream/${name}/1`,
    version: 'v1',
    status: 'ACTIVE',
    creationTimeMs: 1_700_000_000_000,
    dataRetentionInHours: 0,
    mediaType: null,
    deviceName: null,
    kmsKeyId: 'k',
    tags: {},
    storageTier: 'HOT',
    imageGenerationConfig: null,
    notificationConfig: null,
    ...extra,
  };
}
