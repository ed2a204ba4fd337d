import { describe, expect, it } from 'vitest';
import { parseServeArgs } from '../../../src/cli/serve.ts';

describe('kestrel serve media flags', () => {
  it('keeps the embedded single-node media when --media is absent', () => {
    expect(parseServeArgs([], {}).media).toBeUndefined();
    expect(parseServeArgs(['--durability', 'local'], {}).media).toBeUndefined();
  });

  it('reads --media, --s3-endpoint, --durability, --seal-interval and --media-read-cache from flags or env', () => {
    expect(parseServeArgs(['--media', 's3://media/site-a', '--s3-endpoint', 'http://127.0.0.1:7480'], {}).media).toEqual({
      url: 's3://media/site-a', s3Endpoint: 'http://127.0.0.1:7480', durability: 'local', sealIntervalMs: 5000, readCacheBytes: 64 * 1024 * 1024,
    });
    expect(parseServeArgs([], { KESTREL_MEDIA_URL: 's3://media', KESTREL_DURABILITY: 'replicated', KESTREL_SEAL_INTERVAL: '500ms', KESTREL_MEDIA_READ_CACHE: '1GiB' }).media).toEqual({
      url: 's3://media', durability: 'replicated', sealIntervalMs: 500, readCacheBytes: 1024 ** 3,
    });
    expect(parseServeArgs(['--media', 's3://media', '--seal-interval', '2'], {}).media?.sealIntervalMs).toBe(2000);
    expect(parseServeArgs(['--media', 's3://media', '--seal-interval', '1m'], {}).media?.sealIntervalMs).toBe(60_000);
  });

  it('refuses bad values with the flag or variable named', () => {
    expect(() => parseServeArgs(['--media', 'http://bucket/x'], {})).toThrow(/--media media URL must look like s3:\/\/bucket\/prefix/);
    expect(() => parseServeArgs([], { KESTREL_MEDIA_URL: 's3://b/../x' })).toThrow(/KESTREL_MEDIA_URL/);
    expect(() => parseServeArgs(['--media', 's3://media', '--durability', 'sometimes'], {})).toThrow(/--durability must be one of local, replicated/);
    expect(() => parseServeArgs(['--media', 's3://media', '--seal-interval', '10ms'], {})).toThrow(/--seal-interval must be a duration from 100ms to 1h/);
    expect(() => parseServeArgs(['--durability', 'replicated'], {})).toThrow(/--durability replicated needs --media/);
  });
});
