/** The wire view of a stream record, and the Version values KVS hands out. */
import { randomBytes } from 'node:crypto';
import type { StreamRecord, StreamStatus } from '../store/types.ts';

/** StreamInfo as DescribeStream/ListStreams return it. Null members are omitted (the SDK drops them anyway). */
export interface StreamInfo {
  DeviceName?: string;
  StreamName: string;
  StreamARN: string;
  MediaType?: string;
  KmsKeyId: string;
  Version: string;
  Status: StreamStatus;
  /** Epoch seconds as a number: an ISO string makes the SDK throw. */
  CreationTime: number;
  DataRetentionInHours: number;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function toStreamInfo(rec: StreamRecord): StreamInfo {
  return {
    ...(rec.deviceName !== null ? { DeviceName: rec.deviceName } : {}),
    StreamName: rec.name,
    StreamARN: rec.arn,
    ...(rec.mediaType !== null ? { MediaType: rec.mediaType } : {}),
    KmsKeyId: rec.kmsKeyId,
    Version: rec.version,
    Status: rec.status,
    CreationTime: rec.creationTimeMs / 1000,
    DataRetentionInHours: rec.dataRetentionInHours,
  };
}

/** 20 random alphanumerics, like real Version values (e.g. cWNvNr5iIQ1AA8LBuDFE). */
export function newVersion(): string {
  return Array.from(randomBytes(20), (b) => ALPHANUMERIC.charAt(b % ALPHANUMERIC.length)).join('');
}
