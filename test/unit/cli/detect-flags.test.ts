import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/cli/args.ts';
import { DESTINATION_OPTIONS, destinationsFrom } from '../../../src/cli/destinations.ts';
import { resolveOptions } from '../../../src/cli/options.ts';
import { SERVE_OPTIONS } from '../../../src/cli/serve-options.ts';
import { parseServeArgs } from '../../../src/cli/serve.ts';
import { parseWorkerArgs } from '../../../src/cli/worker.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-cli-flags-'));
const goodFile = path.join(dir, 'detect.json');
fs.writeFileSync(goodFile, JSON.stringify({ defaults: { sampling: 1 }, streams: { 'cam*': { scoreThreshold: 0.6 } } }));
const badFile = path.join(dir, 'bad.json');
fs.writeFileSync(badFile, JSON.stringify({ defaults: { scoreThreshold: 3 } }));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const usage = (fn: () => unknown, message: RegExp) => {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UsageError);
  expect((err as Error).message).toMatch(message);
};

describe('kestrel serve --detect flags', () => {
  it('is off without --detect or KESTREL_DETECT', () => {
    expect(parseServeArgs([], {}).detection).toBeUndefined();
    expect(parseServeArgs([], { KESTREL_DETECT: '0' }).detection).toBeUndefined();
    expect(parseServeArgs([], { KESTREL_DETECT: 'false' }).detection).toBeUndefined();
    expect(parseServeArgs(['--detect=false'], { KESTREL_DETECT: '1' }).detection).toBeUndefined();
  });

  it('--detect or KESTREL_DETECT=1 turns it on with the env destinations', () => {
    expect(parseServeArgs(['--detect'], {}).detection).toEqual({ enabled: true });
    const env = {
      KESTREL_DETECT: '1', KESTREL_WEBHOOK_URL: 'http://hook.example/in', KESTREL_MQTT_URL: 'mqtt://broker:1883',
      KESTREL_SNAPSHOTS: 's3://snaps/cam', KESTREL_S3_ENDPOINT: 'http://minio:9000', AWS_REGION: 'eu-west-1', KESTREL_DETECT_CONFIG: goodFile,
    };
    expect(parseServeArgs([], env).detection).toEqual({
      enabled: true, webhookUrl: 'http://hook.example/in', mqttUrl: 'mqtt://broker:1883', snapshots: 's3://snaps/cam',
      s3Endpoint: 'http://minio:9000', s3Region: 'eu-west-1', configFile: goodFile,
    });
  });

  it('flags override env', () => {
    const env = { KESTREL_WEBHOOK_URL: 'http://env/', KESTREL_MQTT_URL: 'mqtt://env', KESTREL_SNAPSHOTS: '/tmp/env', KESTREL_PORT: '9000' };
    const c = parseServeArgs(['--detect', '--webhook-url', 'http://flag/', '--mqtt-url=mqtts://flag:8883', '--snapshots', 's3://bucket/prefix',
      '--s3-endpoint', 'http://127.0.0.1:4569', '--port', '0'], env);
    expect(c.port).toBe(0);
    expect(c.detection).toMatchObject({ webhookUrl: 'http://flag/', mqttUrl: 'mqtts://flag:8883', snapshots: 's3://bucket/prefix', s3Endpoint: 'http://127.0.0.1:4569' });
    // A region in the s3:// URL wins over AWS_REGION.
    expect(parseServeArgs(['--detect', '--snapshots', 's3://bucket/p?region=us-west-2'], { AWS_REGION: 'eu-west-1' }).detection?.s3Region).toBeUndefined();
    expect(parseServeArgs(['--detect', '--snapshots', 's3://bucket/p'], { AWS_DEFAULT_REGION: 'ap-south-1' }).detection?.s3Region).toBe('ap-south-1');
  });

  it('bad values are usage errors with a message', () => {
    usage(() => parseServeArgs(['--detect', '--webhook-url', 'not a url'], {}), /--webhook-url must be a URL/);
    usage(() => parseServeArgs(['--detect', '--webhook-url', 'ftp://x/'], {}), /http/);
    usage(() => parseServeArgs(['--detect', '--mqtt-url', 'http://broker'], {}), /--mqtt-url must be mqtt/);
    usage(() => parseServeArgs(['--detect', '--snapshots', 'gs://bucket/x'], {}), /--snapshots: unsupported/);
    usage(() => parseServeArgs(['--detect', '--snapshots', 's3://B_ad/x'], {}), /--snapshots: invalid S3 bucket/);
    // --s3-endpoint alone is fine: it is also the endpoint of KVS image generation.
    expect(parseServeArgs(['--detect', '--s3-endpoint', 'http://minio:9000'], {}).kvsDelivery).toEqual({ s3Endpoint: 'http://minio:9000' });
    usage(() => parseServeArgs(['--detect', '--detect-config', path.join(dir, 'missing.json')], {}), /--detect-config: .*ENOENT/);
    usage(() => parseServeArgs(['--detect', '--detect-config', badFile], {}), /--detect-config: .*scoreThreshold/);
    usage(() => parseServeArgs([], { KESTREL_DETECT: 'maybe' }), /KESTREL_DETECT must be/);
    usage(() => parseServeArgs(['--detect', '--webhook-url'], {}), /--webhook-url needs a value/);
    usage(() => parseServeArgs(['--port', '70000'], {}), /--port/);
  });

  it('the switch and destination rows parse on their own', () => {
    expect(resolveOptions(SERVE_OPTIONS, ['--detect'], {}).flag('detect')).toBe(true);
    expect(resolveOptions([{ name: 'detect', env: 'X', kind: 'switch', help: '' }], [], { X: 'on' }).flag('detect')).toBe(true);
    expect(destinationsFrom(resolveOptions(DESTINATION_OPTIONS, [], { KESTREL_WEBHOOK_SECRET: 's3cret' }), {})).toEqual({ webhookSecret: 's3cret' });
  });
});

