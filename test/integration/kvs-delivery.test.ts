/**
 * KVS image generation and fragment notifications end to end: the real control-plane SDK sets the
 * configurations, a producer pushes H.264 fragments (some carrying the KVS tags), and the images
 * land in s3rver / the notifications reach an http receiver, the real SNS client (local Publish
 * endpoint) and Mosquitto.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  CreateStreamCommand,
  DescribeStreamCommand,
  KinesisVideoClient,
  UpdateImageGenerationConfigurationCommand,
  UpdateNotificationConfigurationCommand,
  type ImageGenerationConfiguration,
} from '@aws-sdk/client-kinesis-video';
import { KinesisVideoArchivedMediaClient, ListFragmentsCommand } from '@aws-sdk/client-kinesis-video-archived-media';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KVS_TAG, tagsElement } from '../../src/mkv/index.ts';
import { probe, remuxToMkvArgs, spawnFfmpeg } from '../../src/media-tools/ffmpeg.ts';
import { makeH264Mkv } from '../support/media.ts';
import { readForPacing } from '../support/paced-mkv.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { startS3Server, type TestS3 } from '../support/s3-server.ts';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';
import { startSnsPublishServer, type TestSns } from '../support/sns-publish-server.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';

const BROKER = process.env.KESTREL_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const BUCKET = 'kvs-images';
const ACCOUNT = '000000000000';
const T0 = 1_700_000_000_000;
const run = randomUUID().slice(0, 8);
/** Per cluster (1 s each): the KVS / custom tags the producer attaches. */
const TAGS: Array<Array<{ name: string; value: string }>> = [
  [{ name: KVS_TAG.IMAGE_GENERATION, value: '' }, { name: KVS_TAG.IMAGE_PREFIX, value: 'porch' }, { name: KVS_TAG.NOTIFICATION, value: '' }, { name: 'camera', value: 'front' }],
  [],
  [{ name: KVS_TAG.IMAGE_GENERATION, value: '' }, { name: 'zone', value: 'door' }],
  [{ name: KVS_TAG.NOTIFICATION, value: '' }],
];

let tmp: string;
let body: Buffer[];
let s3: TestS3;
let sns: TestSns;
let receiver: WebhookReceiver;
let srv: TestServer;
let kv: KinesisVideoClient;
let archive: KinesisVideoArchivedMediaClient;

/** Header, then each cluster (unknown size, as producers send) followed by its Tags. */
async function taggedBody(): Promise<Buffer[]> {
  const source = await makeH264Mkv({ seconds: 4, fps: 25, gop: 25, bframes: 0 });
  const proc = spawnFfmpeg(remuxToMkvArgs(source), { stdout: 'pipe' });
  const chunks: Buffer[] = [];
  for await (const c of proc.stdout! as AsyncIterable<Buffer>) chunks.push(c);
  expect(await proc.exited).toEqual({ code: 0, signal: null });
  const file = path.join(tmp, 'live.mkv');
  fs.writeFileSync(file, Buffer.concat(chunks));
  const { header, clusters } = readForPacing(file);
  expect(clusters).toHaveLength(4);
  return [header, ...clusters.map((c, i) => Buffer.concat([...c.start, ...c.blocks.map((b) => b.raw), ...(TAGS[i]!.length ? [tagsElement(TAGS[i]!)] : [])]))];
}

