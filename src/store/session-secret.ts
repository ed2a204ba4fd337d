/**
 * The HMAC key for playback session tokens, generated once per data directory and kept in
 * `<dataDir>/session-secret`, so HLS/DASH session URLs stay valid across restarts.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const SECRET_BYTES = 32;

export function loadOrCreateSessionSecret(dataDir: string): Buffer {
  const file = path.join(dataDir, 'session-secret');
  try {
    const hex = fs.readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f]{64}$/.test(hex)) return Buffer.from(hex, 'hex');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = randomBytes(SECRET_BYTES);
  // Write-then-rename: a crash never leaves a truncated secret behind.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${secret.toString('hex')}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return secret;
}
