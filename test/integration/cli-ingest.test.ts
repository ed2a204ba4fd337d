/**
 * `kestrel ingest` against a local RTSP camera: fragments flow, the camera drops and comes back on
 * the same port, ingest reconnects by itself with later producer timestamps, SIGTERM exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { KinesisVideoArchivedMediaClient, ListFragmentsCommand, type Fragment } from '@aws-sdk/client-kinesis-video-archived-media';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeH264Mkv } from '../support/media.ts';
import { rtspServerAvailable, startRtspServer, type RtspServer } from '../support/rtsp-server.ts';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';
import { testAuthEnv } from '../support/auth.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/kestrel.js');

/** Every fragment received so far (Kestrel, unlike the KVS docs, requires a FragmentSelector). */
const everything = () => ({
  FragmentSelectorType: 'SERVER_TIMESTAMP' as const,
  TimestampRange: { StartTimestamp: new Date(0), EndTimestamp: new Date(Date.now() + 3_600_000) },
});

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.skipIf(!rtspServerAvailable())('kestrel ingest (RTSP camera)', () => {
  let srv: TestServer;
  let camera: RtspServer;
  let kvam: KinesisVideoArchivedMediaClient;
  let ingest: ChildProcess | undefined;
  let log = '';

  beforeAll(async () => {
    // No B-frames (like IP cameras; ffmpeg's RTSP pull needs it), 1 s GOPs, long enough for the whole test.
    const clip = await makeH264Mkv({ seconds: 90, fps: 15, gop: 15, bframes: 0 });
    [srv, camera] = await Promise.all([startTestServer(), startRtspServer({ file: clip })]);
    kvam = new KinesisVideoArchivedMediaClient(sdkConfig(srv.url));
  });
  afterAll(async () => {
    if (ingest && ingest.exitCode === null) ingest.kill('SIGKILL');
    kvam?.destroy();
    await camera?.stop();
    await srv?.close();
  });

  const fragments = async (): Promise<Fragment[]> => {
    try {
      const out = await kvam.send(new ListFragmentsCommand({ StreamName: 'cam', MaxResults: 1000, FragmentSelector: everything() }));
      return out.Fragments ?? [];
    } catch (err) {
      if ((err as Error).name === 'ResourceNotFoundException') return []; // ingest has not created it yet
      throw err;
    }
  };
  const logged = (re: RegExp): true | undefined => (re.test(log) ? true : undefined);

  it('keeps the camera flowing across a camera restart and stops cleanly on SIGTERM', { timeout: 150_000 }, async () => {
    const child = spawn(process.execPath, [BIN, 'ingest', camera.url, '--stream', 'cam', '--create', '--endpoint', srv.url], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...testAuthEnv },
    });
    ingest = child;
    child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    // 1. Fragments arrive.
    const firstBatch = await waitFor('first fragments', async () => {
      const f = await fragments();
      return f.length >= 3 ? f : undefined;
    });
    expect(log).toMatch(/connected, first fragment persisted/);
    const startedAt = Date.now();
    for (const f of firstBatch) expect(Math.abs(f.ProducerTimestamp!.getTime() - startedAt)).toBeLessThan(30_000);

    // 2. The camera drops for a few seconds; ingest notices and retries.
    await camera.stop();
    await waitFor('disconnect log line', () => logged(/camera disconnected/), 15_000);
    await new Promise((r) => setTimeout(r, 3000));
    const beforeRestart = await fragments();
    const lastProducerMs = Math.max(...beforeRestart.map((f) => f.ProducerTimestamp!.getTime()));
    expect(log).toMatch(/retrying in \d+(\.\d)?s/);

    // 3. Same port, camera back: ingest reconnects on its own and new, later fragments land.
    await camera.start();
    const fresh = await waitFor(
      'fragments after the reconnect',
      async () => {
        const later = (await fragments()).filter((f) => f.ProducerTimestamp!.getTime() > lastProducerMs);
        return later.length >= 2 ? later : undefined;
      },
      60_000,
    );
    expect(fresh.length).toBeGreaterThanOrEqual(2);
    expect(log.match(/connected, first fragment persisted/g)?.length).toBeGreaterThanOrEqual(2);
    expect(log).toMatch(/connecting to rtsp:\/\/127\.0\.0\.1:\d+\/cam \(attempt \d+\)/);

    // 4. SIGTERM: clean stop, exit 0.
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(log).toMatch(/SIGTERM received, stopping/);
    expect(log).toMatch(/stopped\n$/);
  });
});
