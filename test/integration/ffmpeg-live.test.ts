import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetMediaCommand, KinesisVideoMediaClient } from '@aws-sdk/client-kinesis-video-media';
import { CreateStreamCommand, KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';
import { makeH264Mkv } from '../support/media.ts';
import { countFrames, runFfmpeg } from '../../src/media-tools/ffmpeg.ts';
import { GetMediaCollector } from '../support/get-media-reader.ts';
import { presignedPutMediaUrl, signedFetch } from '../support/auth.ts';

let srv: TestServer;
let tmp: string;

beforeAll(async () => {
  srv = await startTestServer();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-ff-'));
});
afterAll(async () => {
  await srv.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('real ffmpeg producer', () => {
  it('streams live H.264 + AAC over PutMedia; GetMedia (live tail) decodes to the pushed frame count', async () => {
    const kv = new KinesisVideoClient(sdkConfig(srv.url));
    await kv.send(new CreateStreamCommand({ StreamName: 'ffcam', DataRetentionInHours: 24 }));
    const source = await makeH264Mkv({ seconds: 4, fps: 25, gop: 25, audio: true, bframes: 0 });
    const pushed = await countFrames(source, 'frames');
    expect(pushed.video).toBe(100);

    // A live reader attached before the producer starts sees every fragment as it is persisted.
    const media = new KinesisVideoMediaClient(sdkConfig(srv.url));
    const live = await media.send(new GetMediaCommand({ StreamName: 'ffcam', StartSelector: { StartSelectorType: 'NOW' } }));
    const collector = new GetMediaCollector();
    const received: Buffer[] = [];
    const reading = (async () => {
      for await (const chunk of live.Payload as AsyncIterable<Uint8Array>) {
        received.push(Buffer.from(chunk));
        collector.push(chunk);
        if (collector.complete.length >= 4) break;
      }
    })();

    await runFfmpeg([
      '-re', '-i', source, '-c', 'copy', '-f', 'matroska',
      '-cluster_size_limit', '10M', '-cluster_time_limit', '10000',
      '-method', 'POST', '-headers', 'x-amzn-stream-name: ffcam\r\nx-amzn-fragment-timecode-type: ABSOLUTE\r\n',
      presignedPutMediaUrl(srv.url, 'ffcam'),
    ]);
    await Promise.race([reading, new Promise((r) => setTimeout(r, 15_000))]);
    (live.Payload as unknown as { destroy(): void }).destroy();
    expect(collector.complete).toHaveLength(4);

    const out = path.join(tmp, 'live.mkv');
    fs.writeFileSync(out, Buffer.concat(received));
    const decoded = await countFrames(out, 'frames');
    expect(decoded).toEqual(pushed);

    // The archive has the same: EARLIEST after the fact.
    const archived = await media.send(new GetMediaCommand({ StreamName: 'ffcam', StartSelector: { StartSelectorType: 'EARLIEST' } }));
    const again = new GetMediaCollector();
    const bytes: Buffer[] = [];
    for await (const chunk of archived.Payload as AsyncIterable<Uint8Array>) {
      bytes.push(Buffer.from(chunk));
      again.push(chunk);
      if (again.complete.length >= 4) break;
    }
    (archived.Payload as unknown as { destroy(): void }).destroy();
    fs.writeFileSync(out, Buffer.concat(bytes));
    expect(await countFrames(out, 'frames')).toEqual(pushed);
  });

  it('stores every fragment when ffmpeg uploads a file as fast as it can and hangs up', async () => {
    const kv = new KinesisVideoClient(sdkConfig(srv.url));
    await kv.send(new CreateStreamCommand({ StreamName: 'burst', DataRetentionInHours: 24 }));
    const source = await makeH264Mkv({ seconds: 6, fps: 25, gop: 25, audio: true, bframes: 0 });
    await runFfmpeg([
      '-i', source, '-c', 'copy', '-f', 'matroska', '-cluster_size_limit', '10M', '-cluster_time_limit', '10000',
      '-method', 'POST', '-headers', 'x-amzn-stream-name: burst\r\n', presignedPutMediaUrl(srv.url, 'burst'),
    ]);
    // ffmpeg exits as soon as it has written; the server may still be persisting.
    let listed: unknown[] = [];
    for (let i = 0; i < 50 && listed.length < 6; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const r = await signedFetch(`${srv.url}/listFragments`, { method: 'POST', body: JSON.stringify({ StreamName: 'burst' }) });
      listed = ((await r.json()) as { Fragments: unknown[] }).Fragments;
    }
    expect(listed).toHaveLength(6);
  });
});

