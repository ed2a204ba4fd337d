/**
 * PlaybackSessions.open remembers verified tokens (players send the same one with every request);
 * the cache must never let an expired, forged or orphaned session through.
 */
import { describe, expect, it } from 'vitest';
import { PlaybackSessions } from '../../../src/archive/playback-sessions.ts';
import type { TrackCatalog } from '../../../src/archive/track-catalog.ts';
import { encodeSessionToken } from '../../../src/hls/session-token.ts';
import type { SessionClaims } from '../../../src/hls/types.ts';
import type { LiveFeed } from '../../../src/store/live-feed.ts';
import type { FragmentIndex, StreamRecord } from '../../../src/store/types.ts';

const secret = Buffer.alloc(32, 7);
const claims: SessionClaims = {
  protocol: 'HLS',
  streamId: 3,
  streamName: 'cam',
  mode: 'LIVE',
  container: 'FRAGMENTED_MP4',
  selector: { kind: 'SERVER_TIMESTAMP' },
  discontinuity: 'ALWAYS',
  displayTimestamp: 'NEVER',
  displayFragmentNumber: 'NEVER',
  maxResults: 5,
  anchor: '000',
  lowLatency: false,
  issuedAtMs: 1_000,
  expiresAtMs: 10_000,
};

function sessions(clock: { now(): number }, stream: () => Partial<StreamRecord> | undefined) {
  return new PlaybackSessions({
    index: {} as FragmentIndex,
    feed: {} as LiveFeed,
    catalog: {} as TrackCatalog,
    clock,
    secret,
    currentStream: async () => stream() as StreamRecord | undefined,
  });
}

describe('PlaybackSessions.open', () => {
  it('refuses a token once it expires, even after it was verified before', async () => {
    const clock = { t: 5_000, now() { return this.t; } };
    const s = sessions(clock, () => ({ id: 3, name: 'cam', status: 'ACTIVE' }));
    const token = encodeSessionToken(claims, secret);
    expect((await s.open(token)).claims.streamName).toBe('cam');
    expect((await s.open(token)).claims.expiresAtMs).toBe(10_000);
    clock.t = 10_000;
    await expect(s.open(token)).rejects.toMatchObject({ name: 'NotAuthorizedException' });
  });

  it('refuses a forged token and a session whose stream was deleted, whatever was cached', async () => {
    let status = 'ACTIVE';
    const s = sessions({ now: () => 5_000 }, () => ({ id: 3, name: 'cam', status: status as StreamRecord['status'] }));
    const token = encodeSessionToken(claims, secret);
    await s.open(token);
    const forged = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
    await expect(s.open(forged)).rejects.toMatchObject({ name: 'NotAuthorizedException' });
    status = 'DELETING';
    await expect(s.open(token)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});
