import { describe, expect, it } from 'vitest';
import { parseNotificationConfig } from '../../../src/control/media-configs.ts';
import { Fields } from '../../../src/control/validate.ts';
import { imageEncoding, imageMetadata, imageObjectKey, parseS3Uri, sampleFrames } from '../../../src/kvs-delivery/image-plan.ts';
import {
  fragmentNotification,
  notificationMqttTopic,
  notificationTarget,
  snsHttpNotification,
  syntheticTopicArn,
} from '../../../src/kvs-delivery/notification-plan.ts';

const GUID = 'f20f9add-1111-2222-3333-444455556666';
const frames25 = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i * 40);

describe('image object key and metadata', () => {
  it('follows {ImagePrefix}_{AccountID}_{StreamName}_{ms}_{GUID}.ext, without the prefix part when untagged', () => {
    const base = { accountId: '111122223333', stream: 'demo-stream', imageTimecodeMs: 1690707290324, guid: GUID };
    expect(imageObjectKey({ ...base, ext: 'jpg' })).toBe(`111122223333_demo-stream_1690707290324_${GUID}.jpg`);
    expect(imageObjectKey({ ...base, ext: 'png', imagePrefix: 'porch' })).toBe(`porch_111122223333_demo-stream_1690707290324_${GUID}.png`);
  });

  it('sets the three KVS metadata keys (ms, rounded) plus the custom tags', () => {
    expect(imageMetadata({ producerTimestampMs: 1000.4, serverTimestampMs: 2000, fragmentNumber: '9134', tags: { CAMERA: 'front' } })).toEqual({
      CAMERA: 'front',
      aws_kinesisvideo_producer_timestamp: '1000',
      aws_kinesisvideo_server_timestamp: '2000',
      aws_kinesisvideo_fragment_number: '9134',
    });
  });

  it('maps the configuration to the encoder (JPEG quality default 80, one size kept alone)', () => {
    const base = { Status: 'ENABLED', ImageSelectorType: 'PRODUCER_TIMESTAMP', DestinationConfig: { Uri: 's3://b', DestinationRegion: 'us-east-1' }, SamplingInterval: 500 } as const;
    expect(imageEncoding({ ...base, Format: 'JPEG', WidthPixels: 160 })).toEqual({ format: 'jpeg', ext: 'jpg', contentType: 'image/jpeg', jpegQuality: 80, width: 160 });
    expect(imageEncoding({ ...base, Format: 'PNG', FormatConfig: { JPEGQuality: '30' }, HeightPixels: 90 })).toMatchObject({ format: 'png', ext: 'png', contentType: 'image/png', jpegQuality: 30, height: 90 });
  });

  it('parses s3://bucket/prefix and refuses other URIs', () => {
    expect(parseS3Uri('s3://my-bucket/a/b/')).toEqual({ bucket: 'my-bucket', prefix: 'a/b' });
    expect(parseS3Uri('s3://my-bucket')).toEqual({ bucket: 'my-bucket', prefix: '' });
    expect(() => parseS3Uri('https://example.com/x')).toThrow(/not an s3/);
  });
});

