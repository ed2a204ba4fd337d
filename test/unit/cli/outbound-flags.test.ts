import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/cli/args.ts';
import { parseServeArgs, SERVE_USAGE } from '../../../src/cli/serve.ts';

describe('kestrel serve outbound flags', () => {
  it('--allow-destination is repeatable and replaces KESTREL_ALLOW_DESTINATIONS (comma-separated)', () => {
    expect(parseServeArgs([], {}).outbound).toBeUndefined();
    const env = { KESTREL_ALLOW_DESTINATIONS: 'https://a.example.com/*, http://10.0.0.5:8080/*' };
    expect(parseServeArgs([], env).outbound).toEqual({ allowDestinations: ['https://a.example.com/*', 'http://10.0.0.5:8080/*'] });
    const c = parseServeArgs(['--allow-destination', 'https://b.example.com/*', '--port', '0', '--allow-destination=s3://kvs-images/*'], env);
    expect(c.outbound).toEqual({ allowDestinations: ['https://b.example.com/*', 's3://kvs-images/*'] });
    expect(c.port).toBe(0);
  });

  it('a bad pattern is a usage error naming the flag', () => {
    expect(() => parseServeArgs(['--allow-destination', 'hooks.example.com'], {})).toThrow(UsageError);
    expect(() => parseServeArgs([], { KESTREL_ALLOW_DESTINATIONS: 'ftp://x/*' })).toThrow(/KESTREL_ALLOW_DESTINATIONS.*scheme/);
    expect(() => parseServeArgs(['--allow-destination'], {})).toThrow(UsageError);
  });

  it('--sns-endpoint / KESTREL_SNS_ENDPOINT, --s3-endpoint and --mqtt-url configure KVS delivery (operator-trusted)', () => {
    expect(parseServeArgs([], {}).kvsDelivery).toBeUndefined();
    expect(parseServeArgs([], { KESTREL_SNS_ENDPOINT: 'http://127.0.0.1:4575' }).kvsDelivery).toEqual({ snsEndpoint: 'http://127.0.0.1:4575' });
    expect(parseServeArgs(['--sns-endpoint', 'http://sns.local:4575', '--s3-endpoint', 'http://minio:9000', '--mqtt-url', 'mqtt://broker:1883'], { KESTREL_SNS_ENDPOINT: 'http://env' }).kvsDelivery).toEqual({
      snsEndpoint: 'http://sns.local:4575', s3Endpoint: 'http://minio:9000', mqttUrl: 'mqtt://broker:1883',
    });
    expect(() => parseServeArgs(['--sns-endpoint', 'sns.local'], {})).toThrow(/--sns-endpoint must be/);
    expect(SERVE_USAGE).toMatch(/--allow-destination PATTERN/);
    expect(SERVE_USAGE).toMatch(/KESTREL_SNS_ENDPOINT/);
  });
});
