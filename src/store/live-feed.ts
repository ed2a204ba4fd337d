import type { FragmentRecord } from './types.ts';

/** A fragment as live readers need it: metadata plus the bytes, so the tail never waits on disk. */
export interface LiveFragment {
  record: FragmentRecord;
  header: Buffer;
  body: Buffer;
}

export interface RetainPolicy {
  maxAgeMs: number;
  maxBytes: number;
  maxCount: number;
}

/** Streams with archive keep only a short tail in memory (the index has the rest). */
export const TAIL_CACHE: RetainPolicy = { maxAgeMs: 60_000, maxBytes: 32 * 1024 * 1024, maxCount: 8 };
/** Retention 0: KVS keeps fragments ~5 min / 200 MB in a buffer readable only by GetMedia. */
export const NO_ARCHIVE_BUFFER: RetainPolicy = { maxAgeMs: 5 * 60_000, maxBytes: 200 * 1024 * 1024, maxCount: 10_000 };

/**
 * A fragment still arriving: its header and the cluster children received so far (the
 * Timecode element first, then blocks). Published after every network read that added blocks.
 */
export interface FragmentProgress {
  streamId: number;
  fragmentNumber: string;
  serverTimestampMs: number;
  producerTimestampMs: number;
  header: Buffer;
  clusterChildren: readonly Buffer[];
  blocks: number;
}

interface StreamFeed {
  items: LiveFragment[];
  bytes: number;
  listeners: Set<(f: LiveFragment) => void>;
  progress?: FragmentProgress;
  progressListeners: Set<(p: FragmentProgress) => void>;
}

/**
 * In-process fan-out of newly stored fragments to live GetMedia readers, with a bounded
 * per-stream buffer of recent ones. A multi-node deployment replaces the notification part
 * (e.g. PostgreSQL LISTEN/NOTIFY); readers only depend on this shape.
 */
export class LiveFeed {
  private readonly streams = new Map<number, StreamFeed>();

  private feed(streamId: number): StreamFeed {
    let f = this.streams.get(streamId);
    if (!f) {
      f = { items: [], bytes: 0, listeners: new Set(), progressListeners: new Set() };
      this.streams.set(streamId, f);
    }
    return f;
  }

  publish(fragment: LiveFragment, policy: RetainPolicy, now = Date.now()): void {
    const f = this.feed(fragment.record.streamId);
    if (f.progress?.fragmentNumber === fragment.record.fragmentNumber) delete f.progress;
    f.items.push(fragment);
    f.bytes += fragment.body.length;
    while (
      f.items.length > 0 &&
      (f.items.length > policy.maxCount ||
        f.bytes > policy.maxBytes ||
        (f.items[0]!.record.serverTimestampMs < now - policy.maxAgeMs && f.items.length > 1))
    ) {
      const old = f.items.shift()!;
      f.bytes -= old.body.length;
    }
    for (const l of [...f.listeners]) l(fragment);
  }

  /** Reports the fragment currently arriving on a stream. */
  publishProgress(p: FragmentProgress): void {
    const f = this.feed(p.streamId);
    f.progress = p;
    for (const l of [...f.progressListeners]) l(p);
  }

  /** The fragment currently arriving, if any (cleared when it is published whole). */
  progress(streamId: number): FragmentProgress | undefined {
    return this.streams.get(streamId)?.progress;
  }

  subscribeProgress(streamId: number, listener: (p: FragmentProgress) => void): () => void {
    const f = this.feed(streamId);
    f.progressListeners.add(listener);
    return () => f.progressListeners.delete(listener);
  }

  /** Buffered fragments, oldest first. */
  recent(streamId: number): readonly LiveFragment[] {
    return this.streams.get(streamId)?.items ?? [];
  }

  subscribe(streamId: number, listener: (f: LiveFragment) => void): () => void {
    const f = this.feed(streamId);
    f.listeners.add(listener);
    return () => f.listeners.delete(listener);
  }

  /** Drops buffered fragments older than `beforeMs` (retention for the no-archive buffer). */
  expire(streamId: number, beforeMs: number): void {
    const f = this.streams.get(streamId);
    if (!f) return;
    while (f.items.length && f.items[0]!.record.serverTimestampMs < beforeMs) {
      f.bytes -= f.items.shift()!.body.length;
    }
  }

  dropStream(streamId: number): void {
    const f = this.streams.get(streamId);
    if (!f) return;
    f.items = [];
    f.bytes = 0;
    delete f.progress;
    if (f.listeners.size === 0 && f.progressListeners.size === 0) this.streams.delete(streamId);
  }
}
