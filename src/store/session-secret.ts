/**
 * The HMAC key for playback session tokens, created once and kept in the SecretStore (embedded:
 * `<dataDir>/session-secret`; cluster: the shared index), so HLS/DASH session URLs stay valid across
 * restarts and on every node.
 */
import { randomBytes } from 'node:crypto';
import type { SecretStore } from './secret-store.ts';

const SECRET_BYTES = 32;
export const SESSION_SECRET_NAME = 'session-secret';

export async function loadOrCreateSessionSecret(secrets: SecretStore): Promise<Buffer> {
  const hex = await secrets.getOrCreate(SESSION_SECRET_NAME, () => randomBytes(SECRET_BYTES).toString('hex'), (v) => /^[0-9a-f]{64}$/.test(v));
  return Buffer.from(hex, 'hex');
}
