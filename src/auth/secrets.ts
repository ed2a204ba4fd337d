/**
 * Secrets at rest. Passwords are hashed with scrypt (never recoverable). Access-key secrets must be
 * recoverable (SigV4 verification recomputes the HMAC with them), so they are encrypted with
 * AES-256-GCM under the server key; the access key id is the associated data, so a ciphertext
 * cannot be moved to another key's row.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

const SCRYPT = { N: 16384, r: 8, p: 1, keyLen: 32 } as const;

function scryptAsync(password: string, salt: Buffer, n: number, r: number, p: number, keyLen: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, keyLen, { N: n, r, p, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** `scrypt$N$r$p$salt$hash` (base64): parameters travel with the hash so they can be raised later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keyLen);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function checkPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await scryptAsync(password, Buffer.from(salt, 'base64'), Number(n), Number(r), Number(p), expected.length);
  return timingSafeEqual(key, expected);
}

/** `v1:` + base64(iv ‖ tag ‖ ciphertext). */
export function encryptSecret(serverKey: Buffer, secret: string, associated: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', serverKey, iv);
  cipher.setAAD(Buffer.from(associated, 'utf8'));
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return 'v1:' + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

/** Throws when the server key is not the one the secret was encrypted with (or the row was altered). */
export function decryptSecret(serverKey: Buffer, stored: string, associated: string): string {
  if (!stored.startsWith('v1:')) throw new Error('unknown secret encoding');
  const raw = Buffer.from(stored.slice(3), 'base64');
  const decipher = createDecipheriv('aes-256-gcm', serverKey, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(associated, 'utf8'));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}

const KEY_ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** 20 characters like an AWS key id: `KST` + 17 base32 characters. */
export function newAccessKeyId(): string {
  const bytes = randomBytes(17);
  return 'KST' + Array.from(bytes, (b) => KEY_ID_ALPHABET[b & 31]).join('');
}

/** 40 URL-safe characters (240 bits). */
export function newSecretAccessKey(): string {
  return randomBytes(30).toString('base64url');
}

export function newPassword(): string {
  return randomBytes(18).toString('base64url');
}
