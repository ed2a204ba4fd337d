import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Kestrel-Signature';
export const TIMESTAMP_HEADER = 'X-Kestrel-Timestamp';
export const DELIVERY_HEADER = 'X-Kestrel-Delivery';
export const EVENT_ID_HEADER = 'X-Kestrel-Event-Id';

/** `sha256=<hex HMAC-SHA256 of body>` (the GitHub webhook convention). */
export function signBody(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Constant-time check of an `X-Kestrel-Signature` value against the body. */
export function verifySignature(body: string | Buffer, secret: string, header: string | undefined | null): boolean {
  if (!header) return false;
  const want = Buffer.from(signBody(body, secret));
  const got = Buffer.from(header);
  return want.length === got.length && timingSafeEqual(want, got);
}
