/**
 * `kestrel worker` as a real process, killed with SIGKILL in the middle of an event and started
 * again on the same state dir: every event still reaches the webhook receiver exactly once as
 * `start` and once as `end` (no duplicate, none lost), including the one that was open at the kill
 * and the ones in fragments pushed while the worker was down.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DetectionEvent } from '../../src/events/types.ts';
import { blankClip, createStreams, PEOPLE_MKV, pushMkv, until } from '../support/analyze-helpers.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';
import { signedFetch, testAuthEnv } from '../support/auth.ts';

const BIN = path.resolve('bin/kestrel.js');
const STREAM = 'door';
let srv: TestServer;
let hook: WebhookReceiver;
let stateDir: string;
let worker: ChildProcess | undefined;
/** Every line both worker processes printed, for the failure message. */
const workerLogs: string[] = [];

async function startWorker(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [BIN, 'worker', '--endpoint', srv.url, '--state-dir', stateDir, '--webhook-url', hook.url, '--discovery-interval-ms', '500'],
    { env: { ...process.env, ...testAuthEnv, KESTREL_WEBHOOK_SECRET: 'kill-test' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: string[] = [];
  const run = workerLogs.length ? 'worker 2' : 'worker 1';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start: ${logs.join('\n')}`)), 30_000);
    const onLine = (line: string) => {
      logs.push(line);
      workerLogs.push(`${run} ${new Date().toISOString().slice(11, 23)} ${line}`);
      if (line.includes('detection worker running')) {
        clearTimeout(timer);
        resolve();
      }
    };
    readline.createInterface({ input: child.stdout! }).on('line', onLine);
    readline.createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${logs.join('\n')}`)));
  });
  return child;
}

/** Distinct notifications (a redelivery of the same outbox entry has the same X-Kestrel-Delivery). */
function notifications(): DetectionEvent[] {
  const byDelivery = new Map<string, DetectionEvent>();
  for (const d of hook.received) byDelivery.set(String(d.headers['x-kestrel-delivery']), JSON.parse(d.body) as DetectionEvent);
  return [...byDelivery.values()];
}

const ofType = (type: string) => notifications().filter((e) => e.type === type);
/** until(), with what was received and what the workers said in the error when it times out. */
async function waitFor(cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
  try {
    await until(cond, what, timeoutMs);
  } catch (err) {
    const got = notifications().map((e) => `${e.type} ${e.id} frame ${e.after.frameTime - testT0} fragment ${e.after.fragmentNumber}`);
    throw new Error(`${(err as Error).message}\nnotifications:\n${got.join('\n')}\nworker logs:\n${workerLogs.slice(-200).join('\n')}`);
  }
}
let testT0 = 0;

const allEnded = () => ofType('start').length > 0 && ofType('start').every((s) => ofType('end').some((e) => e.id === s.id));

beforeAll(async () => {
  srv = await startTestServer();
  hook = new WebhookReceiver();
  await hook.start();
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-worker-kill-'));
  await createStreams(srv.url, STREAM);
  // Events end 1 s (producer time) after the person was last seen: within each 2 s blank clip.
  const res = await signedFetch(`${srv.url}/api/v1/streams/${STREAM}/detection`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ endAfterMs: 1000 }),
  });
  expect(res.status).toBe(200);
});

afterAll(async () => {
  worker?.kill('SIGKILL');
  await hook?.stop();
  await srv?.close();
});

describe('kestrel worker killed mid-event', () => {
  it('delivers every start and end exactly once across a SIGKILL and restart', async () => {
    const people = fs.readFileSync(PEOPLE_MKV);
    const blank = await blankClip(stateDir);
    const t0 = Date.now();
    testT0 = t0;
    worker = await startWorker();
    // The worker follows the stream from NOW: push only once its GetMedia is open, or it starts after round 1.
    await until(() => srv.server.getMediaReaders!() >= 1, "the worker's GetMedia to be open", 60_000);

    // Round 1: people, then nobody: events start and end.
    await pushMkv(srv.url, STREAM, people, t0);
    await pushMkv(srv.url, STREAM, blank, t0 + 3000);
    await waitFor(allEnded, 'round 1 events to start and end', 90_000);
    const round1 = ofType('start').length;

    // Round 2: people again; kill the worker as soon as a round-2 event has started (it is open).
    await pushMkv(srv.url, STREAM, people, t0 + 6000);
    await waitFor(() => ofType('start').some((e) => e.after.frameTime >= t0 + 6000), 'a round 2 start', 90_000);
    worker.kill('SIGKILL');
    await new Promise((r) => worker!.once('exit', r));
    // While it is down: the people leave (round 2 ends) and come back (round 3).
    await pushMkv(srv.url, STREAM, blank, t0 + 9000);
    await pushMkv(srv.url, STREAM, people, t0 + 12_000);
    await pushMkv(srv.url, STREAM, blank, t0 + 15_000);

    worker = await startWorker();
    await waitFor(() => allEnded() && ofType('start').some((e) => e.after.frameTime >= t0 + 12_000), 'round 3 events to start and end after the restart', 120_000);
    // Let anything late (a duplicate would be late) arrive before judging.
    await new Promise((r) => setTimeout(r, 3000));

    const starts = ofType('start');
    const ends = ofType('end');
    expect(round1).toBeGreaterThan(0);
    expect(starts.some((e) => e.after.frameTime >= t0 + 6000 && e.after.frameTime < t0 + 9000)).toBe(true);
    // Exactly one start and one end per event, and every end belongs to a start.
    expect(new Set(starts.map((e) => e.id)).size).toBe(starts.length);
    expect(new Set(ends.map((e) => e.id)).size).toBe(ends.length);
    expect(ends.map((e) => e.id).sort()).toEqual(starts.map((e) => e.id).sort());
    // No person detected twice because a fragment was analysed again after the restart.
    const firstSeen = starts.map((e) => `${e.after.frameTime}/${Math.round(e.after.box.x / 8)}/${Math.round(e.after.box.y / 8)}`);
    expect(new Set(firstSeen).size).toBe(firstSeen.length);
  }, 300_000);
});
