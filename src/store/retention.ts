import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { NO_ARCHIVE_BUFFER, type LiveFeed } from './live-feed.ts';
import type { FragmentIndex, MediaStore, StreamRepository } from './types.ts';
import { alwaysLeader, type HousekeepingLeader } from './leader.ts';

const HOUR_MS = 3_600_000;
const FOLLOWER_QUIET_MS = 60_000;

/**
 * Enforces DataRetentionInHours continuously: drops expired index rows, then deletes the
 * segment files no remaining row points into. Retention 0 streams only age their in-memory buffer.
 * With a shared index only the housekeeping leader drops rows; every node removes its own segments.
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
      /** Who drops expired index rows (default: this node). */
      leader?: HousekeepingLeader;
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
    const leading = await (this.deps.leader ?? alwaysLeader).isLeader();
    for (const stream of await streams.list({ limit: Number.MAX_SAFE_INTEGER })) {
      try {
        if (stream.dataRetentionInHours === 0) {
          feed.expire(stream.id, now - NO_ARCHIVE_BUFFER.maxAgeMs);
          continue;
        }
        const removed = leading ? await index.deleteOlderThan(stream.id, now - stream.dataRetentionInHours * HOUR_MS) : 0;
        // A follower frees its own segments once the leader has dropped their rows.
        if (removed === 0 && (leading || (await media.segments(stream.id)).length === 0)) continue;
        const referenced = await index.committedEnds(stream.id);
        let unreferenced = (await media.segments(stream.id)).filter((s) => !referenced.has(s));
        // A follower sweeps every time, so it only takes segments quiet for a while: a just-closed
        // segment may still have a row on its way into the index.
        if (!leading) unreferenced = await olderThan(media, stream.id, unreferenced, now - FOLLOWER_QUIET_MS);
        await media.removeSegments(stream.id, unreferenced);
        if (removed === 0 && unreferenced.length === 0) continue;
        log.info({ stream: stream.name, fragments: removed, segments: unreferenced.length }, 'retention applied');
      } catch (err) {
        log.error({ err, stream: stream.name }, 'retention sweep failed');
      }
    }
  }
}

async function olderThan(media: MediaStore, streamId: number, segments: string[], beforeMs: number): Promise<string[]> {
  const out: string[] = [];
  for (const s of segments) if ((await media.segmentModifiedMs(streamId, s)) < beforeMs) out.push(s);
  return out;
}