/** Creates a stream, applies configurations, pushes the tagged body; returns fragment numbers and server times. */
async function pushStream(name: string, o: { image?: ImageGenerationConfiguration; notifyUri?: string; notifyStatus?: 'ENABLED' | 'DISABLED' }) {
  await kv.send(new CreateStreamCommand({ StreamName: name, DataRetentionInHours: 24 }));
  if (o.image) await kv.send(new UpdateImageGenerationConfigurationCommand({ StreamName: name, ImageGenerationConfiguration: o.image }));
  if (o.notifyUri) {
    await kv.send(new UpdateNotificationConfigurationCommand({ StreamName: name, NotificationConfiguration: { Status: o.notifyStatus ?? 'ENABLED', DestinationConfig: { Uri: o.notifyUri } } }));
  }
  const res = await rawPutMedia(srv.url, name, body, { 'x-amzn-fragment-timecode-type': 'RELATIVE', 'x-amzn-producer-start-timestamp': (T0 / 1000).toFixed(3) });
  const numbers = res.acks.filter((a) => a.EventType === 'PERSISTED').map((a) => a.FragmentNumber!);
  expect(numbers).toHaveLength(4);
  const listed = await archive.send(new ListFragmentsCommand({ StreamName: name, MaxResults: 10 }));
  const server = new Map(listed.Fragments!.map((f) => [f.FragmentNumber!, f.ServerTimestamp!.getTime()]));
  return { numbers, serverMs: numbers.map((n) => server.get(n)!) };
}

const imageConfig = (over: Partial<ImageGenerationConfiguration>): ImageGenerationConfiguration => ({
  Status: 'ENABLED',
  ImageSelectorType: 'PRODUCER_TIMESTAMP',
  DestinationConfig: { Uri: `s3://${BUCKET}/x`, DestinationRegion: 'us-east-1' },
  SamplingInterval: 500,
  Format: 'JPEG',
  ...over,
});

