import path from 'node:path';
import type { DetectionSettings } from './app-detection.ts';
import type { JobSettings } from './app-jobs.ts';
import type { KvsDeliverySettings } from './kvs-delivery/kvs-delivery.ts';
import type { DiskPressureSettings } from './store/disk-pressure.ts';
import type { OutboundSettings } from './outbound/outbound.ts';
import type { OpsSettings } from './ops/ops-routes.ts';
import type { ViewerSessionSettings } from './app-sessions.ts';
import type { AuthSettings } from './auth/types.ts';
import type { MediaSettings } from './app-media.ts';

/** Server configuration. One typed object, merged from defaults, env and CLI flags in the cli layer. */
export interface KestrelConfig {
  host: string;
  port: number;
  dataDir: string;
  /** Base URL clients use to reach this node (GetDataEndpoint returns it). Defaults to http://host:port. */
  publicUrl?: string;
  region: string;
  accountId: string;
  /**
   * `--index postgres://…` (KESTREL_INDEX_URL): streams, fragments, identities and viewer sessions in a
   * PostgreSQL index several nodes can share (src/app-stores.ts). Absent: the embedded SQLite index.
   */
  indexUrl?: string;
  /** Stream ownership (src/ingest/stream-ownership.ts): this node's id and its lease timings. */
  cluster?: ClusterSettings;
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
  /** Free-space floor, per-stream size cap and the disk reserve (docs/SECURITY.md, Disk pressure). */
  storage: DiskPressureSettings;
  /** Outbound calls: allow-list for API-set destinations (`--allow-destination`) and timeouts (src/outbound/). */
  outbound?: OutboundSettings;
  /** /healthz, /readyz and /metrics (src/ops/). */
  ops?: OpsSettings;
  /** Request screening, timeouts, connection caps and per-stream rate limits (docs/SECURITY.md). */
  limits: ServerLimits;
  /** Identities and SigV4 (docs/SECURITY.md); authentication is on unless `insecureNoAuth`. */
  auth?: AuthSettings;
  /** Live fan-out between nodes (`--bus nats://host:4222`, KESTREL_BUS_URL); absent: one node, in-process only. */
  bus?: { url: string; /** Subject prefix (default "kestrel"): clusters sharing one NATS keep apart. */ subjectPrefix?: string };
  /** Bound of each GetMedia reader's live queue in bytes (`--reader-queue-size`; default 32 MiB). */
  readerQueueBytes?: number;
  /** Media in an object store (`--media s3://…`); absent: media stays in the local segment files only. */
  media?: MediaSettings;
  /** Viewer sign-in: session lifetime and caps, login rate limits (defaults in src/auth/session-service.ts, login-limiter.ts). */
  viewerSessions?: ViewerSessionSettings;
}

export interface ClusterSettings {
  /** This node's name in the lease and node tables (`--node-id`, KESTREL_NODE_ID); default the host name. */
  nodeId?: string;
  /** How long a stream lease lasts without renewal (`--lease-ttl`, default 10 s); heartbeats run every third of it. */
  leaseTtlMs?: number;
}

/** What the HTTP edge refuses and how long it waits (docs/SECURITY.md "Request limits and timeouts"). */
export interface ServerLimits {
  /** Extra Host/Origin names (`--allowed-host`); `*` allows any. Loopback, the bound host and --public-url are implicit. */
  allowedHosts: string[];
  headersTimeoutMs: number;
  /** Ordinary requests must be fully received within this (PutMedia is exempt: its own rules apply). */
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** A socket with no traffic either way for this long is closed. */
  socketIdleTimeoutMs: number;
  /** A streamed response (GetMedia, GetClip) whose client reads nothing for this long is dropped. */
  stalledWriteTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** KVS: 3 GetMedia connections per stream. */
  maxGetMediaPerStream: number;
  /** Calls per second per stream and operation (KVS: 5 for PutMedia/GetMedia/GetDataEndpoint); 0 disables. */
  apiCallsPerSecondPerStream: number;
  maxConcurrentClips: number;
  maxConcurrentImages: number;
  /** Analysis jobs queued or running beyond which POST /api/v1/jobs answers 429. */
  maxPendingJobs: number;
  /** Concurrent on-demand ffmpeg decoders (GetImages, KVS image generation); further runs wait. */
  maxFfmpegChildren: number;
  ffmpegTimeoutMs: number;
}

export function defaultServerLimits(overrides: Partial<ServerLimits> = {}): ServerLimits {
  return {
    allowedHosts: [],
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    keepAliveTimeoutMs: 65_000,
    socketIdleTimeoutMs: 120_000,
    stalledWriteTimeoutMs: 60_000,
    maxConnections: 4096,
    maxConnectionsPerAddress: 256,
    maxGetMediaPerStream: 3,
    apiCallsPerSecondPerStream: 5,
    maxConcurrentClips: 8,
    maxConcurrentImages: 4,
    maxPendingJobs: 16,
    maxFfmpegChildren: 8,
    ffmpegTimeoutMs: 60_000,
    ...overrides,
  };
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
  /** A producer averaging less than this over `minRateWindowMs` gets ERROR 4000 and is closed; 0 disables. */
  minBytesPerSec: number;
  minRateWindowMs: number;
  /** Per-stream PutMedia throughput (KVS: 5 fragments/s, 12.5 MB/s); over it the body is read slower. 0 disables. */
  maxFragmentsPerSec: number;
  maxBytesPerSec: number;
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
      minBytesPerSec: 1024,
      minRateWindowMs: 30_000,
      maxFragmentsPerSec: 5,
      maxBytesPerSec: 12_500_000,
      ...overrides.ingest,
    },
    storage: {
      minFreeSpace: { percent: 5 },
      checkIntervalMs: 1_000,
      ...overrides.storage,
    },
    limits: defaultServerLimits(overrides.limits),
  };
}
