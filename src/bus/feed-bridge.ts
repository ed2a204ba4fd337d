/**
 * Joins this node's LiveFeed to the live bus. Outbound: every fragment this node made durable
 * (PERSISTED) is announced as a reference. Inbound: for each stream that has readers here, the
 * bridge subscribes to its announcements and hands other nodes' fragments to the feed as records
 * (`announceRemote`); readers then read the bytes through their FragmentBytesSource. After a bus
 * outage every reader is told to re-read the index (`resyncAll`).
 */
import type { Logger } from '../shared/logger.ts';
import type { LiveFeed } from '../store/live-feed.ts';
import type { FragmentRecord } from '../store/types.ts';
import type { LiveBus } from './live-bus.ts';

const FAILURE_LOG_EVERY_MS = 10_000;

export class LiveFeedBusBridge {
  private readonly subscriptions = new Map<number, () => void>();
  private readonly offResync: () => void;
  private lastFailureLogAt = -Infinity;
  /** Announcements from other nodes handed to the feed. */
  remoteFragments = 0;

  constructor(
    private readonly deps: { feed: LiveFeed; bus: LiveBus; nodeId: string; log: Logger },
  ) {
    const { feed, bus } = deps;
    feed.setInterestHook((streamId, interested) => (interested ? this.follow(streamId) : this.unfollow(streamId)));
    this.offResync = bus.onResync(() => {
      deps.log.info('live bus reconnected: readers re-read the index');
      feed.resyncAll();
    });
  }

  /** Announces a fragment this node stored (after its PERSISTED). Never throws: a bus outage only delays other nodes' readers. */
  announce(streamName: string, record: FragmentRecord): void {
    try {
      this.deps.bus.publish({ nodeId: this.deps.nodeId, streamName, record });
    } catch (err) {
      const now = Date.now();
      if (now - this.lastFailureLogAt >= FAILURE_LOG_EVERY_MS) {
        this.lastFailureLogAt = now;
        this.deps.log.warn({ err, failed: this.deps.bus.stats.publishFailed }, 'live bus unavailable: fragment announcements are not sent (readers on other nodes catch up from the index)');
      }
    }
  }

  private follow(streamId: number): void {
    if (this.subscriptions.has(streamId)) return;
    // Announcements published before a network subscription held are only in the index. An in-process
    // bus misses nothing, and a needless resync wakes every blocking playlist reload of the stream.
    const off = this.deps.bus.subscribe(streamId, (a) => {
      if (a.nodeId === this.deps.nodeId) return; // this node's feed already delivered it, with its bytes
      this.remoteFragments++;
      this.deps.feed.announceRemote(a.record);
    }, this.deps.bus.mayMiss ? () => this.deps.feed.resync(streamId) : undefined);
    this.subscriptions.set(streamId, off);
  }

  private unfollow(streamId: number): void {
    this.subscriptions.get(streamId)?.();
    this.subscriptions.delete(streamId);
  }

  close(): void {
    this.deps.feed.setInterestHook(undefined);
    this.offResync();
    for (const off of this.subscriptions.values()) off();
    this.subscriptions.clear();
  }
}