async function objects(prefix: string) {
  const out = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  const keys = (out.Contents ?? []).map((c) => c.Key!).sort();
  return Promise.all(
    keys.map(async (key) => {
      const head = await s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      const obj = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      const bytes = Buffer.from(await obj.Body!.transformToByteArray());
      const file = path.join(tmp, key.replaceAll('/', '_'));
      fs.writeFileSync(file, bytes);
      return { key, name: key.slice(prefix.length), contentType: head.ContentType, metadata: head.Metadata ?? {}, info: await probe(file) };
    }),
  );
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-kvs-delivery-'));
  body = await taggedBody();
  s3 = await startS3Server();
  await s3.createBucket(BUCKET);
  sns = await startSnsPublishServer();
  receiver = new WebhookReceiver();
  await receiver.start();
  srv = await startTestServer({
    kvsDelivery: {
      s3Endpoint: s3.endpoint,
      s3Credentials: s3.credentials,
      snsEndpoint: sns.endpoint,
      snsCredentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      mqttUrl: BROKER,
      httpRetry: { baseMs: 50, maxMs: 200 },
    },
    // The receiver runs on loopback: an API-set destination reaches it only when a pattern names the address.
    outbound: { allowDestinations: ['http://127.0.0.1:*/hook'] },
  });
  kv = new KinesisVideoClient(sdkConfig(srv.url));
  archive = new KinesisVideoArchivedMediaClient(sdkConfig(srv.url));
}, 60_000);
afterAll(async () => {
  await srv?.close();
  await receiver?.stop();
  await sns?.close();
  await s3?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('image generation (UpdateImageGenerationConfiguration)', () => {
  it('JPEG: images only for tagged fragments, one per SamplingInterval, KVS keys and metadata, requested size', async () => {
    const name = `img-${run}`;
    const { numbers, serverMs } = await pushStream(name, {
      image: imageConfig({ DestinationConfig: { Uri: `s3://${BUCKET}/gen/jpeg`, DestinationRegion: 'us-east-1' }, FormatConfig: { JPEGQuality: '60' }, WidthPixels: 160 }),
    });
    await srv.server.kvsDelivery!.idle();
    const got = await objects('gen/jpeg/');
    // Fragments 0 and 2 are tagged (1 s each, 500 ms sampling): two images each; 1 and 3 are not.
    const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
    const expected = [
      { prefix: 'porch_', at: T0, fragment: 0, offset: 0, tags: { camera: 'front' } },
      // 25 fps: no frame at +500 ms; the frame shown then (+480 ms) is taken.
      { prefix: 'porch_', at: T0 + 480, fragment: 0, offset: 480, tags: { camera: 'front' } },
      { prefix: '', at: T0 + 2000, fragment: 2, offset: 0, tags: { zone: 'door' } },
      { prefix: '', at: T0 + 2480, fragment: 2, offset: 480, tags: { zone: 'door' } },
    ];
    expect(got).toHaveLength(expected.length);
    const byTime = [...got].sort((a, b) => Number(a.name.split('_').at(-2)) - Number(b.name.split('_').at(-2)));
    for (const [i, e] of expected.entries()) {
      const o = byTime[i]!;
      expect(o.name).toMatch(new RegExp(`^${e.prefix}${ACCOUNT}_${name}_${e.at}_${uuid}\\.jpg$`));
      expect(o.contentType).toBe('image/jpeg');
      expect(o.metadata).toEqual({
        ...e.tags,
        aws_kinesisvideo_producer_timestamp: String(e.at),
        aws_kinesisvideo_server_timestamp: String(serverMs[e.fragment]! + e.offset),
        aws_kinesisvideo_fragment_number: numbers[e.fragment],
      });
      expect(o.info.streams[0]).toMatchObject({ codec: 'mjpeg', width: 160, height: 120 });
    }
  });

  it('PNG with SERVER_TIMESTAMP: one image per tagged 1 s fragment, key time = image server time, height alone keeps the aspect', async () => {
    const name = `png-${run}`;
    const { numbers, serverMs } = await pushStream(name, {
      image: imageConfig({ DestinationConfig: { Uri: `s3://${BUCKET}/gen/png`, DestinationRegion: 'us-east-1' }, Format: 'PNG', ImageSelectorType: 'SERVER_TIMESTAMP', SamplingInterval: 1000, HeightPixels: 90 }),
    });
    await srv.server.kvsDelivery!.idle();
    const got = await objects('gen/png/');
    expect(got.map((o) => o.metadata.aws_kinesisvideo_fragment_number).sort()).toEqual([numbers[0], numbers[2]].sort());
    for (const o of got) {
      const f = numbers.indexOf(o.metadata.aws_kinesisvideo_fragment_number!);
      const server = Number(o.metadata.aws_kinesisvideo_server_timestamp);
      const offset = Number(o.metadata.aws_kinesisvideo_producer_timestamp) - (T0 + f * 1000);
      expect(offset).toBeGreaterThanOrEqual(0);
      expect(offset).toBeLessThan(1000);
      expect(server).toBe(serverMs[f]! + offset);
      expect(o.name).toMatch(new RegExp(`^${f === 0 ? 'porch_' : ''}${ACCOUNT}_${name}_${server}_[0-9a-f-]{36}\\.png$`));
      expect(o.contentType).toBe('image/png');
      expect(o.info.streams[0]).toMatchObject({ codec: 'png', width: 120, height: 90 });
    }
  });

  it('DISABLED configuration or none: nothing is written', async () => {
    await pushStream(`off-${run}`, { image: imageConfig({ Status: 'DISABLED', DestinationConfig: { Uri: `s3://${BUCKET}/gen/off`, DestinationRegion: 'us-east-1' } }) });
    await pushStream(`none-${run}`, {});
    await srv.server.kvsDelivery!.idle();
    expect(await objects('gen/off/')).toEqual([]);
    const all = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    expect((all.Contents ?? []).some((c) => c.Key!.includes(`none-${run}`))).toBe(false);
  });
});

describe('fragment notifications (UpdateNotificationConfiguration)', () => {
  const expectMessage = (raw: string, arn: string, numbers: string[], serverMs: number[], i: number, payload: Record<string, string>) => {
    expect(JSON.parse(raw)).toEqual({
      StreamArn: arn,
      FragmentNumber: numbers[i],
      FragmentStartProducerTimestamp: T0 + i * 1000,
      FragmentStartServerTimestamp: serverMs[i],
      NotificationType: 'PERSISTED',
      NotificationPayload: payload,
    });
  };

  it('http(s) Uri: SNS HTTP-notification JSON for tagged fragments only, retried after a failure', async () => {
    const name = `http-${run}`;
    let first = true;
    receiver.rejectIf = () => {
      const reject = first;
      first = false;
      return reject;
    };
    const { numbers, serverMs } = await pushStream(name, { notifyUri: receiver.url });
    await srv.server.kvsDelivery!.idle();
    receiver.rejectIf = undefined;
    expect(receiver.rejected).toBe(1);
    const mine = receiver.received.map((r) => ({ headers: r.headers, body: JSON.parse(r.body) as Record<string, string> }));
    expect(mine).toHaveLength(2);
    const arn = (await kv.send(new DescribeStreamCommand({ StreamName: name }))).StreamInfo!.StreamARN!;
    expect(arn).toMatch(new RegExp(`^arn:aws:kinesisvideo:us-east-1:${ACCOUNT}:stream/${name}/\\d+$`));
    for (const [j, i] of [0, 3].entries()) {
      const m = mine[j]!;
      expect(m.headers['x-amz-sns-message-type']).toBe('Notification');
      expect(m.body).toMatchObject({ Type: 'Notification', TopicArn: `arn:aws:sns:us-east-1:${ACCOUNT}:kestrel-kvs-notifications`, Subject: 'Kinesis Video Streams Notification' });
      expect(m.body.MessageId).toMatch(/^[0-9a-f-]{36}$/);
      expect(Number.isNaN(Date.parse(m.body.Timestamp!))).toBe(false);
      expectMessage(m.body.Message!, arn, numbers, serverMs, i, i === 0 ? { camera: 'front' } : {});
    }
  });

  it('SNS topic ARN: published through the real SNS client, and mirrored on MQTT', async () => {
    const name = `sns-${run}`;
    const topicArn = 'arn:aws:sns:us-east-1:123456789012:kvs-topic';
    const sub = await mqtt.connectAsync(BROKER, { protocolVersion: 5 });
    const mqttGot: Array<Record<string, string>> = [];
    sub.on('message', (_t, payload) => mqttGot.push(JSON.parse(payload.toString('utf8')) as Record<string, string>));
    await sub.subscribeAsync(`kestrel/kvs-notifications/${name}`, { qos: 1 });
    await srv.server.kvsDelivery!.notifications.waitMqttConnected();
    try {
      const before = sns.published.length;
      const { numbers, serverMs } = await pushStream(name, { notifyUri: topicArn });
      await srv.server.kvsDelivery!.idle();
      const published = sns.published.slice(before);
      expect(published).toHaveLength(2);
      const arn = (await kv.send(new DescribeStreamCommand({ StreamName: name }))).StreamInfo!.StreamARN!;
      for (const [j, i] of [0, 3].entries()) {
        expect(published[j]).toMatchObject({ topicArn, subject: 'Kinesis Video Streams Notification' });
        expect(published[j]!.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=test\/\d{8}\/us-east-1\/sns\/aws4_request/);
        expectMessage(published[j]!.message, arn, numbers, serverMs, i, i === 0 ? { camera: 'front' } : {});
      }
      const end = Date.now() + 10_000;
      while (mqttGot.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect(mqttGot.map((m) => ({ Type: m.Type, TopicArn: m.TopicArn, Subject: m.Subject, Message: m.Message }))).toEqual(
        published.map((p) => ({ Type: 'Notification', TopicArn: topicArn, Subject: p.subject, Message: p.message })),
      );
    } finally {
      await sub.endAsync();
    }
  });

  it('DISABLED configuration: nothing is sent', async () => {
    const before = { http: receiver.received.length, sns: sns.published.length };
    await pushStream(`notify-off-${run}`, { notifyUri: receiver.url, notifyStatus: 'DISABLED' });
    await pushStream(`notify-off-sns-${run}`, { notifyUri: 'arn:aws:sns:us-east-1:123456789012:kvs-topic', notifyStatus: 'DISABLED' });
    await srv.server.kvsDelivery!.idle();
    expect({ http: receiver.received.length, sns: sns.published.length }).toEqual(before);
  });
});
