/**
 * GetMedia at the end of stored data on a stream with no producer: like KVS, the response ends
 * a few seconds after the last fragment instead of being held for the 30 s idle timeout, so
 * boto3's Payload.read() and `aws kinesis-video-media get-media` return the full payload promptly.
 * The wait is configurable (server flag / config, per request with x-kestrel-get-media-end-wait-ms);
 * with a producer connected GetMedia keeps following the stream.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateStreamCommand, KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { signedFetch, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY } from '../support/auth.ts';
import { GetMediaCollector } from '../support/get-media-reader.ts';
import { makeH264Mkv } from '../support/media.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';
import { pieces } from '../support/synthetic-mkv.ts';

const run = promisify(execFile);
const END_WAIT_MS = 1500;
let srv: TestServer;

/** Generous: well under the 30 s idle timeout the old behaviour held the response for. */
const PROMPT_MS = END_WAIT_MS + 12_000;

const awsEnv = {
  ...process.env,
  AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
};

beforeAll(async () => {
  srv = await startTestServer({ getMediaEndOfDataWaitMs: END_WAIT_MS });
  await new KinesisVideoClient(sdkConfig(srv.url)).send(new CreateStreamCommand({ StreamName: 'done', DataRetentionInHours: 24 }));
  const body = fs.readFileSync(await makeH264Mkv({ seconds: 3, fps: 25, gop: 25, bframes: 0 }));
  const res = await rawPutMedia(srv.url, 'done', pieces(body, 64 * 1024));
  expect(res.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(3);
}, 60_000);

afterAll(async () => srv?.close());

function fragmentsIn(payload: Buffer): number {
  const c = new GetMediaCollector();
  c.push(payload);
  return c.complete.length;
}

describe('GetMedia at the end of stored data', () => {
  it('boto3 get_media: Payload.read() returns every fragment promptly', async () => {
    const script = [
      'import boto3, sys, time',
      `c = boto3.client("kinesis-video-media", endpoint_url="${srv.url}")`,
      't = time.time()',
      'r = c.get_media(StreamName="done", StartSelector={"StartSelectorType": "EARLIEST"})',
      'data = r["Payload"].read()',
      'sys.stdout.buffer.write(data)',
      'sys.stderr.write("%d" % int((time.time() - t) * 1000))',
    ].join('\n');
    const started = Date.now();
    const { stdout, stderr } = await run('/usr/bin/python3', ['-c', script], { env: awsEnv, encoding: 'buffer', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
    expect(Date.now() - started).toBeLessThan(PROMPT_MS + 5000);
    expect(Number(stderr.toString())).toBeLessThan(PROMPT_MS);
    expect(fragmentsIn(stdout)).toBe(3);
  }, 90_000);

  it('aws kinesis-video-media get-media: writes the full payload and exits promptly', async () => {
    const out = path.join(srv.dataDir, 'cli-out.mkv');
    const started = Date.now();
    await run('/usr/bin/aws', [
      'kinesis-video-media', 'get-media', '--endpoint-url', srv.url, '--stream-name', 'done',
      '--start-selector', 'StartSelectorType=EARLIEST', out,
    ], { env: awsEnv, timeout: 60_000 });
    expect(Date.now() - started).toBeLessThan(PROMPT_MS + 5000);
    expect(fragmentsIn(fs.readFileSync(out))).toBe(3);
  }, 90_000);

  it('the wait is per request: the header holds the response open longer, or ends it at once', async () => {
    const get = async (waitMs: string) => {
      const started = Date.now();
      const res = await signedFetch(`${srv.url}/getMedia`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-kestrel-get-media-end-wait-ms': waitMs },
        body: JSON.stringify({ StreamName: 'done', StartSelector: { StartSelectorType: 'EARLIEST' } }),
      });
      expect(res.status).toBe(200);
      const bytes = Buffer.from(await res.arrayBuffer());
      return { ms: Date.now() - started, fragments: fragmentsIn(bytes) };
    };
    const longer = await get('4000');
    expect(longer.fragments).toBe(3);
    expect(longer.ms).toBeGreaterThanOrEqual(4000);
    const atOnce = await get('0');
    expect(atOnce.fragments).toBe(3);
    expect(atOnce.ms).toBeLessThan(longer.ms);
    const bad = await signedFetch(`${srv.url}/getMedia`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-kestrel-get-media-end-wait-ms': 'soon' },
      body: JSON.stringify({ StreamName: 'done', StartSelector: { StartSelectorType: 'EARLIEST' } }),
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('x-amzn-errortype')).toContain('InvalidArgumentException');
  }, 60_000);
});
