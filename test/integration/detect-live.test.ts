/**
 * In-process detection on a real server (fake "red square" detector, real ffmpeg decoder):
 * - a stream created and pushed at once is picked up at its first fragment (no discovery poll: the
 *   poll interval is an hour), and every fragment is analysed, even more than the feed's tail buffer;
 * - a camera that stops mid-event gets its `start` AND `end` without further input (idle decoder flush,
 *   wall-clock end);
 * - a failed detection start (missing model) makes KestrelServer.start reject and frees the port.
 */
import fs from 'node:fs';
import { storedCheckpoint } from '../support/detect-checkpoint.ts';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CreateStreamCommand, KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KestrelServer } from '../../src/app.ts';
import { defaultConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';
import { FakeDetector, squareVideo } from '../unit/detect/fixtures.ts';
import { signedFetch } from '../support/auth.ts';

let srv: TestServer;
const detector = new FakeDetector();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function checkpoint(stream: string): { token: string; open: unknown[] } | undefined {
  return storedCheckpoint(srv.dataDir, stream);
}

interface StoredEventLite { id: string; state: string; startTime: number; endTime: number | null }
async function events(stream: string): Promise<StoredEventLite[]> {
  const res = await signedFetch(`${srv.url}/api/v1/events?stream=${stream}`);
  return ((await res.json()) as { events: StoredEventLite[] }).events;
}

beforeAll(async () => {
  srv = await startTestServer({
    detection: { enabled: true, detector, detect: { sampling: 4, endAfterMs: 800, idleFlushMs: 500 }, discoveryIntervalMs: 3_600_000 },
  });
});
afterAll(async () => {
  await srv?.close();
});

describe('in-process detection, live', () => {
  it('picks a new stream up at its first fragment and ends an event when the camera stops', async () => {
    // 6 one-second fragments; the square (our "person") is in view from 2 s to the very end.
    const video = await squareVideo(6, 2, 6);
    expect(video.clusters).toHaveLength(6);
    const kv = new KinesisVideoClient(sdkConfig(srv.url));
    await kv.send(new CreateStreamCommand({ StreamName: 'fresh', DataRetentionInHours: 1 }));
    kv.destroy();
    const t0 = Date.now();
    // Pushed as fast as possible right after creation, then the producer goes away.
    const res = await rawPutMedia(srv.url, 'fresh', [video.header, ...video.clusters], {
      'x-amzn-fragment-timecode-type': 'RELATIVE', 'x-amzn-producer-start-timestamp': (t0 / 1000).toFixed(3),
    });
    const numbers = res.acks.filter((a) => a.EventType === 'PERSISTED').map((a) => a.FragmentNumber!);
    expect(numbers).toHaveLength(6);

    // Start and end arrive with no further input.
    await until(async () => (await events('fresh')).some((e) => e.state === 'end'), 'the event to end');
    const [ev, ...more] = await events('fresh');
    expect(more).toEqual([]);
    expect(ev!.startTime - t0).toBeGreaterThanOrEqual(2000);
    expect(ev!.startTime - t0).toBeLessThan(3000);
    // Seen until the last sampled frame of the last fragment (~5.75 s): that fragment was analysed.
    expect(ev!.endTime! - t0).toBeGreaterThanOrEqual(5500);

    // Every fragment went through the pipeline, from the first one, and the checkpoint has nothing open.
    const stats = srv.server.detection!.stats('fresh')!;
    expect(stats.fragmentsIn).toBe(6);
    expect(stats.fragmentsDone).toBe(6);
    await until(() => checkpoint('fresh')?.open.length === 0, 'the checkpoint after the end');
    expect(checkpoint('fresh')!.token).toBe(numbers.at(-1));
  }, 60_000);
});

describe('detection start failure', () => {
  it('a missing model makes start reject and frees the port', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-detect-fail-'));
    try {
      const config = defaultConfig({
        host: '127.0.0.1', port, dataDir,
        detection: { enabled: true, model: { type: 'centernet', modelPath: path.join(dataDir, 'no-such-model.onnx') } },
      });
      await expect(KestrelServer.start(config, silentLogger())).rejects.toThrow();
      // The port is free again: something else can listen on it.
      await new Promise<void>((resolve, reject) => {
        const s = net.createServer().once('error', reject).listen(port, '127.0.0.1', () => s.close(() => resolve()));
      });
      // And a bad config file fails before anything is opened.
      const bad = path.join(dataDir, 'detect.json');
      fs.writeFileSync(bad, JSON.stringify({ defaults: { sampling: 'often' } }));
      await expect(KestrelServer.start(defaultConfig({ host: '127.0.0.1', port, dataDir, detection: { enabled: true, configFile: bad, detector } }), silentLogger()))
        .rejects.toThrow(/sampling/);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
