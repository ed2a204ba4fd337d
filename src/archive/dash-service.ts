/**
 * DASH playback use case: the MPD for a session (static for ON_DEMAND, dynamic for LIVE and
 * LIVE_REPLAY). Segments are the HLS fMP4 ones (same URLs under /dash/v1/), served by HlsService.
 */
import { buildDashManifest, type DashSegment, type DashTrack } from '../hls/dash-manifest.ts';
import { initSegmentUri, mp4SegmentUri } from '../hls/uris.ts';
import type { Clock } from '../shared/clock.ts';
import { KvsError } from '../shared/errors.ts';
import type { FragmentRecord } from '../store/types.ts';
import type { PlaybackResult } from './hls-service.ts';
import { LruCache } from './lru-cache.ts';
import type { PlaybackSessions } from './playback-sessions.ts';
import { describeRendition, type Rendition } from './rendition.ts';
import type { SegmentBuilder } from './segment-builder.ts';
import type { SessionTimelines } from './session-timeline.ts';
import type { TrackCatalog } from './track-catalog.ts';

export interface DashServiceDeps {
  sessions: PlaybackSessions;
  timelines: SessionTimelines;
  builder: SegmentBuilder;
  catalog: TrackCatalog;
  clock: Clock;
}

export class DashService {
  /** Producer timestamp minus media (tfdt) time, per header: constant within one PutMedia session. */
  private readonly mediaOffsets = new LruCache<number, number>(512);

  constructor(private readonly deps: DashServiceDeps) {}

  async manifest(token: unknown): Promise<PlaybackResult> {
    const s = await this.deps.sessions.open(token, 'DASH');
    const view = await this.deps.timelines.view(s.key, s.claims);
    if (view.entries.length === 0) throw new KvsError('ResourceNotFoundException', 'No fragments found in the stream for the streaming request.');
    const r = await describeRendition(this.deps.catalog, view.entries.map((e) => e.record));
    const segments: DashSegment[] = [];
    for (const e of view.entries) {
      segments.push({
        fragmentNumber: e.record.fragmentNumber,
        mediaTimeMs: await this.mediaTime(e.record),
        durationMs: e.record.durationMs,
        timestampMs: e.timestampMs,
        initSequence: e.initSequence,
        periodId: String(e.initSequence),
      });
    }
    // Presentation time 0 is the session's first fragment (it may have left the window, or the store).
    const origin = view.first ? await this.mediaTime(view.first).catch(() => segments[0]!.mediaTimeMs) : segments[0]!.mediaTimeMs;
    const maxDur = Math.max(...segments.map((x) => x.durationMs));
    const now = this.deps.clock.now();
    const dynamic = s.claims.mode !== 'ON_DEMAND' && !view.ended;
    const availabilityStartTimeMs =
      s.claims.mode === 'LIVE' ? (view.first?.serverTimestampMs ?? now) : s.claims.issuedAtMs - view.replayLeadMs - maxDur;
    const body = buildDashManifest({
      segments,
      mediaOriginMs: Math.min(origin, segments[0]!.mediaTimeMs),
      tracks: dashTracks(r),
      uris: { init: (seq, track) => initSegmentUri(s.token, seq, track), segment: (fn, track) => mp4SegmentUri(s.token, fn, track) },
      displayTimestamp: s.claims.displayTimestamp === 'ALWAYS',
      displayFragmentNumber: s.claims.displayFragmentNumber === 'ALWAYS',
      ...(dynamic
        ? {
            live: {
              availabilityStartTimeMs,
              publishTimeMs: now,
              minimumUpdatePeriodMs: Math.max(1000, Math.ceil(maxDur / 1000) * 1000),
              timeShiftBufferDepthMs: segments.reduce((n, x) => n + x.durationMs, 0),
              suggestedPresentationDelayMs: 3 * maxDur,
            },
          }
        : {}),
    });
    return { body, final: !dynamic };
  }

  /** Start of a fragment on the media timeline its fMP4 segment's tfdt uses, ms. */
  private async mediaTime(record: FragmentRecord): Promise<number> {
    const offset = await this.mediaOffsets.getOrLoad(record.headerId, async () => {
      const fragment = await this.deps.builder.demux(record);
      return record.producerTimestampMs - fragment.startMs;
    });
    return record.producerTimestampMs - offset;
  }
}

/** Nominal audio bitrate: fragments carry one total size, so the video share is the rest. */
const AUDIO_BANDWIDTH = 128_000;

function dashTracks(r: Rendition): DashTrack[] {
  const audioCount = r.codecs.filter((c) => c.kind === 'audio').length;
  return r.codecs.map((c) => ({
    number: c.track,
    kind: c.kind,
    codec: c.codecString,
    bandwidth: c.kind === 'audio' ? AUDIO_BANDWIDTH : Math.max(100_000, r.bandwidth - audioCount * AUDIO_BANDWIDTH),
    ...(c.kind === 'video' ? { width: c.width, height: c.height } : { sampleRate: c.sampleRate }),
  }));
}
