import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsRouter } from '../../../src/api/events-routes.ts';
import { nextEvent, startEvent, type TrackObservation } from '../../../src/events/lifecycle.ts';
import { SqliteEventStore } from '../../../src/events/sqlite-event-store.ts';
import { makeBox } from '../../../src/events/types.ts';
import { EventFeed } from '../../../src/notify/event-feed.ts';
import { LocalSnapshotStore } from '../../../src/notify/local-snapshot-store.ts';

const ref = (name: string) => ({ name, arn: `arn:aws:kinesisvideo:us-east-1:000000000000:stream/${name}/1` });
const obs = (t: number): TrackObservation => ({
  trackId: '1', score: 0.8, box: makeBox(10, 10, 50, 100, 640, 480), zone: null, frameTime: t, fragmentNumber: String(t), producerTimestamp: t, serverTimestamp: t,
});

let server: http.Server;
let base: string;
const db = new Database(':memory:');
const store = new SqliteEventStore(db);

beforeAll(async () => {
  const app = express();
  app.use(eventsRouter({ store, feed: new EventFeed(), snapshots: new LocalSnapshotStore({ dir: os.tmpdir() }) }));
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  db.close();
});

describe('GET /api/v1/events/summary', () => {
  it('counts events per stream since a time, and the ones still open', async () => {
    const old = startEvent(ref('cam'), obs(1000));
    const ended = startEvent(ref('cam'), obs(5000));
    const open = startEvent(ref('cam'), obs(6000));
    const other = startEvent(ref('yard'), obs(7000));
    for (const e of [old, ended, nextEvent(ended, 'end', obs(5500)), open, other]) store.record(e);

    const res = await fetch(`${base}/api/v1/events/summary?streams=cam,yard,none&since=2000`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { since: number; streams: Record<string, { count: number; active: number; more: boolean; latestStartTime: number | null }> };
    expect(body.since).toBe(2000);
    expect(body.streams.cam).toEqual({ count: 2, active: 1, more: false, latestStartTime: 6000 });
    expect(body.streams.yard).toEqual({ count: 1, active: 1, more: false, latestStartTime: 7000 });
    expect(body.streams.none).toEqual({ count: 0, active: 0, more: false, latestStartTime: null });
    // Not taken for an event id.
    expect((await fetch(`${base}/api/v1/events/summary?since=x`)).status).toBe(400);
    const many = Array.from({ length: 201 }, (_, i) => `s${i}`).join(',');
    expect((await fetch(`${base}/api/v1/events/summary?streams=${many}`)).status).toBe(400);
  });
});
