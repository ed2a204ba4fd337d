import { describe, expect, it } from 'vitest';
import { nextEvent, startEvent, type TrackObservation } from '../../../src/events/lifecycle.ts';
import { makeBox } from '../../../src/events/types.ts';
import { backoffDelay } from '../../../src/notify/backoff.ts';
import { EventFeed, type FeedItem } from '../../../src/notify/event-feed.ts';
import { Fanout } from '../../../src/notify/fanout.ts';
import { mqttTopics } from '../../../src/notify/mqtt-notifier.ts';
import type { Notifier } from '../../../src/notify/notifier.ts';
import { PersonPresence } from '../../../src/notify/person-presence.ts';
import { s3ClientConfig } from '../../../src/notify/s3-snapshot-store.ts';
import { signBody, verifySignature } from '../../../src/notify/signature.ts';
import { assertSafeKey, kvsImageMetadata, parseSnapshotDestination, snapshotKey } from '../../../src/notify/snapshot-store.ts';

const stream = (name: string) => ({ name, arn: `arn:aws:kinesisvideo:us-east-1:1:stream/${name}/1` });
const obs = (t: number, trackId = 't1'): TrackObservation => ({
  trackId,
  score: 0.9,
  box: makeBox(0, 0, 10, 10, 100, 100),
  zone: null,
  frameTime: t,
  fragmentNumber: 'f',
  producerTimestamp: t,
  serverTimestamp: t,
});

describe('backoffDelay', () => {
  it('doubles from 1 s up to 5 min, with jitter only reducing', () => {
    const none = () => 0;
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, {}, none))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffDelay(20, {}, none)).toBe(300_000);
    expect(backoffDelay(1000, {}, none)).toBe(300_000);
    expect(backoffDelay(1, {}, () => 1)).toBe(800);
    expect(backoffDelay(3, { baseMs: 10, maxMs: 25, jitter: 0 })).toBe(25);
  });
});

describe('signature', () => {
  it('is sha256=<hex HMAC> and verifies in constant time', () => {
    const sig = signBody('{"a":1}', 's3cret');
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature('{"a":1}', 's3cret', sig)).toBe(true);
    expect(verifySignature('{"a":2}', 's3cret', sig)).toBe(false);
    expect(verifySignature('{"a":1}', 'other', sig)).toBe(false);
    expect(verifySignature('{"a":1}', 's3cret', undefined)).toBe(false);
    expect(verifySignature('{"a":1}', 's3cret', 'sha256=00')).toBe(false);
  });
});

describe('PersonPresence', () => {
  it('tracks active trackIds per stream', () => {
    const p = new PersonPresence();
    const s1 = startEvent(stream('cam'), obs(1, 'A'));
    const s2 = startEvent(stream('cam'), obs(2, 'B'));
    expect(p.apply(s1, 10)).toEqual({ count: 1, active: ['A'], updated: 10 });
    expect(p.apply(s2, 11).active).toEqual(['A', 'B']);
    expect(p.apply(nextEvent(s1, 'update', obs(3, 'A')), 12).count).toBe(2);
    expect(p.apply(nextEvent(s1, 'end', obs(4, 'A')), 13)).toEqual({ count: 1, active: ['B'], updated: 13 });
    expect(p.state('other', 14)).toEqual({ count: 0, active: [], updated: 14 });
    expect(mqttTopics('kestrel', 'cam')).toEqual({ all: 'kestrel/events', stream: 'kestrel/cam/events', person: 'kestrel/cam/person' });
  });
});

describe('EventFeed and Fanout', () => {
  it('fans out to subscribers (filtered, isolated) and replays after a seq', async () => {
    const feed = new EventFeed(3);
    const all: FeedItem[] = [];
    const camOnly: FeedItem[] = [];
    const unsub = feed.subscribe((i) => all.push(i));
    feed.subscribe((i) => camOnly.push(i), { stream: 'cam' });
    feed.subscribe(() => {
      throw new Error('broken');
    });
    for (const name of ['cam', 'yard', 'cam', 'cam']) await feed.publish(startEvent(stream(name), obs(1)));
    expect(all.map((i) => i.seq)).toEqual([1, 2, 3, 4]);
    expect(camOnly.map((i) => i.seq)).toEqual([1, 3, 4]);
    unsub();
    expect(feed.listenerCount).toBe(2);
    const replay: number[] = [];
    feed.subscribe((i) => replay.push(i.seq), { afterSeq: 2 });
    expect(replay).toEqual([3, 4]);
  });

  it('isolates a failing notifier', async () => {
    const got: string[] = [];
    const ok: Notifier = { name: 'ok', publish: async (e) => void got.push(e.id) };
    const bad: Notifier = { name: 'bad', publish: async () => Promise.reject(new Error('nope')) };
    const ev = startEvent(stream('cam'), obs(1));
    const res = await new Fanout([bad, ok]).publishAll(ev);
    expect(res).toEqual([{ notifier: 'bad', ok: false, error: 'nope' }, { notifier: 'ok', ok: true }]);
    expect(got).toEqual([ev.id]);
  });
});

