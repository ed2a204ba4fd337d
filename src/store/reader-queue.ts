/**
 * Per-reader queues between the live feed and one reader (a GetMedia response, a detection
 * source): a ring bounded in bytes, as MediaMTX's per-reader ring buffer. When a reader falls so far
 * behind that the ring is full, new items are discarded (the reader keeps a contiguous prefix),
 * counted, and logged at most every few seconds; what the reader does about it is its own policy
 * (GetMedia ends the response with an error chunk, detection skips ahead).
 */
import type { Logger } from '../shared/logger.ts';

/** Counters shared by every queue of one kind of reader (for /metrics). */
export class ReaderQueueStats {
  discardedItems = 0;
  discardedBytes = 0;
  /** Readers that overflowed at least once. */
  overflowedReaders = 0;
  /** Bytes held in all live queues of this kind right now. */
  queuedBytes = 0;
}

export interface ReaderQueueOptions<T> {
  maxBytes: number;
  sizeOf: (item: T) => number;
  stats?: ReaderQueueStats;
  log?: Logger;
  /** Names the reader in the log line (e.g. "GetMedia stream=cam1"). */
  label?: string;
  logEveryMs?: number;
}

const DISCARD_LOG_EVERY_MS = 5000;

export class ReaderQueue<T> {
  private items: Array<T | undefined> = [];
  private head = 0;
  private bytesHeld = 0;
  private overflowed = false;
  private unloggedDiscards = 0;
  private lastLogAt = -Infinity;
  /** Items this reader lost to a full ring. */
  discarded = 0;

  constructor(private readonly opts: ReaderQueueOptions<T>) {}

  get bytes(): number {
    return this.bytesHeld;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** Adds the item, or discards it (false) when it would take the ring past maxBytes. A lone item always fits. */
  push(item: T): boolean {
    const size = this.opts.sizeOf(item);
    if (this.length > 0 && this.bytesHeld + size > this.opts.maxBytes) {
      this.discard(size);
      return false;
    }
    this.items.push(item);
    this.bytesHeld += size;
    if (this.opts.stats) this.opts.stats.queuedBytes += size;
    return true;
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head]!;
    this.items[this.head++] = undefined;
    this.release(this.opts.sizeOf(item));
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Everything queued, oldest first, leaving the queue empty. */
  drain(): T[] {
    const out = this.items.slice(this.head) as T[];
    this.clear();
    return out;
  }

  clear(): void {
    this.release(this.bytesHeld);
    this.items = [];
    this.head = 0;
  }

  private release(size: number): void {
    this.bytesHeld -= size;
    if (this.opts.stats) this.opts.stats.queuedBytes -= size;
  }

  private discard(size: number): void {
    this.discarded++;
    this.unloggedDiscards++;
    const stats = this.opts.stats;
    if (stats) {
      stats.discardedItems++;
      stats.discardedBytes += size;
      if (!this.overflowed) stats.overflowedReaders++;
    }
    this.overflowed = true;
    const now = Date.now();
    if (this.opts.log && now - this.lastLogAt >= (this.opts.logEveryMs ?? DISCARD_LOG_EVERY_MS)) {
      this.opts.log.warn(
        { discarded: this.unloggedDiscards, queuedBytes: this.bytesHeld, maxBytes: this.opts.maxBytes },
        `${this.opts.label ?? 'reader'} is too slow, discarding ${this.unloggedDiscards} item(s)`,
      );
      this.lastLogAt = now;
      this.unloggedDiscards = 0;
    }
  }
}