describe('kestrel worker flags', () => {
  it('needs --endpoint (or KESTREL_ENDPOINT); flags override env', () => {
    usage(() => parseWorkerArgs([], {}), /--endpoint URL is required/);
    usage(() => parseWorkerArgs(['--endpoint', 'nope'], {}), /--endpoint/);
    const w = parseWorkerArgs(['--state-dir', dir, '--discovery-interval-ms', '500', '--config-refresh-ms', '2000', '--detect-config', goodFile, '--mqtt-url', 'mqtt://flag'], {
      KESTREL_ENDPOINT: 'http://kestrel:8080', KESTREL_MQTT_URL: 'mqtt://env', AWS_REGION: 'eu-central-1',
      KESTREL_ACCESS_KEY_ID: 'kid', KESTREL_SECRET_ACCESS_KEY: 'ksecret', AWS_ACCESS_KEY_ID: 'aid', AWS_SECRET_ACCESS_KEY: 'asecret',
    });
    expect(w).toMatchObject({
      endpoint: 'http://kestrel:8080', stateDir: dir, discoveryIntervalMs: 500, configRefreshMs: 2000, configFile: goodFile,
      destinations: { mqttUrl: 'mqtt://flag' },
      clientConfig: { endpoint: 'http://kestrel:8080', region: 'eu-central-1', credentials: { accessKeyId: 'kid', secretAccessKey: 'ksecret' } },
    });
    // Credentials: flags, else KESTREL_*, else AWS_*; none is a usage error.
    const aws = { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' };
    expect(parseWorkerArgs(['--endpoint', 'http://k:1'], aws).clientConfig.credentials).toEqual({ accessKeyId: 'a', secretAccessKey: 'b' });
    expect(parseWorkerArgs(['--endpoint', 'http://k:1', '--access-key-id', 'f', '--secret-access-key', 'g'], aws).clientConfig.credentials).toEqual({ accessKeyId: 'f', secretAccessKey: 'g' });
    expect(parseWorkerArgs(['--endpoint', 'http://k:1'], aws).clientConfig.region).toBe('us-east-1');
    usage(() => parseWorkerArgs(['--endpoint', 'http://k:1'], {}), /no credentials: pass --access-key-id/);
  });

  it('bad values are usage errors', () => {
    usage(() => parseWorkerArgs(['--endpoint', 'http://k:1', '--discovery-interval-ms', '10'], {}), /--discovery-interval-ms must be an integer >= 100/);
    usage(() => parseWorkerArgs(['--endpoint', 'http://k:1', '--config-refresh-ms', 'soon'], {}), /--config-refresh-ms/);
    usage(() => parseWorkerArgs(['--endpoint', 'http://k:1', '--detect-config', badFile], {}), /--detect-config/);
    usage(() => parseWorkerArgs(['--endpoint', 'http://k:1', '--webhook-url', '::'], {}), /--webhook-url must be a URL/);
  });
});
