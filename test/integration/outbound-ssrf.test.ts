/**
 * SSRF: a client that can set a notification destination must not make the server call its own
 * networks. An "internal admin" server on 127.0.0.1 stands for what must stay unreachable; each
 * test lets through exactly what its rule allows (loopback stands in for "public" only where a
 * pattern names it explicitly) and checks that the admin server got no connection at all.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateStreamCommand,
  DescribeNotificationConfigurationCommand,
  KinesisVideoClient,
  UpdateImageGenerationConfigurationCommand,
  UpdateNotificationConfigurationCommand,
} from '@aws-sdk/client-kinesis-video';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KestrelConfig } from '../../src/config.ts';
import { KVS_TAG, tagsElement } from '../../src/mkv/index.ts';
import { remuxToMkvArgs, spawnFfmpeg } from '../../src/media-tools/ffmpeg.ts';
import { makeH264Mkv } from '../support/media.ts';
import { readForPacing } from '../support/paced-mkv.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';
import { TrapServer } from '../support/trap-server.ts';
import { FakeDetector, squareVideo } from '../unit/detect/fixtures.ts';
import { until } from '../support/wait.ts';

let tmp: string;
/** MKV header + one 1 s cluster tagged AWS_KINESISVIDEO_NOTIFICATION. */
let body: Buffer[];
let admin: TrapServer;
const servers: TestServer[] = [];
const traps: TrapServer[] = [];
let seq = 0;

async function notifyBody(): Promise<Buffer[]> {
  const source = await makeH264Mkv({ seconds: 1, fps: 25, gop: 25, bframes: 0 });
  const proc = spawnFfmpeg(remuxToMkvArgs(source), { stdout: 'pipe' });
  const chunks: Buffer[] = [];
  for await (const c of proc.stdout! as AsyncIterable<Buffer>) chunks.push(c);
  expect(await proc.exited).toEqual({ code: 0, signal: null });
  const file = path.join(tmp, 'one.mkv');
  fs.writeFileSync(file, Buffer.concat(chunks));
  const { header, clusters } = readForPacing(file);
  return [header, ...clusters.map((c) => Buffer.concat([...c.start, ...c.blocks.map((b) => b.raw), tagsElement([{ name: KVS_TAG.NOTIFICATION, value: '' }])]))];
}

async function server(overrides: Partial<KestrelConfig>): Promise<{ srv: TestServer; kv: KinesisVideoClient }> {
  const srv = await startTestServer(overrides);
  servers.push(srv);
  return { srv, kv: new KinesisVideoClient(sdkConfig(srv.url)) };
}

async function trap(mode?: ConstructorParameters<typeof TrapServer>[0]): Promise<TrapServer> {
  const t = await new TrapServer(mode).start();
  traps.push(t);
  return t;
}

async function createStream(kv: KinesisVideoClient): Promise<string> {
  const name = `ssrf-${process.pid}-${++seq}`;
  await kv.send(new CreateStreamCommand({ StreamName: name, DataRetentionInHours: 1 }));
  return name;
}

const setNotification = (kv: KinesisVideoClient, name: string, uri: string) =>
  kv.send(new UpdateNotificationConfigurationCommand({ StreamName: name, NotificationConfiguration: { Status: 'ENABLED', DestinationConfig: { Uri: uri } } }));

/** Pushes the tagged fragment and waits until every delivery (and its retries) has finished. */
async function pushAndSettle(srv: TestServer, name: string): Promise<void> {
  const res = await rawPutMedia(srv.url, name, body, { 'x-amzn-fragment-timecode-type': 'RELATIVE', 'x-amzn-producer-start-timestamp': '1700000000.000' });
  expect(res.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(1);
  await srv.server.kvsDelivery!.idle();
}

async function deadLetters(srv: TestServer, url: string) {
  return (await srv.server.kvsDelivery!.notifications.httpDeadLetters()).get(url) ?? [];
}

async function expectInvalidArgument(p: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } });
  expect(err?.name).toBe('InvalidArgumentException');
  expect(err?.$metadata?.httpStatusCode).toBe(400);
  expect(err?.message).toMatch(message);
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-ssrf-'));
  body = await notifyBody();
  admin = await trap();
}, 60_000);

