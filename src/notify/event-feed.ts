import type { DetectionEvent } from '../events/types.ts';
import type { Notifier } from './notifier.ts';

export interface FeedItem {
  /** Monotonic per feed; use as the SSE `id:` so clients can resume with Last-Event-ID. */
  seq: number;
  event: DetectionEvent;
}

export type FeedListener = (item: FeedItem) => void;

export interface SubscribeOptions {
  /** Only events of this stream. */
  stream?: string;
  /** Replay buffered items with seq > this first (SSE Last-Event-ID). */
  afterSeq?: number;
}

/**
 * In-process fan-out for the live SSE feed. Listeners are called synchronously; one that throws is
 * isolated. Keeps the last `bufferSize` items for reconnecting clients.
 */
export class EventFeed implements Notifier {
  readonly name = 'feed';
  private readonly listeners = new Set<{ fn: FeedListener; stream?: string }>();
  private readonly buffer: FeedItem[] = [];
  private seq = 0;

  constructor(private readonly bufferSize = 200) {}

  subscribe(listener: FeedListener, opts: SubscribeOptions = {}): () => void {
    const entry = opts.stream === undefined ? { fn: listener } : { fn: listener, stream: opts.stream };
    if (opts.afterSeq !== undefined) {
      for (const item of this.buffer) if (item.seq > opts.afterSeq && matches(entry.stream, item)) safeCall(listener, item);
    }
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  async publish(event: DetectionEvent): Promise<void> {
    const item = { seq: ++this.seq, event };
    this.buffer.push(item);
    if (this.buffer.length > this.bufferSize) this.buffer.shift();
    for (const l of [...this.listeners]) if (matches(l.stream, item)) safeCall(l.fn, item);
  }
}

function matches(stream: string | undefined, item: FeedItem): boolean {
  return stream === undefined || item.event.stream.name === stream;
}

function safeCall(fn: FeedListener, item: FeedItem): void {
  try {
    fn(item);
  } catch {
    // a broken subscriber must not affect the others
  }
}
