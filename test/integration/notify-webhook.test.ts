import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nextEvent, startEvent, type TrackObservation } from '../../src/events/lifecycle.ts';
import { makeBox, type DetectionEvent } from '../../src/events/types.ts';
import { SqliteOutbox } from '../../src/notify/outbox.ts';
import { verifySignature } from '../../src/notify/signature.ts';
import { WebhookNotifier, type WebhookNotifierOptions } from '../../src/notify/webhook-notifier.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';

const SECRET = 'test-secret';
const stream = (name: string) => ({ name, arn: `arn:aws:kinesisvideo:us-east-1:111122223333:stream/${name}/1` });
const obs = (t: number, trackId = 't1'): TrackObservation => ({
  trackId,
  score: 0.8,
  box: makeBox(10, 10, 50, 100, 640, 480),
  zone: null,
  frameTime: t,
  fragmentNumber: `9134${t}`,
  producerTimestamp: t,
  serverTimestamp: t + 10,
});

/** start, n updates, end for one track. */
function lifecycle(name: string, n: number, t0 = 1000): DetectionEvent[] {
  const out = [startEvent(stream(name), obs(t0))];
  for (let i = 1; i <= n; i++) out.push(nextEvent(out.at(-1) as DetectionEvent, 'update', obs(t0 + i * 100)));
  out.push(nextEvent(out.at(-1) as DetectionEvent, 'end', obs(t0 + (n + 1) * 100)));
  return out;
}

const key = (e: DetectionEvent) => `${e.id}/${e.type}/${e.frameTime}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

describe('WebhookNotifier against a real HTTP receiver', () => {
  let dir: string;
  let receiver: WebhookReceiver;
  const cleanups: Array<() => Promise<void> | void> = [];

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kestrel-webhook-'));
    receiver = new WebhookReceiver();
    await receiver.start();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await receiver.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function open(opts: Partial<WebhookNotifierOptions> = {}): { notifier: WebhookNotifier; db: Database.Database } {
    const db = new Database(path.join(dir, 'kestrel.db'));
    db.pragma('journal_mode = WAL');
    const notifier = new WebhookNotifier({ url: receiver.url, secret: SECRET, outbox: new SqliteOutbox(db), backoff: { baseMs: 25, maxMs: 200 }, name: 'hook', ...opts });
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await notifier.close();
      db.close();
    };
    cleanups.push(close);
    return { notifier, db };
  }

  const bodies = () => receiver.received.map((r) => JSON.parse(r.body) as DetectionEvent);

  it('POSTs signed JSON with timestamp and delivery headers', async () => {
    const { notifier } = open();
    const events = lifecycle('cam', 1);
    for (const e of events) await notifier.publish(e);
    await receiver.waitFor(3);
    await notifier.idle();
    for (const r of receiver.received) {
      expect(r.headers['content-type']).toBe('application/json');
      expect(verifySignature(r.body, SECRET, r.headers['x-kestrel-signature'] as string)).toBe(true);
      expect(verifySignature(r.body, 'wrong', r.headers['x-kestrel-signature'] as string)).toBe(false);
      expect(Math.abs(Number(r.headers['x-kestrel-timestamp']) - Date.now())).toBeLessThan(10_000);
      expect(r.headers['x-kestrel-delivery']).toMatch(/^\d+$/);
    }
    expect(bodies().map(key)).toEqual(events.map(key));
    expect(bodies()[1]).toMatchObject({ type: 'update', before: { score: 0.8 }, after: { active: true } });
    expect(await notifier.pendingCount()).toBe(0);
  });

  it('loses nothing over a 503 then connection-refused outage: every event exactly once, in order per stream', async () => {
    const { notifier } = open();
    receiver.mode = 'unavailable';
    const cam = lifecycle('cam', 8, 1000);
    const yard = lifecycle('yard', 5, 5000);
    for (let i = 0; i < Math.max(cam.length, yard.length); i++) {
      if (cam[i]) await notifier.publish(cam[i] as DetectionEvent);
      if (yard[i]) await notifier.publish(yard[i] as DetectionEvent);
    }
    await until(() => receiver.rejected >= 4);
    await receiver.stop(); // now connection refused
    await sleep(300);
    expect(receiver.received).toHaveLength(0);
    expect(await notifier.pendingCount()).toBe(cam.length + yard.length);
    receiver.mode = 'ok';
    await receiver.start();
    await receiver.waitFor(cam.length + yard.length);
    await notifier.idle();
    await sleep(200);
    const got = bodies();
    expect(got).toHaveLength(cam.length + yard.length);
    expect(new Set(receiver.received.map((r) => r.headers['x-kestrel-delivery'])).size).toBe(got.length);
    expect(got.filter((e) => e.stream.name === 'cam').map(key)).toEqual(cam.map(key));
    expect(got.filter((e) => e.stream.name === 'yard').map(key)).toEqual(yard.map(key));
    expect(await notifier.deadLetters()).toEqual([]);
  });

  it('a new notifier on the same database delivers what a stopped one left in the outbox', async () => {
    await receiver.stop();
    const first = open();
    const events = lifecycle('cam', 3);
    for (const e of events) await first.notifier.publish(e);
    await until(() => (first.db.prepare('SELECT MAX(attempts) AS a FROM kestrel_webhook_outbox').get() as { a: number }).a >= 2);
    await first.notifier.close();
    first.db.close();

    await receiver.start();
    const second = open();
    await receiver.waitFor(events.length);
    await second.notifier.idle();
    await sleep(200);
    expect(bodies().map(key)).toEqual(events.map(key));
    expect(await second.notifier.pendingCount()).toBe(0);
  });

  it('dead-letters after maxAttempts without blocking the lane, and can retry a dead letter', async () => {
    const { notifier } = open({ maxAttempts: 3, backoff: { baseMs: 10, maxMs: 20 } });
    receiver.mode = 'unavailable';
    const [a, b] = lifecycle('cam', 0);
    await notifier.publish(a as DetectionEvent);
    await notifier.publish(b as DetectionEvent);
    await until(async () => (await notifier.deadLetters()).length === 2);
    expect(receiver.rejected).toBe(6);
    const dead = await notifier.deadLetters();
    expect(dead.map((d) => d.eventId)).toEqual([a?.id, b?.id]);
    expect(dead[0]).toMatchObject({ attempts: 3, lastError: 'HTTP 503', stream: 'cam' });
    expect(await notifier.pendingCount()).toBe(0);

    receiver.mode = 'ok';
    expect(await notifier.retryDeadLetter(dead[0]?.seq ?? -1)).toBe(true);
    await receiver.waitFor(1);
    await notifier.idle();
    expect(bodies().map(key)).toEqual([key(a as DetectionEvent)]);
    expect(await notifier.deadLetters()).toHaveLength(1);
  });

  it('a failing stream lane does not hold up other streams', async () => {
    const { notifier } = open({ backoff: { baseMs: 50, maxMs: 100 } });
    receiver.rejectIf = (body) => (JSON.parse(body) as DetectionEvent).stream.name === 'broken';
    const broken = lifecycle('broken', 1);
    const fine = lifecycle('fine', 3);
    for (const e of broken) await notifier.publish(e);
    for (const e of fine) await notifier.publish(e);
    await receiver.waitFor(fine.length);
    expect(bodies().map(key)).toEqual(fine.map(key));
    await until(async () => (await notifier.pendingCount()) === broken.length);
    expect(receiver.rejected).toBeGreaterThan(0);
    receiver.rejectIf = undefined;
    await receiver.waitFor(fine.length + broken.length);
    expect(bodies().slice(fine.length).map(key)).toEqual(broken.map(key));
  });
});
