/**
 * Detection end to end with real parts: a Kestrel server with in-process detection (CenterNet ONNX,
 * ffmpeg decoder), PutMedia of the people fixture (RELATIVE timecodes, wall-clock producer start),
 * events to a real webhook receiver, the real Mosquitto broker and s3rver snapshots (clean + annotated
 * JPEG). The no-people fixture on another stream yields no event.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { storedCheckpoint } from '../support/detect-checkpoint.ts';
import os from 'node:os';
import path from 'node:path';
import { CreateStreamCommand, KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DetectionEvent } from '../../src/events/types.ts';
import { runFfmpeg } from '../../src/media-tools/ffmpeg.ts';
import { imageSize } from '../../src/media-tools/image-stream.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { startS3Server, type TestS3 } from '../support/s3-server.ts';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';
import { signedFetch } from '../support/auth.ts';

const BROKER = process.env.KESTREL_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const FIXTURES = path.resolve('fixtures');
const BUCKET = 'kestrel-snaps';
const PREFIX = 'e2e';

const run = randomUUID().slice(0, 8);
const PEOPLE = `people-${run}`;
const EMPTY = `nopeople-${run}`;

let srv: TestServer;
let s3: TestS3;
let hook: WebhookReceiver;
let sub: MqttClient;
let tmp: string;
const mqttEvents: DetectionEvent[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, what: string, timeoutMs = 45_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const hookEvents = (stream: string) => hook.received.map((d) => JSON.parse(d.body) as DetectionEvent).filter((e) => e.stream.name === stream);

async function push(stream: string, mkv: Buffer, startMs: number): Promise<string[]> {
  const res = await rawPutMedia(srv.url, stream, [mkv], {
    'x-amzn-fragment-timecode-type': 'RELATIVE',
    'x-amzn-producer-start-timestamp': (startMs / 1000).toFixed(3),
  });
  expect(res.status).toBe(200);
  expect(res.acks.filter((a) => a.EventType === 'ERROR')).toEqual([]);
  const persisted = res.acks.filter((a) => a.EventType === 'PERSISTED').map((a) => a.FragmentNumber!);
  expect(persisted.length).toBeGreaterThan(0);
  return persisted;
}

/** Continuation token the in-process worker saved for the stream (= last fully processed fragment). */
function checkpoint(stream: string): string | undefined {
  return storedCheckpoint(srv.dataDir, stream)?.token;
}

async function s3Object(key: string): Promise<Buffer> {
  const out = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/${key}` }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-detect-e2e-'));
  s3 = await startS3Server();
  await s3.createBucket(BUCKET);
  hook = new WebhookReceiver();
  await hook.start();
  sub = await mqtt.connectAsync(BROKER, { protocolVersion: 5 });
  sub.on('message', (topic, payload) => {
    if (topic !== 'kestrel/events') return;
    const e = JSON.parse(payload.toString('utf8')) as DetectionEvent;
    if (e.stream.name === PEOPLE || e.stream.name === EMPTY) mqttEvents.push(e);
  });
  await sub.subscribeAsync('kestrel/events', { qos: 1 });
  srv = await startTestServer({
    detection: {
      enabled: true,
      webhookUrl: hook.url,
      webhookSecret: 'e2e-secret',
      mqttUrl: BROKER,
      snapshots: `s3://${BUCKET}/${PREFIX}`,
      s3Endpoint: s3.endpoint,
      s3Credentials: s3.credentials,
      s3Region: s3.region,
      // Short lifecycle so the event ends ~1 s after the last person is seen.
      detect: { endAfterMs: 800, sampling: 5 },
      discoveryIntervalMs: 200,
    },
  });
}, 120_000);

