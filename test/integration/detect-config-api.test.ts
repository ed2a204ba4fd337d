/**
 * Per-stream detection config over HTTP on a real server with in-process detection (fake detector, real
 * ffmpeg): layers from a config file, API overrides persisted in the server's db (survive a restart),
 * validation errors, unknown streams, and a change applied to the running stream without a restart.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateStreamCommand, KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteDetectConfigOverrides } from '../../src/detect/remote-overrides.ts';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';
import { FakeDetector } from '../unit/detect/fixtures.ts';
import { signedFetch, testCredentials } from '../support/auth.ts';

let dir: string;
let dataDir: string;
let configFile: string;
let srv: TestServer | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const start = () => startTestServer({
  dataDir,
  detection: { enabled: true, detector: new FakeDetector(), configFile, detect: { endAfterMs: 1000 }, discoveryIntervalMs: 3_600_000 },
});

interface ConfigBody {
  effective: Record<string, unknown>;
  sources: Record<string, string>;
  override: Record<string, unknown> | null;
  running: boolean;
  detection: boolean;
}

async function call(method: string, stream: string, body?: unknown): Promise<{ status: number; json: ConfigBody & { message?: string } }> {
  const res = await signedFetch(`${srv!.url}/api/v1/streams/${stream}/detection`, {
    method,
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  });
  return { status: res.status, json: (await res.json()) as ConfigBody & { message?: string } };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-detect-cfg-'));
  dataDir = path.join(dir, 'data');
  configFile = path.join(dir, 'detect.json');
  fs.writeFileSync(configFile, JSON.stringify({ defaults: { sampling: 1 }, streams: { 'cam*': { scoreThreshold: 0.7 }, 'off-*': { enabled: false } } }));
  srv = await start();
  const kv = new KinesisVideoClient(sdkConfig(srv.url));
  for (const name of ['cam1', 'off-1']) await kv.send(new CreateStreamCommand({ StreamName: name, DataRetentionInHours: 1 }));
  kv.destroy();
  await srv.server.detection!.refresh();
});

afterAll(async () => {
  await srv?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('GET/PUT/PATCH/DELETE /api/v1/streams/:name/detection', () => {
  it('layers file and API, validates, persists, and applies changes to the running stream', async () => {
    const worker = () => srv!.server.detection!;
    let r = await call('GET', 'cam1');
    expect(r.status).toBe(200);
    expect(r.json.effective).toMatchObject({ sampling: 1, scoreThreshold: 0.7, endAfterMs: 1000, labels: ['person'] });
    expect(r.json.sources).toMatchObject({ sampling: 'file:defaults', scoreThreshold: 'file:streams.cam*', endAfterMs: 'settings', labels: 'default' });
    expect(r.json.override).toBeNull();
    expect(r.json.running).toBe(true);
    expect(worker().configOf('cam1')?.sampling).toBe(1);
    expect((await call('GET', 'off-1')).json.running).toBe(false);

    // Unknown stream, bad bodies.
    expect((await call('GET', 'nope')).status).toBe(404);
    expect((await call('PUT', 'nope', { sampling: 2 })).status).toBe(404);
    r = await call('PUT', 'cam1', { sampling: 0 });
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/sampling must be/);
    r = await call('PUT', 'cam1', { samplingRate: 2 });
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/unknown option "samplingRate"/);
    r = await call('PUT', 'cam1', '{ nope');
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/JSON/);
    r = await call('PUT', 'cam1', [1]);
    expect(r.status).toBe(400);

    // A valid override applies at once to the running pipeline.
    r = await call('PUT', 'cam1', { sampling: 'keyframes', zones: [{ name: 'door', points: [[0, 0], [1, 0], [1, 1], [0, 1]] }] });
    expect(r.status).toBe(200);
    expect(r.json.effective.sampling).toBe('keyframes');
    expect(r.json.sources.sampling).toBe('api');
    expect(worker().configOf('cam1')?.sampling).toBe('keyframes');
    r = await call('PATCH', 'cam1', { scoreThreshold: 0.8 });
    expect(r.json.override).toMatchObject({ sampling: 'keyframes', scoreThreshold: 0.8 });
    expect(worker().configOf('cam1')?.scoreThreshold).toBe(0.8);

    // Enabling a stream the file disables.
    r = await call('PUT', 'off-1', { enabled: true });
    expect(r.json.running).toBe(true);
    expect(worker().streams).toContain('off-1');

    // Persisted: a restarted server on the same data dir has the overrides.
    await srv!.close();
    srv = await start();
    r = await call('GET', 'cam1');
    expect(r.json.override).toMatchObject({ sampling: 'keyframes', scoreThreshold: 0.8 });
    await until(() => srv!.server.detection!.configOf('cam1')?.sampling === 'keyframes', 'cam1 running with its override');
    expect(srv.server.detection!.streams).toContain('off-1');

    // What `kestrel worker` reads from the server it consumes.
    const remote = new RemoteDetectConfigOverrides(srv.url, undefined, 5000, { credentials: testCredentials, region: 'us-east-1' });
    expect(await remote.get('cam1')).toMatchObject({ sampling: 'keyframes', scoreThreshold: 0.8 });
    expect(await remote.get('nope')).toBeNull();

    // DELETE: the file and defaults apply again.
    r = await call('DELETE', 'cam1');
    expect(r.status).toBe(200);
    expect(r.json.override).toBeNull();
    expect(r.json.effective.sampling).toBe(1);
    expect(srv.server.detection!.configOf('cam1')?.sampling).toBe(1);

    // Editing the file is picked up by the periodic config check (a few seconds).
    fs.writeFileSync(configFile, JSON.stringify({ defaults: { sampling: 3 }, streams: {} }));
    fs.utimesSync(configFile, new Date(), new Date(Date.now() + 5000));
    await until(() => srv!.server.detection!.configOf('cam1')?.sampling === 3, 'the file change applied', 20_000);
  }, 60_000);
});
