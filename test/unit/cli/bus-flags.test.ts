import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/cli/args.ts';
import { parseServeArgs } from '../../../src/cli/serve.ts';

describe('kestrel serve --bus / --reader-queue-size', () => {
  it('has no bus by default, takes --bus or KESTREL_BUS_URL (flag wins), refuses non-NATS URLs', () => {
    expect(parseServeArgs([], {}).bus).toBeUndefined();
    expect(parseServeArgs(['--bus', 'nats://10.0.0.5:4222'], {}).bus).toEqual({ url: 'nats://10.0.0.5:4222' });
    expect(parseServeArgs([], { KESTREL_BUS_URL: 'nats://a:4222, nats://b:4222' }).bus).toEqual({ url: 'nats://a:4222,nats://b:4222' });
    expect(parseServeArgs(['--bus', 'tls://n:4222'], { KESTREL_BUS_URL: 'nats://a:4222' }).bus).toEqual({ url: 'tls://n:4222' });
    for (const bad of ['http://a:4222', 'localhost:4222', '']) {
      expect(() => parseServeArgs(['--bus', bad], {}), bad).toThrow(UsageError);
    }
  });

  it('bounds each GetMedia reader queue at 32 MiB unless told otherwise', () => {
    expect(parseServeArgs([], {}).readerQueueBytes).toBe(32 * 1024 * 1024);
    expect(parseServeArgs(['--reader-queue-size', '4MiB'], {}).readerQueueBytes).toBe(4 * 1024 * 1024);
    expect(parseServeArgs([], { KESTREL_READER_QUEUE_SIZE: '1000000' }).readerQueueBytes).toBe(1_000_000);
    expect(() => parseServeArgs(['--reader-queue-size', 'lots'], {})).toThrow(UsageError);
  });
});
