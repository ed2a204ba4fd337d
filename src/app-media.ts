/**
 * Composition of the media tier: the local log (segment files) alone, as embedded Kestrel always
 * ran, or — with `--media s3://bucket/prefix` — the local log as a write-ahead log in front of an
 * object store: a Sealer uploads closed segments every `--seal-interval`, reads of sealed fragments
 * go to the object store through a bounded cache (src/store/objects/README.md).
 */
import type { HousekeepingLeader } from './store/leader.ts';
import type { Logger } from './shared/logger.ts';
import type { FragmentIndex, MediaLocationIndex, MediaStore, StreamRepository } from './store/types.ts';
import type { PersistedFragment } from './ingest/ingest-service.ts';
import { joinKey, parseMediaUrl, type ObjectStore } from './store/objects/object-store.ts';
import { S3ObjectStore } from './store/objects/s3-object-store.ts';
import { Sealer, type SealerStats } from './sealing/sealer.ts';
import { TieredMediaStore, type ReadCacheStats } from './store/objects/tiered-media-store.ts';

export type Durability = 'local' | 'replicated';

export interface MediaSettings {
  /** `s3://bucket/prefix` (`--media`, KESTREL_MEDIA_URL); the bucket must exist. */
  url: string;
  /** S3-compatible endpoint (`--s3-endpoint`); credentials from the standard AWS_* variables. */
  s3Endpoint?: string;
  /** `local`: PERSISTED after local fsync + index commit; `replicated`: only once in the object store. */
  durability: Durability;
  sealIntervalMs: number;
  /** Bound of the read cache for sealed fragments (bytes). */
  readCacheBytes: number;
}

export const DEFAULT_SEAL_INTERVAL_MS = 5_000;
export const DEFAULT_MEDIA_READ_CACHE_BYTES = 64 * 1024 * 1024;

export interface MediaTier {
  /** What every reader and ingest use. */
  media: MediaStore;
  /** Present with --durability replicated: ingest awaits it before PERSISTED. */
  replicate?: (p: PersistedFragment, header: Buffer, chunks: readonly Buffer[]) => Promise<void>;
  objects?: ObjectStore;
  sealer?: Sealer;
  stats(): { sealer?: SealerStats; readCache?: ReadCacheStats };
  /** Flat counters for /metrics (kestrel_media_tier{stat=…}). */
  metricValues(): Record<string, number>;
  /** DeleteStream: removes the stream's objects (without --media: nothing to do). */
  streamDeleted(streamName: string): Promise<void>;
  /** For /readyz: the bucket exists and answers with these credentials. */
  readinessCheck?: () => Promise<void>;
  start(): void;
  /** Uploads the tail (a stopping node hands its media over), then closes the object store client. */
  stop(): Promise<void>;
}

export function createMediaTier(deps: {
  settings: MediaSettings | undefined;
  local: MediaStore;
  streams: Pick<StreamRepository, 'getById' | 'getByName'>;
  index: FragmentIndex & MediaLocationIndex;
  log: Logger;
  /** Tests may hand in an object store (e.g. a folder); default S3 from the settings. */
  objects?: ObjectStore;
  /** Who runs the cluster-wide expired-object sweep (default: this node). */
  leader?: HousekeepingLeader;
}): MediaTier {
  const { settings, local } = deps;
  if (!settings) return { media: local, stats: () => ({}), metricValues: () => ({}), streamDeleted: async () => undefined, start: () => undefined, stop: async () => undefined };
  const { bucket, prefix } = parseMediaUrl(settings.url);
  const objects = deps.objects ?? new S3ObjectStore({ bucket, ...(settings.s3Endpoint ? { endpoint: settings.s3Endpoint } : {}) });
  const sealer = new Sealer({ streams: deps.streams, index: deps.index, local, objects, prefix, intervalMs: settings.sealIntervalMs, replicated: settings.durability === 'replicated', ...(deps.leader ? { leader: deps.leader } : {}), log: deps.log });
  const media = new TieredMediaStore(local, objects, settings.readCacheBytes);
  deps.log.info({ objects: objects.description, prefix, durability: settings.durability, sealIntervalMs: settings.sealIntervalMs }, 'media goes to the object store');
  return {
    media,
    objects,
    sealer,
    ...(settings.durability === 'replicated'
      ? { replicate: (p: PersistedFragment, header: Buffer, chunks: readonly Buffer[]) => sealer.sealFragment(p.stream, p.fragment, header, chunks) }
      : {}),
    stats: () => ({ sealer: sealer.stats(), readCache: media.cacheStats() }),
    // The stream is gone either way; objects a failure leaves behind are logged, not fatal to DeleteStream.
    streamDeleted: (name) => sealer.deleteStreamObjects(name).catch((err: unknown) => deps.log.warn({ err, stream: name }, 'could not delete the objects of a deleted stream')),
    metricValues() {
      const s = sealer.stats();
      const c = media.cacheStats();
      return {
        objects_uploaded: s.objectsUploaded,
        bytes_uploaded: s.bytesUploaded,
        fragments_sealed: s.fragmentsSealed,
        upload_failures: s.uploadFailures,
        key_conflicts: s.keyConflicts,
        local_segments_removed: s.localSegmentsRemoved,
        objects_deleted: s.objectsDeleted,
        last_seal_lag_ms: s.lastSealLagMs,
        cache_hits: c.hits,
        cache_misses: c.misses,
        cache_evictions: c.evictions,
        cache_bytes: c.bytes,
        cache_max_bytes: c.maxBytes,
      };
    },
    // A listing (not a HEAD): a missing bucket is an error there, while HEAD cannot tell it from a missing key.
    readinessCheck: async () => {
      for await (const _ of objects.list(joinKey(prefix, '.kestrel-readiness-probe'))) break;
    },
    start: () => sealer.start(),
    async stop() {
      await sealer.stop({ flush: true }).catch((err: unknown) => deps.log.warn({ err }, 'final seal failed; the tail stays in the local log'));
      await objects.close();
    },
  };
}