describe('sampleFrames', () => {
  const base = { firstDecodableMs: 0, mediaStartMs: 0, fragmentStartMs: 10_000, fragmentDurationMs: 1000 };
  const offsets = (frames: Array<{ offsetMs: number }>) => frames.map((f) => f.offsetMs);

  it('takes the frame at or before each multiple of the interval inside the fragment', () => {
    expect(offsets(sampleFrames({ ...base, framePtsMs: frames25(0, 25), intervalMs: 200 }))).toEqual([0, 200, 400, 600, 800]);
    // 25 fps: no frame at 500 ms, the one at 480 ms is shown then.
    expect(offsets(sampleFrames({ ...base, framePtsMs: frames25(0, 25), intervalMs: 500 }))).toEqual([0, 480]);
  });

  it('keeps one grid across fragments: an interval longer than a fragment gives images only where the grid falls', () => {
    const at = (start: number) => offsets(sampleFrames({ ...base, fragmentStartMs: start, framePtsMs: frames25(5000, 25), mediaStartMs: 5000, intervalMs: 3000 }));
    expect([at(9000), at(10_000), at(11_000), at(12_000)]).toEqual([[0], [], [], [0]]);
    expect(at(11_500)).toEqual([480]);
    // An instant after the last frame but before the fragment's end still belongs to it.
    expect(offsets(sampleFrames({ ...base, fragmentStartMs: 10_030, framePtsMs: frames25(0, 25), intervalMs: 1000 }))).toEqual([960]);
  });

  it('never picks a frame before the keyframe, never the same frame twice', () => {
    const r = sampleFrames({ firstDecodableMs: 100, mediaStartMs: 0, fragmentStartMs: 0, fragmentDurationMs: 800, framePtsMs: [0, 100, 300, 700], intervalMs: 250 });
    // Instants 0, 250, 500, 750: the first two both show the keyframe at 100.
    expect(r.map((f) => f.ptsMs)).toEqual([100, 300, 700]);
    expect(sampleFrames({ ...base, framePtsMs: [], intervalMs: 200 })).toEqual([]);
  });
});

describe('notification plan', () => {
  it('classifies destinations: SNS topic ARN, http(s) URL, anything else', () => {
    expect(notificationTarget('arn:aws:sns:us-west-2:123456789012:kvs-topic')).toEqual({ kind: 'sns', topicArn: 'arn:aws:sns:us-west-2:123456789012:kvs-topic', region: 'us-west-2' });
    expect(notificationTarget('https://hooks.example.com/kvs?x=1')).toEqual({ kind: 'http', url: 'https://hooks.example.com/kvs?x=1' });
    expect(notificationTarget('arn:aws:sns:us-west-2:123456789012:t.fifo').kind).toBe('unsupported');
    expect(notificationTarget('s3://bucket/x').kind).toBe('unsupported');
  });

  it('builds the KVS message: Subject, Message as a JSON string with ms timestamps and the custom tags', () => {
    const m = fragmentNotification('arn:aws:kinesisvideo:us-east-1:1:stream/s/1', { fragmentNumber: '9134', producerTimestampMs: 1690707290324, serverTimestampMs: 1690707289209.6, tags: { K: 'V' } });
    expect(m.Subject).toBe('Kinesis Video Streams Notification');
    expect(JSON.parse(m.Message)).toEqual({
      StreamArn: 'arn:aws:kinesisvideo:us-east-1:1:stream/s/1',
      FragmentNumber: '9134',
      FragmentStartProducerTimestamp: 1690707290324,
      FragmentStartServerTimestamp: 1690707289210,
      NotificationType: 'PERSISTED',
      NotificationPayload: { K: 'V' },
    });
  });

  it('wraps it in the SNS HTTP notification shape', () => {
    const topic = syntheticTopicArn('us-east-1', '000000000000');
    const env = snsHttpNotification({ messageId: 'm1', topicArn: topic, message: { Subject: 'S', Message: '{}' }, timestampMs: 0 });
    expect(env).toEqual({ Type: 'Notification', MessageId: 'm1', TopicArn: 'arn:aws:sns:us-east-1:000000000000:kestrel-kvs-notifications', Subject: 'S', Message: '{}', Timestamp: '1970-01-01T00:00:00.000Z' });
    expect(notificationMqttTopic('cam-1')).toBe('kestrel/kvs-notifications/cam-1');
  });

  it('the control plane accepts the documented destinations (SNS ARN, http and https URLs)', () => {
    for (const Uri of ['arn:aws:sns:us-east-1:123456789012:t', 'http://127.0.0.1:9000/kvs', 'https://hooks.example.com/a/b?c=d']) {
      expect(parseNotificationConfig(Fields.of({ NotificationConfiguration: { Status: 'ENABLED', DestinationConfig: { Uri } } }))).toEqual({ Status: 'ENABLED', DestinationConfig: { Uri } });
    }
  });
});
