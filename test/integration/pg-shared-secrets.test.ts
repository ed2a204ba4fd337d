/**
 * Secrets shared through the PostgreSQL index: nodes starting together agree on one playback key and
 * one webhook key, so a session URL minted on one node verifies on every other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateWebhookSecret } from '../../src/app-detection.ts';
import { createWorkStores } from '../../src/app-work-stores.ts';
import { decodeSessionToken, encodeSessionToken } from '../../src/hls/session-token.ts';
import type { SessionClaims } from '../../src/hls/types.ts';
import { openPgPool } from '../../src/store/pg/pg-pool.ts';
import { loadOrCreateSessionSecret } from '../../src/store/session-secret.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe('secrets shared through the PostgreSQL index', () => {
  it('three nodes starting at once share one session key and one webhook key', async () => {
    const pools = [openPgPool(db.url, { max: 2 }), openPgPool(db.url, { max: 2 }), openPgPool(db.url, { max: 2 })];
    try {
      const nodes = pools.map((pool) => createWorkStores({ kind: 'postgres', pool }));
      const keys = await Promise.all(nodes.map((n) => loadOrCreateSessionSecret(n.secrets)));
      expect(keys[0]).toHaveLength(32);
      for (const k of keys) expect(k.equals(keys[0]!)).toBe(true);
      const hooks = await Promise.all(nodes.map((n) => loadOrCreateWebhookSecret(n.secrets)));
      expect(new Set(hooks.map((h) => h.secret)).size).toBe(1);
      expect(hooks[0]!.secret).toMatch(/^[0-9a-f]{64}$/);
      expect(hooks[0]!.secret).not.toBe(keys[0]!.toString('hex'));
      expect(hooks[0]!.where).toContain('kestrel_secrets');

      const claims: SessionClaims = {
        protocol: 'HLS', streamId: 7, streamName: 'cam', mode: 'LIVE', container: 'FRAGMENTED_MP4', selector: { kind: 'SERVER_TIMESTAMP' },
        discontinuity: 'ALWAYS', displayTimestamp: 'NEVER', displayFragmentNumber: 'NEVER', maxResults: 5, anchor: '0', lowLatency: false,
        issuedAtMs: 1_000, expiresAtMs: 10_000,
      } as SessionClaims;
      const token = encodeSessionToken(claims, keys[0]!);
      // Node C restarts later and reads the same key back.
      const later = await loadOrCreateSessionSecret(createWorkStores({ kind: 'postgres', pool: pools[2]! }).secrets);
      expect(decodeSessionToken(token, later, { nowMs: 2_000, streamId: 7 })).toMatchObject({ streamName: 'cam', expiresAtMs: 10_000 });
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });
});
