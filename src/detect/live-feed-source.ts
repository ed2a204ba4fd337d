/**
 * In-process FragmentSource over the store's LiveFeed (for `kestrel serve --detect`). With a token it
 * resumes right after it from the in-memory buffer (when still there); without one it starts at NOW, or
 * with `fromBuffered` at the oldest buffered fragment (the feed is per process: at startup it holds
 * nothing older).
 *
 * `holdNew`: a stream nobody knew about yet (created after the last discovery) has its fragments kept
 * here from its very first one until its reader opens, so a stream is analysed from its first fragment
 * even when discovery takes longer than the feed's short tail buffer (3 fragments). Bounded by count and
 * age; fragments of a stream that never gets a reader (detection disabled) expire.
 */
import type { LiveFeed, LiveFragment } from '../store/live-feed.ts';
import { ReaderQueue, type ReaderQueueStats } from '../store/reader-queue.ts';
import type { Logger } from '../shared/logger.ts';
import type { FragmentSource, FragmentSourceStart, SourceFragment } from './fragment-source.ts';

export interface LiveFeedSourceOptions {
  feed: LiveFeed;
  /** Maps a stream name to the store's numeric id (undefined = unknown stream). */
  streamId(stream: string): number | undefined;
  /** Without a continuation token, start at the oldest buffered fragment instead of NOW. */
  fromBuffered?: boolean;
  holdNew?: {
    /** Streams already discovered (their fragments are not held). */
    isKnown(streamId: number): boolean;
    /** Default 200 fragments per stream. */
    maxFragments?: number;
    /** Default 60 s. */
    maxAgeMs?: number;
  };
  now?: () => number;
  /**
   * Bound of each reader's queue of new fragments (default 64 MiB). A detector that falls further
   * behind skips the fragments that do not fit (counted in `queueStats`, logged).
   */
  maxQueueBytes?: number;
  queueStats?: ReaderQueueStats;
  log?: Logger;
}

const DEFAULT_QUEUE_BYTES = 64 * 1024 * 1024;

interface Held {
  items: Array<{ at: number; f: LiveFragment }>;
}

export class LiveFeedSource implements FragmentSource {
  private readonly held = new Map<number, Held>();
  private readonly readers = new Map<number, number>();
  private readonly unsubscribeAll: (() => void) | undefined;
  private readonly sweep: NodeJS.Timeout | undefined;

  constructor(private readonly opts: LiveFeedSourceOptions) {
    if (opts.holdNew) {
      this.unsubscribeAll = opts.feed.subscribeAll((f) => this.hold(f));
      this.sweep = setInterval(() => this.expire(), Math.max(1000, (opts.holdNew.maxAgeMs ?? 60_000) / 2));
      this.sweep.unref();
    }
  }

  /** Stops holding fragments of new streams. */
  close(): void {
    this.unsubscribeAll?.();
    clearInterval(this.sweep);
    this.held.clear();
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private hold(f: LiveFragment): void {
    const hn = this.opts.holdNew!;
    const id = f.record.streamId;
    if (this.readers.has(id)) return;
    let h = this.held.get(id);
    if (!h) {
      if (hn.isKnown(id)) return;
      h = { items: [] };
      this.held.set(id, h);
    }
    h.items.push({ at: this.now(), f });
    if (h.items.length > (hn.maxFragments ?? 200)) h.items.shift();
  }

  private expire(): void {
    const before = this.now() - (this.opts.holdNew?.maxAgeMs ?? 60_000);
    for (const [id, h] of this.held) {
      while (h.items.length && h.items[0]!.at < before) h.items.shift();
      if (h.items.length === 0) this.held.delete(id);
    }
  }

  /** Fragments of the stream already there when a reader opens: held ones, then the feed's buffer. */
  private backlog(id: number): LiveFragment[] {
    const held = this.held.get(id)?.items.map((i) => i.f) ?? [];
    this.held.delete(id);
    const seen = new Set(held.map((f) => f.record.fragmentNumber));
    const all = [...held, ...this.opts.feed.recent(id).filter((f) => !seen.has(f.record.fragmentNumber))];
    return all.sort((a, b) => (a.record.fragmentNumber < b.record.fragmentNumber ? -1 : a.record.fragmentNumber > b.record.fragmentNumber ? 1 : 0));
  }

  async *fragments(stream: string, from: FragmentSourceStart, signal?: AbortSignal): AsyncIterable<SourceFragment> {
    const id = this.opts.streamId(stream);
    if (id === undefined) throw new Error(`unknown stream ${stream}`);
    const queue = new ReaderQueue<LiveFragment>({
      maxBytes: this.opts.maxQueueBytes ?? DEFAULT_QUEUE_BYTES,
      sizeOf: (f) => f.record.sizeBytes,
      ...(this.opts.queueStats ? { stats: this.opts.queueStats } : {}),
      ...(this.opts.log ? { log: this.opts.log } : {}),
      label: `detection reader of stream ${stream}`,
    });
    let wake: (() => void) | undefined;
    const unsubscribe = this.opts.feed.subscribe(id, (f) => {
      queue.push(f);
      wake?.();
    });
    this.readers.set(id, (this.readers.get(id) ?? 0) + 1);
    const onAbort = () => wake?.();
    signal?.addEventListener('abort', onAbort);
    try {
      // Resume from the in-memory buffer when the token is still there (fragment numbers sort by ingestion order).
      const token = from.continuationToken;
      if (token !== undefined || this.opts.fromBuffered) {
        const buffered = this.backlog(id).filter((f) => token === undefined || f.record.fragmentNumber > token);
        const queued = queue.drain();
        const inQueue = new Set(queued.map((q) => q.record.fragmentNumber));
        for (const f of [...buffered.filter((b) => !inQueue.has(b.record.fragmentNumber)), ...queued]) queue.push(f);
      }
      let last = token;
      while (!signal?.aborted) {
        const f = queue.shift();
        if (!f) {
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
          continue;
        }
        if (last !== undefined && f.record.fragmentNumber <= last) continue;
        last = f.record.fragmentNumber;
        yield {
          stream,
          fragmentNumber: f.record.fragmentNumber,
          producerTimestampMs: f.record.producerTimestampMs,
          serverTimestampMs: f.record.serverTimestampMs,
          mkv: Buffer.concat([f.header, f.body]),
          continuationToken: f.record.fragmentNumber,
        };
      }
    } finally {
      unsubscribe();
      queue.clear();
      const n = (this.readers.get(id) ?? 1) - 1;
      if (n > 0) this.readers.set(id, n);
      else this.readers.delete(id);
      signal?.removeEventListener('abort', onAbort);
    }
  }
}
