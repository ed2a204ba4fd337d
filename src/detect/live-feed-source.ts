/** In-process FragmentSource over the store's LiveFeed (for `kestrel serve --detect`). */
import type { LiveFeed, LiveFragment } from '../store/live-feed.ts';
import type { FragmentSource, FragmentSourceStart, SourceFragment } from './fragment-source.ts';

export interface LiveFeedSourceOptions {
  feed: LiveFeed;
  /** Maps a stream name to the store's numeric id (undefined = unknown stream). */
  streamId(stream: string): number | undefined;
}

export class LiveFeedSource implements FragmentSource {
  constructor(private readonly opts: LiveFeedSourceOptions) {}

  async *fragments(stream: string, from: FragmentSourceStart, signal?: AbortSignal): AsyncIterable<SourceFragment> {
    const id = this.opts.streamId(stream);
    if (id === undefined) throw new Error(`unknown stream ${stream}`);
    const queue: LiveFragment[] = [];
    let wake: (() => void) | undefined;
    const unsubscribe = this.opts.feed.subscribe(id, (f) => {
      queue.push(f);
      wake?.();
    });
    const onAbort = () => wake?.();
    signal?.addEventListener('abort', onAbort);
    try {
      // Resume from the in-memory buffer when the token is still there (fragment numbers sort by ingestion order).
      const token = from.continuationToken;
      if (token !== undefined) {
        const buffered = this.opts.feed.recent(id).filter((f) => f.record.fragmentNumber > token);
        queue.unshift(...buffered.filter((b) => !queue.includes(b)));
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
      signal?.removeEventListener('abort', onAbort);
    }
  }
}
