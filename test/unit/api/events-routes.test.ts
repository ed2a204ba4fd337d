import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsRouter } from '../../../src/api/events-routes.ts';
import { startEvent, nextEvent, type TrackObservation } from '../../../src/events/lifecycle.ts';
import { SqliteEventStore } from '../../../src/events/sqlite-event-store.ts';
import { makeBox } from '../../../src/events/types.ts';
import { EventFeed } from '../../../src/notify/event-feed.ts';
import { LocalSnapshotStore } from '../../../src/notify/local-snapshot-store.ts';

const stream = { name: 'cam', arn: 'arn:aws:kinesisvideo:us-east-1:000000000000:stream/cam/1' };
const obs = (t: number): TrackObservation => ({
  trackId: '1', score: 0.8, box: makeBox(10, 10, 50, 100, 640, 480), zone: null, frameTime: t, fragmentNumber: String(t), producerTimestamp: t, serverTimestamp: t,
});

let server: http.Server;
let base: string;
let dir: string;
const db = new Database(':memory:');
const store = new SqliteEventStore(db);
const feed = new EventFeed();

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-events-routes-'));
  const snapshots = new LocalSnapshotStore({ dir });
  await snapshots.put('a/b.jpg', Buffer.from([0xff, 0xd8, 0xff, 0xd9]), 'image/jpeg', {});
  const app = express();
  app.use(eventsRouter({ store, feed, snapshots }));
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Reads SSE frames until `n` events arrived. */
async function readSse(url: string, n: number, headers: Record<string, string> = {}): Promise<Array<{ id: string; event: string; data: string }>> {
  const ctl = new AbortController();
  const res = await fetch(url, { headers, signal: ctl.signal });
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const out: Array<{ id: string; event: string; data: string }> = [];
  let buf = '';
  const dec = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += dec.decode(chunk);
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const frame = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const f = Object.fromEntries(frame.split('\n').filter((l) => !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
      if (f.data) out.push({ id: f.id ?? '', event: f.event ?? '', data: f.data });
    }
    if (out.length >= n) break;
  }
  ctl.abort();
  return out;
}

describe('events routes', () => {
  it('lists, gets, streams (Last-Event-ID) and serves local snapshots', async () => {
    const a = startEvent(stream, obs(1000));
    const aEnd = nextEvent(a, 'end', obs(2000));
    const b = startEvent(stream, obs(3000));
    for (const e of [a, aEnd, b]) {
      store.record(e);
      await feed.publish(e);
    }

    const page1 = (await (await fetch(`${base}/api/v1/events?stream=cam&limit=1`)).json()) as { events: Array<{ id: string; state: string }>; nextToken?: string };
    expect(page1.events.map((e) => [e.id, e.state])).toEqual([[a.id, 'end']]);
    const page2 = (await (await fetch(`${base}/api/v1/events?stream=cam&limit=1&nextToken=${page1.nextToken}`)).json()) as { events: Array<{ id: string }>; nextToken?: string };
    expect(page2.events.map((e) => e.id)).toEqual([b.id]);
    expect(page2.nextToken).toBeUndefined();
    const ranged = (await (await fetch(`${base}/api/v1/events?stream=cam&from=2500&to=4000`)).json()) as { events: Array<{ id: string }> };
    expect(ranged.events.map((e) => e.id)).toEqual([b.id]);
    expect((await fetch(`${base}/api/v1/events`)).status).toBe(400);
    expect((await fetch(`${base}/api/v1/events?stream=cam&nextToken=zz`)).status).toBe(400);

    const one = (await (await fetch(`${base}/api/v1/events/${a.id}`)).json()) as { history: Array<{ type: string }> };
    expect(one.history.map((h) => h.type)).toEqual(['start', 'end']);
    expect((await fetch(`${base}/api/v1/events/nope`)).status).toBe(404);

    // Replay after seq 1, then a live one.
    const pending = readSse(`${base}/api/v1/events/stream`, 3, { 'last-event-id': '1' });
    await new Promise((r) => setTimeout(r, 200));
    const c = startEvent(stream, obs(4000));
    await feed.publish(c);
    const got = await pending;
    expect(got.map((g) => [g.id, g.event, (JSON.parse(g.data) as { id: string }).id])).toEqual([
      ['2', 'end', a.id],
      ['3', 'start', b.id],
      ['4', 'start', c.id],
    ]);

    const snap = await fetch(`${base}/snapshots/a/b.jpg`);
    expect(snap.status).toBe(200);
    expect(snap.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await snap.arrayBuffer()).toString('hex')).toBe('ffd8ffd9');
    expect((await fetch(`${base}/snapshots/a/missing.jpg`)).status).toBe(404);
    expect((await fetch(`${base}/snapshots/a/..%2F..%2Fetc/passwd`)).status).toBe(404);
  });
});