describe('snapshot destinations and keys', () => {
  it('parses --snapshots values', () => {
    expect(parseSnapshotDestination(undefined)).toEqual({ kind: 'local' });
    expect(parseSnapshotDestination('local')).toEqual({ kind: 'local' });
    expect(parseSnapshotDestination('/var/kestrel/snaps')).toEqual({ kind: 'local', dir: '/var/kestrel/snaps' });
    expect(parseSnapshotDestination('file:///tmp/a%20b')).toEqual({ kind: 'local', dir: '/tmp/a b' });
    expect(parseSnapshotDestination('s3://my-bucket')).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: '' });
    expect(parseSnapshotDestination('s3://my-bucket/cams/front/')).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: 'cams/front' });
    expect(parseSnapshotDestination('s3://b1x/p?endpoint=http://127.0.0.1:9000&region=eu-west-1&pathStyle=true')).toEqual({
      kind: 's3',
      bucket: 'b1x',
      prefix: 'p',
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-1',
      forcePathStyle: true,
    });
    expect(() => parseSnapshotDestination('s3://Bad_Bucket/x')).toThrow(/bucket/);
    expect(() => parseSnapshotDestination('gs://bucket/x')).toThrow(/unsupported/);
  });

  it('builds KVS-style keys and metadata', () => {
    expect(snapshotKey({ accountId: '111122223333', stream: 'demo-stream', timestampMs: 1690707290324, guid: 'f20f' })).toBe(
      '111122223333_demo-stream_1690707290324_f20f.jpg',
    );
    expect(snapshotKey({ imagePrefix: 'pre', accountId: '1', stream: 's', timestampMs: 5, guid: 'g', variant: 'annotated' })).toBe('pre_1_s_5_g-annotated.jpg');
    expect(kvsImageMetadata({ producerTimestamp: 1, serverTimestamp: 2, fragmentNumber: '9', tags: { k: 'v' } })).toEqual({
      k: 'v',
      aws_kinesisvideo_producer_timestamp: '1',
      aws_kinesisvideo_server_timestamp: '2',
      aws_kinesisvideo_fragment_number: '9',
    });
    for (const bad of ['', '/abs', 'a/../b', '..', 'a//b', 'a\\b']) expect(() => assertSafeKey(bad)).toThrow();
    expect(() => assertSafeKey('a/b/c.jpg')).not.toThrow();
  });

  it('builds S3 client config from options and env', () => {
    expect(s3ClientConfig({ bucket: 'b' }, { AWS_REGION: 'eu-central-1' })).toMatchObject({ region: 'eu-central-1', requestChecksumCalculation: 'WHEN_REQUIRED' });
    const c = s3ClientConfig({ bucket: 'b', endpoint: 'http://x:9000' }, {});
    expect(c).toMatchObject({ region: 'us-east-1', endpoint: 'http://x:9000', forcePathStyle: true });
    expect(s3ClientConfig({ bucket: 'b' }, {}).forcePathStyle).toBeUndefined();
  });
});

describe('captureSnapshots', () => {
  it('stores clean + annotated and returns links; annotation failure keeps the clean one', async () => {
    const { captureSnapshots } = await import('../../../src/notify/snapshotter.ts');
    const puts: Array<{ key: string; bytes: string; meta: Record<string, string> }> = [];
    const store = {
      put: async (key: string, jpeg: Buffer, _ct: string, meta: Record<string, string>) => {
        puts.push({ key, bytes: jpeg.toString(), meta });
        return { url: `/snapshots/${key}` };
      },
    };
    const key = { accountId: '1', stream: 'cam', timestampMs: 5, guid: 'g' };
    const links = await captureSnapshots(store, { jpeg: Buffer.from('clean'), boxes: [], key, metadata: { a: 'b' } }, async () => Buffer.from('ann'));
    expect(links).toEqual({ clean: { key: '1_cam_5_g.jpg', url: '/snapshots/1_cam_5_g.jpg' }, annotated: { key: '1_cam_5_g-annotated.jpg', url: '/snapshots/1_cam_5_g-annotated.jpg' } });
    expect(puts.map((p) => p.bytes).sort()).toEqual(['ann', 'clean']);
    const noAnn = await captureSnapshots(store, { jpeg: Buffer.from('clean'), boxes: [], key }, async () => Promise.reject(new Error('ffmpeg')));
    expect(noAnn.annotated).toBeUndefined();
  });
});

describe('AWS-shaped formats', () => {
  it('maps a person event to Rekognition LABEL_DETECTED and builds KVS fragment notifications', async () => {
    const { rekognitionLabelDetected, kvsFragmentNotification } = await import('../../../src/notify/formats.ts');
    const ev = startEvent(stream('cam'), { ...obs(1480), producerTimestamp: 1000, box: makeBox(10, 20, 30, 40, 100, 200) });
    const r = rekognitionLabelDetected(ev, { sessionId: 's1', frameImageUri: 's3://b/k.jpg' });
    expect(r.Subject).toBe('Rekognition Stream Processing Event');
    expect(r.Message).toMatchObject({
      inputInformation: { kinesisVideo: { streamArn: ev.stream.arn } },
      eventNamespace: { type: 'LABEL_DETECTED' },
      labels: [{ name: 'PERSON', frameImageUri: 's3://b/k.jpg', boundingBox: { left: 0.1, top: 0.1, width: 0.3, height: 0.2 }, videoMapping: { kinesisVideoMapping: { frameOffsetMillis: 480 } } }],
      sessionId: 's1',
    });
    const n = kvsFragmentNotification({ streamArn: 'arn', fragmentNumber: '9', producerTimestamp: 2, serverTimestamp: 1, payload: { K: 'V' } });
    expect(n.Subject).toBe('Kinesis Video Streams Notification');
    expect(JSON.parse(n.Message)).toEqual({ StreamArn: 'arn', FragmentNumber: '9', FragmentStartProducerTimestamp: 2, FragmentStartServerTimestamp: 1, NotificationType: 'PERSISTED', NotificationPayload: { K: 'V' } });
  });
});
