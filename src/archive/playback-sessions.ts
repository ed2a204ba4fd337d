/**
 * GetHLSStreamingSessionURL / GetDASHStreamingSessionURL: validate the request, check that the
 * session has something to play, and mint its signed token. Also the reverse: every playlist
 * and segment request opens its session from the token.
 */
import { decodeSessionToken, encodeSessionToken, SessionTokenError } from '../hls/session-token.ts';
import type { PlaybackProtocol, SessionClaims } from '../hls/types.ts';
import { dashManifestPath, hlsMasterPlaylistPath } from '../hls/uris.ts';
import type { Clock } from '../shared/clock.ts';
import { KvsError } from '../shared/errors.ts';
import type { LiveFeed } from '../store/live-feed.ts';
import type { FragmentIndex, FragmentRecord, StreamRecord } from '../store/types.ts';
import { parsePlaybackRequest } from './playback-request.ts';
import { LruCache } from './lru-cache.ts';
import type { TrackCatalog } from './track-catalog.ts';

/** KVS: LIVE needs a fragment ingested within this long. */
export const LIVE_RECENCY_MS = 30_000;
/** Longest fragment KVS accepts; bounds how far back the newest N fragments can lie. */
const MAX_FRAGMENT_MS = 20_000;
const NO_FRAGMENTS = 'No fragments found in the stream for the streaming request.';
/** How many fragments of a range are looked at for one with playable tracks (headers are cached, so this is cheap). */
const RANGE_CODEC_SCAN = 1000;

export interface PlaybackSessionDeps {
  index: FragmentIndex;
  feed: LiveFeed;
  catalog: TrackCatalog;
  clock: Clock;
  /** HMAC key for session tokens (persisted by the composition root, so tokens survive restarts). */
  secret: Buffer;
  currentStream: (id: number) => Promise<StreamRecord | undefined>;
}

export interface OpenSession {
  claims: SessionClaims;
  /** Stable per-session cache key. */
  key: string;
  token: string;
}

export class PlaybackSessions {
  /** Verified tokens: a player sends the same one with every request (expiry is still checked each time). */
  private readonly verified = new LruCache<string, SessionClaims>(4096);

  constructor(private readonly deps: PlaybackSessionDeps) {}

  /**
   * Returns the session URL. `lowLatency` (Kestrel addition) binds LL-HLS into the token; it only
   * applies to LIVE fMP4 HLS sessions.
   */
  async create(protocol: PlaybackProtocol, stream: StreamRecord, body: Record<string, unknown>, opts: { endpoint: string; lowLatency?: boolean }): Promise<string> {
    const now = this.deps.clock.now();
    const req = parsePlaybackRequest(protocol, body, now);
    if (stream.dataRetentionInHours === 0) {
      throw new KvsError('NoDataRetentionException', `Stream ${stream.name} has no data retention; HLS/DASH need an archived stream.`);
    }
    const { anchor, candidates } = req.mode === 'LIVE' ? await this.liveStart(stream, req.maxResults, now) : await this.rangeStart(stream, req.selector);
    // Unplayable tracks fail here, as on KVS, rather than in the player, but only when nothing in
    // the session can be played: fragments with unplayable tracks are left out of its playlists.
    await this.requirePlayable(candidates);
    const claims: SessionClaims = {
      protocol,
      streamId: stream.id,
      streamName: stream.name,
      mode: req.mode,
      container: req.container,
      selector: req.selector,
      discontinuity: req.discontinuity,
      displayTimestamp: req.displayTimestamp,
      displayFragmentNumber: req.displayFragmentNumber,
      maxResults: req.maxResults,
      anchor,
      lowLatency: Boolean(opts.lowLatency) && protocol === 'HLS' && req.mode === 'LIVE' && req.container === 'FRAGMENTED_MP4',
      issuedAtMs: now,
      expiresAtMs: now + req.expiresInSec * 1000,
    };
    const token = encodeSessionToken(claims, this.deps.secret);
    return opts.endpoint + (protocol === 'HLS' ? hlsMasterPlaylistPath(token) : dashManifestPath(token));
  }

