import path from 'node:path';
import type { DetectionSettings } from './app-detection.ts';
import type { JobSettings } from './app-jobs.ts';
import type { KvsDeliverySettings } from './kvs-delivery/kvs-delivery.ts';

/** Server configuration. One typed object, merged from defaults, env and CLI flags in the cli layer. */
export interface KestrelConfig {
  host: string;
  port: number;
  dataDir: string;
  /** Base URL clients use to reach this node (GetDataEndpoint returns it). Defaults to http://host:port. */
  publicUrl?: string;
  region: string;
  accountId: string;
  ingest: IngestLimits;
  /** How often the retention cleaner runs. */
  retentionSweepMs: number;
  /** A GetMedia connection with nothing to send for this long is ended (consumers resume with a token). */
  getMediaIdleTimeoutMs: number;
  /**
   * A GetMedia reader that reaches the end of stored data while the stream has no producer ends
   * after this long (KVS ends such a response after a few seconds; a producer connecting meanwhile
   * keeps it going). Per request: header x-kestrel-get-media-end-wait-ms.
   */
  getMediaEndOfDataWaitMs: number;
  /** GetClip truncation (KVS: 200 fragments, 100 MB); raise for longer clips (docs/COMPATIBILITY.md). */
  clipMaxFragments: number;
  clipMaxBytes: number;
  /** LL-HLS PART-TARGET in ms; players hold back three parts (PART-HOLD-BACK). */
  llPartTargetMs: number;
  /** In-process person detection on every stream (`serve --detect`); off when absent. */
  detection?: DetectionSettings;
  /** Batch analysis jobs (`/api/v1/jobs`, `kestrel analyze`); always on, the detector loads on the first job. */
  jobs?: JobSettings;
  /** Endpoints/credentials for KVS image generation (S3) and notifications (SNS, http(s), MQTT). */
  kvsDelivery?: KvsDeliverySettings;
}

export interface IngestLimits {
  maxFragmentBytes: number;
  maxFragmentDurationMs: number;
  maxTracks: number;
  maxFragmentTags: number;
  /** IDLE ACK cadence while a PutMedia body is quiet, and how long quiet is tolerated. */
  idleAckIntervalMs: number;
  idleTimeoutMs: number;
  maxConnectionDurationMs: number;
}

export function defaultConfig(overrides: Partial<KestrelConfig> = {}): KestrelConfig {
  return {
    host: '127.0.0.1',
    port: 8080,
    dataDir: path.resolve('data'),
    region: 'us-east-1',
    accountId: '000000000000',
    retentionSweepMs: 60_000,
    getMediaIdleTimeoutMs: 30_000,
    getMediaEndOfDataWaitMs: 3_000,
    clipMaxFragments: 200,
    clipMaxBytes: 100 * 1024 * 1024,
    llPartTargetMs: 333,
    ...overrides,
    ingest: {
      maxFragmentBytes: 50 * 1024 * 1024,
      maxFragmentDurationMs: 20_000,
      maxTracks: 3,
      maxFragmentTags: 10,
      idleAckIntervalMs: 3_000,
      idleTimeoutMs: 30_000,
      maxConnectionDurationMs: 45 * 60_000,
      ...overrides.ingest,
    },
  };
}
