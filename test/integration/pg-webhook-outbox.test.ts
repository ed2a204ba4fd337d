/**
 * The webhook notifier on the PostgreSQL outbox: signed deliveries in order per stream across an
 * outage, and a second notifier (another node, another pool) delivering what a stopped one left.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { nextEvent, startEvent } from '../../src/events/lifecycle.ts';
import type { DetectionEvent } from '../../src/events/types.ts';
import { PgOutbox } from '../../src/notify/pg-outbox.ts';
import { verifySignature } from '../../src/notify/signature.ts';
import { WebhookNotifier } from '../../src/notify/webhook-notifier.ts';
import { openPgPool } from '../../src/store/pg/pg-pool.ts';
import { observation } from '../support/event-store-contract.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';
import { until } from '../support/wait.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';

const SECRET = 'pg-secret';
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

function lifecycle(name: string, n: number, t0: number): DetectionEvent[] {
  const out = [startEvent({ name, arn: `arn:${name}` }, observation(t0, 0.6))];
  for (let i = 1; i <= n; i++) out.push(nextEvent(out.at(-1)!, 'update', observation(t0 + i * 100, 0.7)));
  out.push(nextEvent(out.at(-1)!, 'end', observation(t0 + (n + 1) * 100, 0.7)));
  return out;
}
const key = (e: DetectionEvent) => `${e.id}/${e.type}/${e.frameTime}`;

describe('WebhookNotifier on the PostgreSQL outbox', () => {
  let receiver: WebhookReceiver;
  const cleanups: Array<() => Promise<void>> = [];
  beforeEach(async () => {
    await db.pool.query('TRUNCATE kestrel_webhook_outbox, kestrel_webhook_dead_letters');
    receiver = new WebhookReceiver();
    await receiver.start();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await receiver.stop();
  });

  const notifier = (pool = db.pool, owner?: string) => {
    const n = new WebhookNotifier({
      url: receiver.url, secret: SECRET, outbox: new PgOutbox(pool), backoff: { baseMs: 25, maxMs: 200 }, name: 'hook',
      ...(owner ? { lease: { owner, durationMs: 2_000 } } : {}),
    });
    cleanups.push(() => n.close());
    return n;
  };
  const bodies = () => receiver.received.map((r) => JSON.parse(r.body) as DetectionEvent);

  it('delivers every event once, signed, in order per stream, across a 503 outage', async () => {
    const n = notifier();
    receiver.mode = 'unavailable';
    const cam = lifecycle('cam', 4, 1000);
    const yard = lifecycle('yard', 3, 5000);
    for (let i = 0; i < cam.length; i++) {
      await n.publish(cam[i]!);
      if (yard[i]) await n.publish(yard[i]!);
    }
    await until(() => receiver.rejected >= 4, 'a few refused attempts');
    expect(await n.pendingCount()).toBe(cam.length + yard.length);
    receiver.mode = 'ok';
    await receiver.waitFor(cam.length + yard.length);
    await n.idle();
    expect(await n.pendingCount()).toBe(0);
    for (const r of receiver.received) expect(verifySignature(r.body, SECRET, r.headers['x-kestrel-signature'] as string)).toBe(true);
    expect(bodies().filter((e) => e.stream.name === 'cam').map(key)).toEqual(cam.map(key));
    expect(bodies().filter((e) => e.stream.name === 'yard').map(key)).toEqual(yard.map(key));
    expect(new Set(receiver.received.map((r) => r.headers['x-kestrel-delivery'])).size).toBe(receiver.received.length);
  });

  it('another node delivers what a stopped notifier left in the shared outbox', async () => {
    await receiver.stop();
    const first = notifier();
    const events = lifecycle('cam', 2, 1000);
    for (const e of events) await first.publish(e);
    await first.close();
    const otherPool = openPgPool(db.url, { max: 2 });
    cleanups.push(() => otherPool.end());
    await receiver.start();
    const second = notifier(otherPool);
    await receiver.waitFor(events.length);
    await second.idle();
    expect(bodies().map(key)).toEqual(events.map(key));
  });

  it('two nodes leasing lane heads send every entry exactly once, in order per stream', async () => {
    const otherPool = openPgPool(db.url, { max: 3 });
    cleanups.push(() => otherPool.end());
    receiver.mode = 'unavailable'; // both nodes see every lane before anything can be delivered
    const a = notifier(db.pool, 'node-a');
    const b = notifier(otherPool, 'node-b');
    const lanes = ['s1', 's2', 's3', 's4'].map((name, i) => lifecycle(name, 3, 1000 * (i + 1)));
    for (let i = 0; i < lanes[0]!.length; i++) {
      for (const [k, lane] of lanes.entries()) await (k % 2 ? b : a).publish(lane[i]!);
    }
    await until(() => receiver.rejected >= 4, 'refused attempts from the nodes');
    receiver.mode = 'ok';
    const total = lanes.flat().length;
    await receiver.waitFor(total);
    await a.idle();
    await b.idle();
    expect(receiver.received).toHaveLength(total);
    expect(new Set(receiver.received.map((r) => r.headers['x-kestrel-delivery'])).size).toBe(total);
    for (const lane of lanes) expect(bodies().filter((e) => e.stream.name === lane[0]!.stream.name).map(key)).toEqual(lane.map(key));
  });
});
