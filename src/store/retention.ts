import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { NO_ARCHIVE_BUFFER, type LiveFeed } from './live-feed.ts';
import type { FragmentIndex, MediaStore, StreamRepository } from './types.ts';

const HOUR_MS = 3_600_000;

/**
 * Enforces DataRetentionInHours continuously: drops expired index rows, then deletes the
 * segment files no remaining row points into. Retention 0 streams only age their in-memory buffer.
 */
export class RetentionCleaner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      streams: StreamRepository;
      index: FragmentIndex;
      media: MediaStore;
      feed: LiveFeed;
      clock: Clock;
      intervalMs: number;
      log: Logger;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass over every stream. Safe to call directly (tests do). */
  sweep(): Promise<void> {
    this.running ??= this.sweepAll().finally(() => (this.running = undefined));
    return this.running;
  }

  private async sweepAll(): Promise<void> {
    const { streams, index, media, feed, clock, log } = this.deps;
    const now = clock.now();
    feed.expireAll();
    for (const stream of await streams.list({ limit: Number.MAX_SAFE_INTEGER })) {
      try {
        if (stream.dataRetentionInHours === 0) {
          feed.expire(stream.id, now - NO_ARCHIVE_BUFFER.maxAgeMs);
          continue;
        }
        const removed = await index.deleteOlderThan(stream.id, now - stream.dataRetentionInHours * HOUR_MS);
        if (removed === 0) continue;
        const referenced = await index.committedEnds(stream.id);
        const unreferenced = (await media.segments(stream.id)).filter((s) => !referenced.has(s));
        await media.removeSegments(stream.id, unreferenced);
        log.info({ stream: stream.name, fragments: removed, segments: unreferenced.length }, 'retention applied');
      } catch (err) {
        log.error({ err, stream: stream.name }, 'retention sweep failed');
      }
    }
  }
}
