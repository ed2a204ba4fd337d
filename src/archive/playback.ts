/**
 * Builds the playback (HLS/DASH) use case from storage: one call for the composition root.
 */
import type { Clock } from '../shared/clock.ts';
import type { LiveFeed } from '../store/live-feed.ts';
import type { FragmentIndex, MediaStore, StreamRecord } from '../store/types.ts';
import type { FragmentBytesSource } from '../store/fragment-bytes.ts';
import { DashService } from './dash-service.ts';
import { HlsService } from './hls-service.ts';
import { LiveParts } from './live-parts.ts';
import { PlaybackSessions } from './playback-sessions.ts';
import { SegmentBuilder } from './segment-builder.ts';
import { SessionTimelines } from './session-timeline.ts';
import { TrackCatalog } from './track-catalog.ts';

export interface PlaybackDeps {
  index: FragmentIndex;
  media: MediaStore;
  feed: LiveFeed;
  clock: Clock;
  /** HMAC key for session tokens. */
  secret: Buffer;
  currentStream: (id: number) => Promise<StreamRecord | undefined>;
  /** LL-HLS part target (default DEFAULT_PART_TARGET_MS). */
  partTargetMs?: number;
  /** Bytes of stored fragments (default: index header + media store). */
  bytes?: FragmentBytesSource;
}

export interface Playback {
  sessions: PlaybackSessions;
  hls: HlsService;
  dash: DashService;
  close(): void;
}

export function createPlayback(deps: PlaybackDeps): Playback {
  const { index, media, feed, clock } = deps;
  const catalog = new TrackCatalog(index);
  const builder = new SegmentBuilder({ index, media, feed, catalog, ...(deps.bytes ? { bytes: deps.bytes } : {}) });
  const parts = new LiveParts(feed, builder, deps.partTargetMs);
  const timelines = new SessionTimelines({ index, catalog, clock });
  const sessions = new PlaybackSessions({ index, feed, catalog, clock, secret: deps.secret, currentStream: deps.currentStream });
  return {
    sessions,
    hls: new HlsService({ sessions, timelines, builder, parts, catalog, index, clock }),
    dash: new DashService({ sessions, timelines, builder, catalog, clock, parts }),
    close: () => parts.close(),
  };
}