afterAll(async () => {
  await srv?.close();
  if (sub) {
    await sub.publishAsync(`kestrel/${PEOPLE}/person`, '', { qos: 1, retain: true }).catch(() => undefined);
    await sub.endAsync();
  }
  await hook?.stop();
  await s3?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('serve with in-process detection', () => {
  it('people → start/end with a person box over webhook and MQTT, JPEG snapshots in S3; no people → no event', async () => {
    const kv = new KinesisVideoClient(sdkConfig(srv.url));
    for (const name of [PEOPLE, EMPTY]) await kv.send(new CreateStreamCommand({ StreamName: name, DataRetentionInHours: 24 }));
    kv.destroy();
    const worker = srv.server.detection!;
    expect(worker).toBeDefined();
    await until(() => worker.streams.includes(PEOPLE) && worker.streams.includes(EMPTY), 'stream discovery', 10_000);

    // 2 s of empty frames at the same size: the people leave, so their events end.
    const blank = path.join(tmp, 'blank.mkv');
    await runFfmpeg(['-f', 'lavfi', '-i', 'color=c=gray:s=768x576:r=10:d=2', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p',
      '-g', '10', '-keyint_min', '10', '-sc_threshold', '0', '-f', 'matroska', blank]);

    const t0 = Date.now();
    await push(PEOPLE, fs.readFileSync(path.join(FIXTURES, 'people_vtest_3s.mkv')), t0);
    await push(PEOPLE, fs.readFileSync(blank), t0 + 3000);
    const treeFragments = await push(EMPTY, fs.readFileSync(path.join(FIXTURES, 'nopeople_tree_3s.mkv')), t0);
    expect(treeFragments).toHaveLength(5);
    // The live decoder holds the newest frames until more input arrives; the blank clip (other size →
    // decoder restart) flushes every no-people fragment through the detector.
    await push(EMPTY, fs.readFileSync(blank), t0 + 3000);

    await until(() => {
      const ev = hookEvents(PEOPLE);
      const started = ev.filter((e) => e.type === 'start').map((e) => e.id);
      return started.length > 0 && ev.some((e) => e.type === 'end' && started.includes(e.id));
    }, 'a webhook start and end for the people stream');

    const events = hookEvents(PEOPLE);
    const end = events.find((e) => e.type === 'end' && events.some((s) => s.type === 'start' && s.id === e.id))!;
    const start = events.find((e) => e.type === 'start' && e.id === end.id)!;
    for (const e of [start, end]) {
      expect(e.label).toBe('person');
      expect(e.stream.arn).toMatch(new RegExp(`^arn:aws:kinesisvideo:us-east-1:\\d{12}:stream/${PEOPLE}/\\d+$`));
      expect(e.score).toBeGreaterThanOrEqual(0.5);
      expect(e.box.frameWidth).toBe(768);
      expect(e.box.frameHeight).toBe(576);
      expect(e.box.width).toBeGreaterThan(5);
      expect(e.box.height).toBeGreaterThan(5);
      expect(e.box.normalized.width).toBeGreaterThan(0);
      expect(e.fragmentNumbers.length).toBeGreaterThan(0);
      // Wall-clock producer time (RELATIVE timecodes anchored at t0), not 1970.
      expect(e.producerTimestamp).toBeGreaterThanOrEqual(t0 - 1);
      expect(e.producerTimestamp).toBeLessThan(t0 + 6000);
      expect(Math.abs(e.serverTimestamp - Date.now())).toBeLessThan(120_000);
    }
    expect(start.before).toBeNull();
    expect(start.after.active).toBe(true);
    expect(end.before).not.toBeNull();
    expect(end.after.active).toBe(false);
    expect(end.after.endTime).not.toBeNull();
    expect(hook.received[0]!.headers['x-kestrel-signature']).toBeTruthy();

    // The same messages over MQTT.
    await until(() => mqttEvents.some((e) => e.id === start.id && e.type === 'end'), 'the MQTT end message', 10_000);
    expect(mqttEvents.find((e) => e.id === start.id && e.type === 'start')).toEqual(start);
    expect(mqttEvents.find((e) => e.id === start.id && e.type === 'end')).toEqual(end);

    // Snapshots: clean + annotated JPEGs of the source size; the annotated one has the box drawn.
    const snap = start.snapshot!;
    expect(snap).toBeTruthy();
    expect(snap.annotated).toBeTruthy();
    expect(end.snapshot?.clean.key).toBeTruthy();
    const clean = await s3Object(snap.clean.key);
    const annotated = await s3Object(snap.annotated!.key);
    for (const img of [clean, annotated]) {
      expect(img.subarray(0, 2).toString('hex')).toBe('ffd8');
      expect(img.subarray(-2).toString('hex')).toBe('ffd9');
      expect(imageSize(img)).toEqual({ width: 768, height: 576 });
    }
    expect(annotated.equals(clean)).toBe(false);
    const presigned = await fetch(snap.clean.url);
    expect(presigned.status).toBe(200);

    // The event store behind the HTTP API has it too.
    const list = (await (await signedFetch(`${srv.url}/api/v1/events?stream=${PEOPLE}`)).json()) as { events: Array<{ id: string; state: string }> };
    expect(list.events.find((e) => e.id === start.id)?.state).toBe('end');
    const one = (await (await signedFetch(`${srv.url}/api/v1/events/${start.id}`)).json()) as { history: DetectionEvent[] };
    expect(one.history.map((h) => h.type)).toContain('start');

    // No people: every fragment went through the detector, and nothing was sent for that stream.
    const lastTree = treeFragments.at(-1)!;
    await until(() => (checkpoint(EMPTY) ?? '') >= lastTree, `every no-people fragment to be processed (checkpoint ${checkpoint(EMPTY)}, last ${lastTree})`, 30_000);
    await hook.waitFor(hook.received.length); // nothing pending
    await sleep(500);
    expect(hookEvents(EMPTY)).toEqual([]);
    expect(mqttEvents.filter((e) => e.stream.name === EMPTY)).toEqual([]);
    const none = (await (await signedFetch(`${srv.url}/api/v1/events?stream=${EMPTY}`)).json()) as { events: unknown[] };
    expect(none.events).toEqual([]);
  }, 120_000);
});
