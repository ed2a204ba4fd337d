import Database from 'better-sqlite3';
/**
 * Detection worker end to end over GetMedia (real AWS SDK, real server, real ffmpeg decoder) with a fake
 * detector that sees the red square: events start…end, and a worker killed mid-stream resumes from its
 * saved continuation token with no lost and no duplicate fragment and no duplicate event.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { until } from '../support/wait.ts';
import { CreateStreamCommand, KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteCheckpointStore, type Checkpoint, type CheckpointStore } from '../../src/detect/checkpoints.ts';
import { GetMediaSource } from '../../src/detect/getmedia-source.ts';
import { listStreamsViaSdk } from '../../src/detect/stream-discovery.ts';
import type { LifecycleEvent } from '../../src/detect/lifecycle.ts';
import { startDetectionWorker, type DetectionWorker } from '../../src/detect/worker.ts';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';
import { rawPutMedia, type RawPutResult } from '../support/raw-put-media.ts';
import { FakeDetector, squareVideo } from '../unit/detect/fixtures.ts';

const T0 = 1_700_000_000_000;
let srv: TestServer;
let dir: string;

beforeAll(async () => {
  srv = await startTestServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-detect-it-'));
  const kv = new KinesisVideoClient(sdkConfig(srv.url));
  await kv.send(new CreateStreamCommand({ StreamName: 'cam', DataRetentionInHours: 24 }));
  kv.destroy();
});
afterAll(async () => {
  await srv.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Records every saved token (= fragment fully processed) on top of the SQLite store. */
class RecordingCheckpoints implements CheckpointStore {
  readonly saved: string[] = [];
  constructor(private readonly inner: CheckpointStore) {}
  load(stream: string) {
    return this.inner.load(stream);
  }
  async save(stream: string, cp: Checkpoint) {
    this.saved.push(cp.token);
    await this.inner.save(stream, cp);
  }
}

describe('DetectionWorker over GetMedia', () => {
  it('emits start…end for the square; a killed worker resumes from its token with no gap or duplicate', async () => {
    // 12 one-second fragments; the "person" is visible from 2 s to 7 s.
    const video = await squareVideo(12, 2, 7);
    expect(video.clusters).toHaveLength(12);
    const file = path.join(dir, 'checkpoints.sqlite');
    const cpDb = new Database(file);
    const events: LifecycleEvent[] = [];
    const detector = new FakeDetector();
    const source = new GetMediaSource({ clientConfig: sdkConfig(srv.url), retryDelayMs: 200 });
    // Standalone mode: streams discovered with ListStreams.
    const start = (checkpoints: CheckpointStore) => startDetectionWorker({
      source, detector, checkpoints, streams: listStreamsViaSdk(sdkConfig(srv.url)), discoveryIntervalMs: 1000,
      sink: { publish: async (e) => void events.push(e) },
      config: () => ({ sampling: 4, endAfterMs: 2000 }),
    });

    const first = new RecordingCheckpoints(new SqliteCheckpointStore(cpDb));
    let worker: DetectionWorker = await start(first);
    expect(worker.streams).toEqual(['cam']);
    await until(() => srv.server.getMediaReaders!() >= 1, 'the worker\'s GetMedia NOW to be open');

    // Push live: one fragment every 400 ms (the producer's pace, not a wait).
    let persisted = 0;
    const push: Promise<RawPutResult> = rawPutMedia(srv.url, 'cam', (async function* () {
      yield video.header;
      for (const c of video.clusters) {
        yield c;
        await sleep(400);
      }
    })(), { 'x-amzn-fragment-timecode-type': 'RELATIVE', 'x-amzn-producer-start-timestamp': (T0 / 1000).toFixed(3) }, (ack) => {
      if (ack.EventType === 'PERSISTED') persisted++;
    });

    // Kill while the square is in view (after fragment 3 = 3..4 s is done).
    await until(() => first.saved.length >= 4, 'four fragments processed');
    await worker.stop();
    const afterKill = first.saved.length;
    const eventsAtKill = events.length;
    const storedAtKill = persisted;
    await until(() => persisted >= storedAtKill + 2, 'two fragments stored while no worker runs');

    const second = new RecordingCheckpoints(new SqliteCheckpointStore(new Database(file)));
    worker = await start(second);
    const res = await push;
    const numbers = res.acks.filter((a) => a.EventType === 'PERSISTED').map((a) => a.FragmentNumber!);
    expect(numbers).toHaveLength(12);
    // The newest fragment is done too without a later one (its last sample is not held back by ffmpeg).
    await until(() => first.saved.length + second.saved.length >= 12, 'twelve fragments processed');
    await worker.stop();

    const processed = [...first.saved.slice(0, afterKill), ...second.saved];
    expect(processed).toEqual(numbers); // in order, none lost, none twice
    expect(await new SqliteCheckpointStore(cpDb).load('cam')).toMatchObject({ token: numbers[11], open: [], state: { pending: [] } });

    expect(afterKill).toBeGreaterThanOrEqual(4);
    expect(afterKill).toBeLessThan(8);
    expect(second.saved.length).toBe(12 - afterKill);
    const summary = events.map((e) => `${e.type}:${e.id}`);
    if (process.env.DEBUG_DETECT) console.log(afterKill, summary);
    expect(new Set(summary).size).toBe(summary.length); // no duplicate event
    // One event for the one person, across the restart: the new run continues it on the same track
    // (restored from the checkpoint, so nothing to announce), then ends it.
    expect(new Set(events.map((e) => e.id)).size).toBe(1);
    expect(events.filter((e) => e.type === 'start')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'end')).toHaveLength(1);
    expect(events.at(-1)!.type).toBe('end');
    expect(events.slice(eventsAtKill).map((e) => e.type)).toEqual(['end']);
    const ev = events.at(-1)!;
    expect(ev.after.label).toBe('person');
    expect(ev.after.best.score).toBe(0.9);
    // Seen until ~7 s of producer time; source-pixel boxes (320x240 video).
    expect(ev.after.endTimeMs! - T0).toBeGreaterThanOrEqual(6500);
    expect(ev.after.endTimeMs! - T0).toBeLessThan(7100);
    expect(ev.after.current.box[1]).toBeGreaterThan(110);
    expect(ev.after.current.box[3]).toBeLessThan(170);
    expect(numbers).toContain(ev.fragmentNumber);
    expect(ev.after.best.frameIndex).toBeGreaterThanOrEqual(0);
    expect(ev.serverTimestampMs).toBeGreaterThan(T0);
    // The first worker saw the square appear (start at ~2.25 s, after 2 hits at 4 fps).
    const firstStart = events.find((e) => e.type === 'start')!;
    expect(firstStart.after.startTimeMs - T0).toBeGreaterThanOrEqual(2000);
    expect(firstStart.after.startTimeMs - T0).toBeLessThan(2600);
  });
});
