import { LRUCache } from 'lru-cache';
import type { MediaLocation, MediaStore } from '../types.ts';
import type { ObjectStore } from './object-store.ts';

export interface ReadCacheStats {
  hits: number;
  misses: number;
  evictions: number;
  /** Bytes held now, and the bound. */
  bytes: number;
  maxBytes: number;
}

/**
 * The media store the rest of the server reads through when media goes to an object store: appends,
 * segments and recovery stay on the local log (the wrapped store); a fragment whose location carries
 * a sealed object is read by ranged GET, through a read cache bounded in bytes.
 */
export class TieredMediaStore implements MediaStore {
  private readonly cache: LRUCache<string, Buffer>;
  private readonly counters = { hits: 0, misses: 0, evictions: 0 };
  /** Ranged GETs in flight by cache key: concurrent readers of one fragment share a single GET. */
  private readonly inFlight = new Map<string, Promise<Buffer>>();

  constructor(
    private readonly local: MediaStore,
    private readonly objects: ObjectStore,
    private readonly maxCacheBytes: number,
  ) {
    this.cache = new LRUCache<string, Buffer>({
      maxSize: Math.max(1, maxCacheBytes),
      sizeCalculation: (b) => Math.max(1, b.length),
      // A fragment larger than the whole cache is served but not kept.
      maxEntrySize: Math.max(1, maxCacheBytes),
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.counters.evictions++;
      },
    });
  }

  cacheStats(): ReadCacheStats {
    return { ...this.counters, bytes: this.cache.calculatedSize, maxBytes: this.maxCacheBytes };
  }

  async read(streamId: number, location: MediaLocation): Promise<Buffer> {
    const object = location.object;
    if (!object) return this.local.read(streamId, location);
    const key = `${object.key}@${object.offset}+${location.length}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.counters.hits++;
      return hit;
    }
    this.counters.misses++;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.objects.get(object.key, { offset: object.offset, length: location.length });
      this.inFlight.set(key, pending);
      void pending.then(
        (bytes) => {
          this.inFlight.delete(key);
          if (this.maxCacheBytes > 0) this.cache.set(key, bytes);
        },
        () => this.inFlight.delete(key),
      );
    }
    return pending;
  }

  append(streamId: number, chunks: readonly Buffer[]): Promise<MediaLocation> {
    return this.local.append(streamId, chunks);
  }
  segments(streamId: number): Promise<string[]> {
    return this.local.segments(streamId);
  }
  segmentSize(streamId: number, segment: string): Promise<number> {
    return this.local.segmentSize(streamId, segment);
  }
  segmentModifiedMs(streamId: number, segment: string): Promise<number> {
    return this.local.segmentModifiedMs(streamId, segment);
  }
  removeSegments(streamId: number, segments: readonly string[]): Promise<void> {
    return this.local.removeSegments(streamId, segments);
  }
  activeSegment(streamId: number): string | undefined {
    return this.local.activeSegment(streamId);
  }
  seal(streamId: number): Promise<void> {
    return this.local.seal(streamId);
  }
  truncate(streamId: number, segment: string, length: number): Promise<void> {
    return this.local.truncate(streamId, segment, length);
  }
  removeStream(streamId: number): Promise<void> {
    this.cache.clear();
    return this.local.removeStream(streamId);
  }
  streamIds(): Promise<number[]> {
    return this.local.streamIds();
  }
  async close(): Promise<void> {
    this.cache.clear();
    await this.local.close();
  }
}
