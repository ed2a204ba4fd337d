/**
 * `importWorkStores`: a single-node data folder's work stores, copied into PostgreSQL, read back the
 * same through the PostgreSQL implementations; a second run copies nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateWebhookSecret } from '../../src/app-detection.ts';
import { importWorkStores } from '../../src/app-work-import.ts';
import { createWorkStores, type WorkStores } from '../../src/app-work-stores.ts';
import { resolveDetectConfig } from '../../src/detect/detect-config.ts';
import { nextEvent, startEvent } from '../../src/events/lifecycle.ts';
import { loadOrCreateSessionSecret } from '../../src/store/session-secret.ts';
import { observation } from '../support/event-store-contract.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

let pgdb: TestDatabase;
let dir: string;
beforeAll(async () => {
  pgdb = await createTestDatabase();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-import-'));
});
afterAll(async () => {
  await pgdb?.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function fill(s: WorkStores): Promise<void> {
  const ev = startEvent({ name: 'cam', arn: 'arn:cam' }, observation(1000, 0.6));
  await s.events.record(ev);
  await s.events.record(nextEvent(ev, 'end', observation(2000, 0.8)));
  await s.jobs.create({ id: 'job-1', request: { stream: 'cam', startMs: 0, endMs: 5000 }, config: resolveDetectConfig({ enabled: true }), createdAt: 10 });
  await s.jobs.markRunning('job-1', ['f1', 'f2'], 11);
  const frame = { fragmentNumber: 'f1', timestampMs: 1000, serverTimestampMs: 1005, detected: true, sourceWidth: 64, sourceHeight: 48, detections: [] };
  await s.jobs.commit('job-1', { position: 1, open: [], replayFrom: 1, frames: [frame], events: [{ ...startEvent({ name: 'cam', arn: 'arn:cam' }, observation(1500, 0.7)), jobId: 'job-1' }] });
  const a = await s.outbox.enqueue({ target: 'w', stream: 'cam', eventId: 'e1', body: '{"n":1}', now: 1 });
  await s.outbox.enqueue({ target: 'w', stream: 'cam', eventId: 'e2', body: '{"n":2}', now: 2 });
  const dead = await s.outbox.enqueue({ target: 'w', stream: 'yard', eventId: 'e3', body: '{"n":3}', now: 3 });
  await s.outbox.deadLetter(dead, 10, 'HTTP 503', 4);
  await s.outbox.failed(a, 2, 50, 'timeout');
  await s.outbox.delivered(await s.outbox.enqueue({ target: 'w', stream: 'gone', eventId: 'e4', body: '{}', now: 5 }));
  await s.detectConfig.set('cam', { scoreThreshold: 0.8 });
}

/** Everything a node reads from the work stores, through the ports. */
async function snapshot(s: WorkStores) {
  const live = await s.events.list({ stream: 'cam' });
  return {
    live,
    history: await Promise.all(live.events.map((e) => s.events.get(e.id))),
    jobEvents: await s.events.list({ job: 'job-1' }),
    job: await s.jobs.get('job-1'),
    frames: await s.jobs.frames('job-1'),
    heads: await s.outbox.heads('w'),
    pending: await s.outbox.pendingTotal(),
    dead: await s.outbox.deadLetters('w'),
    config: await s.detectConfig.get('cam'),
    checkpoint: await s.checkpoints.load('cam'),
  };
}

describe('importing a data folder\'s work stores into PostgreSQL', () => {
  it('copies rows and secrets once; PostgreSQL then reads exactly what SQLite did', async () => {
    fs.writeFileSync(path.join(dir, 'detect-checkpoints.json'), JSON.stringify({ cam: { token: 'tok-7', open: [] } }));
    const db = new Database(path.join(dir, 'index.sqlite'));
    const lite = createWorkStores({ kind: 'sqlite', db, dataDir: dir });
    await fill(lite);
    const sessionKey = await loadOrCreateSessionSecret(lite.secrets);
    const hookKey = (await loadOrCreateWebhookSecret(lite.secrets)).secret;
    const before = await snapshot(lite);
    expect(before.checkpoint?.token).toBe('tok-7');

    const first = await importWorkStores({ db, dataDir: dir, pool: pgdb.pool });
    expect(first.rows).toMatchObject({ kestrel_events: 2, kestrel_event_messages: 3, kestrel_jobs: 1, kestrel_job_frames: 1, kestrel_webhook_outbox: 2, kestrel_webhook_dead_letters: 1, kestrel_detect_config: 1, kestrel_detect_checkpoints: 1 });
    expect(first.secrets).toEqual({ 'session-secret': 'copied', 'webhook-secret': 'copied' });

    const pgStores = createWorkStores({ kind: 'postgres', pool: pgdb.pool });
    expect(await snapshot(pgStores)).toEqual(before);
    expect((await loadOrCreateSessionSecret(pgStores.secrets)).equals(sessionKey)).toBe(true);
    expect((await loadOrCreateWebhookSecret(pgStores.secrets)).secret).toBe(hookKey);

    const again = await importWorkStores({ db, dataDir: dir, pool: pgdb.pool });
    expect(Object.values(again.rows).every((n) => n === 0)).toBe(true);
    expect(again.secrets).toEqual({ 'session-secret': 'kept', 'webhook-secret': 'kept' });
    // New entries never reuse a seq SQLite handed out (a delivered one's X-Kestrel-Delivery included).
    const next = await pgStores.outbox.enqueue({ target: 'w', stream: 'new', eventId: 'e9', body: '{}', now: 9 });
    expect(next).toBe(5);
    db.close();
  });
});
