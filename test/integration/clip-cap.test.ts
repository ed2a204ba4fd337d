/**
 * GetClip's concurrency cap (issue 8 item 6): while every slot is held, by a client that stopped
 * reading, the next GetClip gets ClientLimitExceededException at once; the slot comes back when that
 * client goes away, and other calls are unaffected.
 */
import fs from 'node:fs';
import { GetClipCommand, KinesisVideoArchivedMediaClient } from '@aws-sdk/client-kinesis-video-archived-media';
import { CreateStreamCommand, DescribeStreamCommand, KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultServerLimits } from '../../src/config.ts';
import { expectKvsError } from '../support/kvs-sdk.ts';
import { makeH264Mkv } from '../support/media.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';
import { until } from '../support/wait.ts';

const T0 = 1_700_000_000_000;
let srv: TestServer;
let archive: KinesisVideoArchivedMediaClient;
const active = () => srv.server.edge!().active.clips;

const clip = () =>
  archive.send(new GetClipCommand({
    StreamName: 'big',
    ClipFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: new Date(T0), EndTimestamp: new Date(T0 + 3000) } },
  }));

beforeAll(async () => {
  srv = await startTestServer({ limits: defaultServerLimits({ maxConcurrentClips: 1 }) });
  const kv = new KinesisVideoClient(sdkConfig(srv.url));
  await kv.send(new CreateStreamCommand({ StreamName: 'big', DataRetentionInHours: 24 }));
  // About 27 MB: far more than the loopback socket buffers hold, so a clip of it cannot finish unread.
  const mkv = fs.readFileSync(await makeH264Mkv({ seconds: 3, fps: 25, gop: 25, size: '640x360', noise: true }));
  const res = await rawPutMedia(srv.url, 'big', [mkv], { 'x-amzn-fragment-timecode-type': 'RELATIVE', 'x-amzn-producer-start-timestamp': (T0 / 1000).toFixed(3) });
  expect(res.acks.filter((a) => a.EventType === 'PERSISTED').length).toBeGreaterThanOrEqual(3);
  archive = new KinesisVideoArchivedMediaClient(sdkConfig(srv.url));
});
afterAll(async () => {
  await srv?.close();
});

describe('GetClip concurrency cap', () => {
  it('refuses a second clip while a stalled client holds the only slot, and serves again once it leaves', async () => {
    const stalled = await clip();
    const body = stalled.Payload as unknown as NodeJS.ReadableStream & { destroy(): void };
    body.pause(); // a client that stops reading
    await until(() => active() === 1, 'the stalled clip to hold its slot', 20_000);

    await expectKvsError(clip(), 'ClientLimitExceededException', 400);
    expect(srv.server.edge!().refused.clips).toBe(1);
    // Other calls are not held up by the cap.
    const kv = new KinesisVideoClient(sdkConfig(srv.url));
    expect((await kv.send(new DescribeStreamCommand({ StreamName: 'big' }))).StreamInfo?.Status).toBe('ACTIVE');

    body.destroy();
    await until(() => active() === 0, 'the slot to come back', 20_000);
    const next = await clip();
    const bytes = await next.Payload!.transformToByteArray();
    expect(bytes.length).toBeGreaterThan(20_000_000);
  });
});