afterAll(async () => {
  for (const s of servers) await s.close();
  for (const t of traps) await t.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('UpdateNotificationConfiguration / UpdateImageGenerationConfiguration refuse unlisted destinations', () => {
  it('no pattern: loopback, metadata and private URLs are refused at Update with the flag to use; nothing is stored or sent', async () => {
    const { srv, kv } = await server({});
    const name = await createStream(kv);
    for (const uri of [
      admin.url('/internal-admin'),
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      `http://[::ffff:127.0.0.1]:${admin.port}/internal-admin`,
      `http://2130706433:${admin.port}/internal-admin`,
      'https://hooks.example.com/in',
    ]) {
      await expectInvalidArgument(setNotification(kv, name, uri), /--allow-destination/);
    }
    expect((await kv.send(new DescribeNotificationConfigurationCommand({ StreamName: name }))).NotificationConfiguration).toBeUndefined();
    await pushAndSettle(srv, name);
    expect(admin.connections).toBe(0);
    // SNS topic ARNs name a topic on the operator's (or AWS's) endpoint, not an address: accepted.
    await setNotification(kv, name, 'arn:aws:sns:us-east-1:123456789012:topic');
  });

  it('s3:// image destinations are refused once the operator lists s3 patterns and none matches', async () => {
    const { kv } = await server({ outbound: { allowDestinations: ['s3://kvs-images/*'] } });
    const name = await createStream(kv);
    const image = (uri: string) =>
      kv.send(new UpdateImageGenerationConfigurationCommand({
        StreamName: name,
        ImageGenerationConfiguration: { Status: 'ENABLED', ImageSelectorType: 'SERVER_TIMESTAMP', DestinationConfig: { Uri: uri, DestinationRegion: 'us-east-1' }, SamplingInterval: 1000, Format: 'JPEG' },
      }));
    await expectInvalidArgument(image('s3://someone-elses-bucket/x'), /ImageGenerationConfiguration\.DestinationConfig\.Uri.*--allow-destination/);
    await image('s3://kvs-images/cam');
  });
});

describe('delivery checks the address actually connected to', () => {
  it('a pattern admitting a host name that resolves to loopback does not reach it; a pattern naming the address does', async () => {
    const receiver = await trap();
    const { srv, kv } = await server({
      outbound: { allowDestinations: [`http://localhost:${admin.port}/*`, `http://127.0.0.1:${receiver.port}/hook`] },
      kvsDelivery: { httpRetry: { baseMs: 20, maxMs: 20 } },
    });
    const viaName = await createStream(kv);
    const uri = `http://localhost:${admin.port}/internal-admin`;
    await setNotification(kv, viaName, uri); // the URL matches the pattern: accepted at Update
    await pushAndSettle(srv, viaName);
    expect(admin.connections).toBe(0);
    // Refused once, not retried: straight to the dead letters, counted.
    expect(await deadLetters(srv, uri)).toMatchObject([{ attempts: 1, lastError: expect.stringMatching(/not a public address/) }]);
    expect(srv.server.outbound!.stats()).toMatchObject({ refused_address: 1, ok: 0 });

    const named = await createStream(kv);
    await setNotification(kv, named, receiver.url('/hook'));
    await pushAndSettle(srv, named);
    expect(receiver.requests).toHaveLength(1);
    expect(JSON.parse(receiver.requests[0]!.body)).toMatchObject({ Type: 'Notification' });
    expect(srv.server.outbound!.stats()).toMatchObject({ refused_address: 1, ok: 1 });
    expect(admin.connections).toBe(0);
  });

  it('the allow-list is checked again at delivery: a destination no longer listed after a restart is skipped', async () => {
    const receiver = await trap();
    const dataDir = fs.mkdtempSync(path.join(tmp, 'restart-'));
    const first = await server({ dataDir, outbound: { allowDestinations: [`http://127.0.0.1:${receiver.port}/*`] } });
    const name = await createStream(first.kv);
    await setNotification(first.kv, name, receiver.url('/in'));
    await first.srv.close();
    servers.splice(servers.indexOf(first.srv), 1);
    const second = await server({ dataDir });
    await pushAndSettle(second.srv, name);
    expect(receiver.connections).toBe(0);
    expect(second.srv.server.outbound!.stats().refused_pattern).toBe(1);
  });
});

describe('redirects, timeouts and retries', () => {
  it('a 302 to the internal address is not followed, even when every loopback destination is allowed', async () => {
    const redirector = await trap({ kind: 'redirect', location: admin.url('/internal-admin') });
    const { srv, kv } = await server({
      outbound: { allowDestinations: ['http://127.0.0.1:*/*'] },
      kvsDelivery: { httpRetry: { maxAttempts: 2, baseMs: 20, maxMs: 20 } },
    });
    const name = await createStream(kv);
    await setNotification(kv, name, redirector.url('/moved'));
    await pushAndSettle(srv, name);
    expect(redirector.requests).toHaveLength(2);
    expect(admin.connections).toBe(0);
    expect(await deadLetters(srv, redirector.url('/moved'))).toMatchObject([{ attempts: 2, lastError: expect.stringMatching(/HTTP 302.*not followed/) }]);
    expect(srv.server.outbound!.stats()).toMatchObject({ redirect: 2, ok: 0 });
  });

  it('a destination that never answers is abandoned after timeout × bounded attempts', async () => {
    const hole = await trap({ kind: 'hang' });
    const { srv, kv } = await server({
      outbound: { allowDestinations: [`http://127.0.0.1:${hole.port}/*`] },
      kvsDelivery: { httpRetry: { maxAttempts: 3, baseMs: 20, maxMs: 20, timeoutMs: 300 } },
    });
    const name = await createStream(kv);
    await setNotification(kv, name, hole.url('/slow'));
    const started = Date.now();
    await pushAndSettle(srv, name);
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 300);
    expect(hole.requests).toHaveLength(3);
    expect(await deadLetters(srv, hole.url('/slow'))).toMatchObject([{ attempts: 3, lastError: 'no response within 300 ms' }]);
    expect(srv.server.outbound!.stats()).toMatchObject({ timeout: 3, ok: 0 });
  });
});

describe('operator-configured destinations are trusted', () => {
  it('--webhook-url on loopback with no allow-list still receives detection events', async () => {
    const hook = await trap();
    const { srv, kv } = await server({
      detection: {
        enabled: true,
        detector: new FakeDetector(),
        webhookUrl: hook.url('/events'),
        webhookSecret: 'ssrf-test',
        detect: { endAfterMs: 500, sampling: 4 },
        discoveryIntervalMs: 200,
      },
    });
    const name = await createStream(kv);
    const video = await squareVideo(3, 0, 3);
    const res = await rawPutMedia(srv.url, name, [video.header, ...video.clusters], { 'x-amzn-fragment-timecode-type': 'RELATIVE', 'x-amzn-producer-start-timestamp': '1700000000.000' });
    expect(res.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(3);
    await until(() => hook.requests.some((r) => (JSON.parse(r.body) as { type?: string }).type === 'start'), 'a start event at the webhook', 30_000);
    expect(hook.requests.map((r) => (JSON.parse(r.body) as { stream: { name: string }; type: string }))).toContainEqual(expect.objectContaining({ type: 'start', stream: expect.objectContaining({ name }) }));
    expect(srv.server.outbound!.stats()).toMatchObject({ refused_address: 0, refused_pattern: 0 });
    expect(srv.server.outbound!.stats().ok).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