  /** Verifies a token from a playlist/segment request; `protocol` restricts playlist endpoints to their kind. */
  async open(token: unknown, protocol?: PlaybackProtocol): Promise<OpenSession> {
    const claims = this.verify(token);
    if (protocol && claims.protocol !== protocol) {
      throw new KvsError('InvalidArgumentException', `SessionToken belongs to a ${claims.protocol} session, not ${protocol}.`);
    }
    const stream = await this.deps.currentStream(claims.streamId);
    if (!stream || stream.name !== claims.streamName || stream.status === 'DELETING') {
      throw new KvsError('ResourceNotFoundException', `The stream of this session (${claims.streamName}) no longer exists.`);
    }
    const t = token as string;
    return { claims, key: t.slice(t.lastIndexOf('.') + 1), token: t };
  }

  private verify(token: unknown): SessionClaims {
    const now = this.deps.clock.now();
    const known = typeof token === 'string' ? this.verified.get(token) : undefined;
    if (known && known.expiresAtMs > now) return known;
    try {
      const claims = decodeSessionToken(token, this.deps.secret, { nowMs: now });
      this.verified.set(token as string, claims);
      return claims;
    } catch (err) {
      if (!(err instanceof SessionTokenError)) throw err;
      throw new KvsError(err.problem === 'malformed' ? 'InvalidArgumentException' : 'NotAuthorizedException', err.message);
    }
  }

  /** Throws the codec error of the first candidate when none of them has playable tracks. */
  private async requirePlayable(candidates: readonly FragmentRecord[]): Promise<void> {
    const [first] = candidates;
    if (!first) return;
    const seen = new Set<number>();
    for (const r of candidates) {
      if (seen.has(r.headerId)) continue;
      seen.add(r.headerId);
      if (!(await this.deps.catalog.get(r.headerId)).error) return;
    }
    await this.deps.catalog.playable(first.headerId);
  }

  /** LIVE: the session starts with the newest N fragments; there must be one from the last 30 s. */
  private async liveStart(stream: StreamRecord, n: number, now: number): Promise<{ anchor: string; candidates: FragmentRecord[] }> {
    const latest = await this.deps.index.latest(stream.id);
    const arriving = this.deps.feed.progress(stream.id);
    const recent = (latest && latest.serverTimestampMs >= now - LIVE_RECENCY_MS) || (arriving && arriving.serverTimestampMs >= now - LIVE_RECENCY_MS);
    if (!recent) throw new KvsError('ResourceNotFoundException', NO_FRAGMENTS);
    if (!latest) return { anchor: before(arriving!.fragmentNumber), candidates: [] };
    // Server timestamps grow with fragment numbers: widen a window back from the newest until it holds N.
    let span = Math.max(60_000, 2 * n * Math.max(latest.durationMs, 1000));
    for (;;) {
      const startMs = Math.max(0, latest.serverTimestampMs - span);
      const rows = await this.deps.index.range({ streamId: stream.id, kind: 'SERVER_TIMESTAMP', startMs, endMs: latest.serverTimestampMs, limit: 20_000 });
      if (rows.length >= n || startMs === 0 || span > n * MAX_FRAGMENT_MS + 60_000 || rows.length === 20_000) {
        const oldest = rows.slice(-n)[0] ?? latest;
        // Newest first: the stream's current tracks decide unless they cannot be played.
        return { anchor: before(oldest.fragmentNumber), candidates: [latest, ...rows.slice(-n).reverse()] };
      }
      span *= 4;
    }
  }

  /** LIVE_REPLAY / ON_DEMAND: the session starts at the first fragment starting in the range. */
  private async rangeStart(stream: StreamRecord, selector: SessionClaims['selector']): Promise<{ anchor: string; candidates: FragmentRecord[] }> {
    const rows = await this.deps.index.range({
      streamId: stream.id,
      kind: selector.kind,
      startMs: selector.startMs ?? 0,
      endMs: selector.endMs ?? Number.MAX_SAFE_INTEGER,
      limit: RANGE_CODEC_SCAN,
    });
    const [first] = rows;
    if (!first) throw new KvsError('ResourceNotFoundException', NO_FRAGMENTS);
    return { anchor: before(first.fragmentNumber), candidates: rows };
  }
}

/** The exclusive cursor just below a fragment number (numbers are fixed-width digit strings). */
export function before(fragmentNumber: string): string {
  return (BigInt(fragmentNumber) - 1n).toString().padStart(fragmentNumber.length, '0');
}
