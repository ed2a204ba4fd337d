import { invalidArgument } from '../shared/errors.ts';
import type { FragmentSelector } from './selectors.ts';

/** ListFragments NextToken: base64 of the selector and cursor (matches KVS's token pattern). */
export function encodeListToken(streamId: number, selector: FragmentSelector, after: string): string {
  return Buffer.from(JSON.stringify({ v: 1, s: streamId, k: selector.kind, a: selector.startMs, b: selector.endMs, f: after })).toString('base64');
}

export function decodeListToken(token: unknown, streamId: number): { selector: FragmentSelector; after: string } {
  if (typeof token !== 'string' || token.length > 4096 || !/^[a-zA-Z0-9+/]+={0,2}$/.test(token)) {
    throw invalidArgument('NextToken is not valid.');
  }
  try {
    const t = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as Record<string, unknown>;
    if (t.v !== 1 || t.s !== streamId || (t.k !== 'SERVER_TIMESTAMP' && t.k !== 'PRODUCER_TIMESTAMP')) throw new Error();
    if (typeof t.a !== 'number' || typeof t.b !== 'number' || typeof t.f !== 'string' || !/^\d+$/.test(t.f)) throw new Error();
    return { selector: { kind: t.k, startMs: t.a, endMs: t.b }, after: t.f };
  } catch {
    throw invalidArgument('NextToken is not valid for this stream.');
  }
}
