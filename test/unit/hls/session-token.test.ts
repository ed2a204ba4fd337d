import { describe, expect, it } from 'vitest';
import { decodeSessionToken, encodeSessionToken, SessionTokenError } from '../../../src/hls/session-token.ts';
import type { SessionClaims } from '../../../src/hls/types.ts';

const secret = Buffer.alloc(32, 7);
const claims: SessionClaims = {
  protocol: 'HLS',
  streamId: 12,
  streamName: 'cam-1',
  mode: 'ON_DEMAND',
  container: 'MPEG_TS',
  selector: { kind: 'PRODUCER_TIMESTAMP', startMs: 1_700_000_000_000, endMs: 1_700_000_060_000 },
  discontinuity: 'ON_DISCONTINUITY',
  displayTimestamp: 'ALWAYS',
  displayFragmentNumber: 'NEVER',
  maxResults: 1000,
  anchor: '91343852333181432392682062607743920146264330522',
  lowLatency: false,
  issuedAtMs: 1_700_000_100_000,
  expiresAtMs: 1_700_000_400_000,
};

function problemOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof SessionTokenError) return err.problem;
    throw err;
  }
  return 'none';
}

describe('session tokens', () => {
  it('round-trips every claim and is URL-safe', () => {
    const token = encodeSessionToken(claims, secret);
    expect(token).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect(encodeURIComponent(token)).toBe(token);
    expect(decodeSessionToken(token, secret, { nowMs: claims.issuedAtMs })).toEqual(claims);
    const live = { ...claims, mode: 'LIVE' as const, selector: { kind: 'SERVER_TIMESTAMP' as const }, lowLatency: true };
    expect(decodeSessionToken(encodeSessionToken(live, secret), secret, { nowMs: claims.issuedAtMs })).toEqual(live);
  });

  it('refuses expired tokens', () => {
    const token = encodeSessionToken(claims, secret);
    expect(problemOf(() => decodeSessionToken(token, secret, { nowMs: claims.expiresAtMs - 1 }))).toBe('none');
    expect(problemOf(() => decodeSessionToken(token, secret, { nowMs: claims.expiresAtMs }))).toBe('expired');
  });

  it('refuses a token for another stream, and any edit of the claims', () => {
    const token = encodeSessionToken(claims, secret);
    expect(problemOf(() => decodeSessionToken(token, secret, { nowMs: claims.issuedAtMs, streamId: 13 }))).toBe('wrong-stream');
    const [v, payload, mac] = token.split('.');
    const edited = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    edited.i = 13;
    const forged = `${v}.${Buffer.from(JSON.stringify(edited)).toString('base64url')}.${mac}`;
    expect(problemOf(() => decodeSessionToken(forged, secret, { nowMs: claims.issuedAtMs }))).toBe('signature');
  });

  it('refuses tokens signed with another secret, and garbage', () => {
    const token = encodeSessionToken(claims, Buffer.alloc(32, 8));
    expect(problemOf(() => decodeSessionToken(token, secret, { nowMs: claims.issuedAtMs }))).toBe('signature');
    for (const bad of [undefined, '', 'abc', '1.a.b.c', '2.abc.def', '1.ab$.cd']) {
      expect(problemOf(() => decodeSessionToken(bad, secret, { nowMs: 0 }))).toBe('malformed');
    }
  });
});
