/**
 * The server key encrypts access-key secrets at rest (secrets.ts). From env `KESTREL_SERVER_KEY`
 * (64 hex characters or base64 of 32 bytes) when set, else `<data>/server.key` (mode 0600, made at
 * first start). Losing it makes stored key secrets unreadable: keys must then be re-issued.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const SERVER_KEY_FILE = 'server.key';

export function parseServerKey(text: string): Buffer {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  const b = Buffer.from(t, 'base64');
  if (b.length === 32 && /^[A-Za-z0-9+/_-]+=*$/.test(t)) return b;
  throw new Error('the server key must be 32 bytes: 64 hex characters or base64');
}

export function loadOrCreateServerKey(dataDir: string, fromEnv: string | undefined): Buffer {
  if (fromEnv) return parseServerKey(fromEnv);
  const file = path.join(dataDir, SERVER_KEY_FILE);
  try {
    return parseServerKey(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file}: ${(err as Error).message}`);
  }
  const key = randomBytes(32);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${key.toString('hex')}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return key;
}
