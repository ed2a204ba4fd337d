import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../../src/events/event-store.ts';
import { nextEvent, startEvent, type TrackObservation } from '../../../src/events/lifecycle.ts';
import { SqliteEventStore } from '../../../src/events/sqlite-event-store.ts';
import { makeBox } from '../../../src/events/types.ts';

const stream = (name: string) => ({ name, arn: `arn:aws:kinesisvideo:us-east-1:111122223333:stream/${name}/1` });
const obs = (t: number, score: number, fragment = 'f1', trackId = 't1'): TrackObservation => ({
  trackId,
  score,
  box: makeBox(10 + t / 1000, 20, 100, 200, 640, 480),
  zone: 'door',
  frameTime: t,
  fragmentNumber: fragment,
  producerTimestamp: t,
  serverTimestamp: t + 50,
});

describe('SqliteEventStore', () => {
  it('upserts start/update/end of one track into one event with its history', () => {
    const store = new SqliteEventStore(new Database(':memory:'));
    const s = startEvent(stream('cam'), obs(1000, 0.6));
    const u = nextEvent(s, 'update', obs(2000, 0.9, 'f2'));
    const e = nextEvent(u, 'end', obs(3000, 0.7, 'f2'));
    expect(store.hasMessage(s)).toBe(false);
    store.record(s);
    expect(store.hasMessage(s)).toBe(true);
    expect(store.hasMessage(u)).toBe(false);
    expect(store.get(s.id)?.state).toBe('start');
    store.record(u);
    const done = store.record(e);
    expect(done).toMatchObject({ id: s.id, state: 'end', startTime: 1000, endTime: 3000, topScore: 0.9, fragmentNumbers: ['f1', 'f2'], zone: 'door' });
    const got = store.get(s.id);
    expect(got?.history.map((h) => h.type)).toEqual(['start', 'update', 'end']);
    expect(got?.latest.after.active).toBe(false);
    expect(got?.history[1]?.before?.score).toBe(0.6);
    // A duplicate message (retry) is ignored; a late update does not reopen the event.
    store.record(u);
    expect(store.get(s.id)?.history).toHaveLength(3);
    store.record({ ...u, serverTimestamp: 9999 });
    expect(store.get(s.id)?.state).toBe('end');
    expect(store.list({ stream: 'cam' }).events).toHaveLength(1);
  });

  it('lists by stream and time range with keyset pagination', () => {
    const store = new SqliteEventStore(new Database(':memory:'));
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) {
      // two events per start time to exercise the (start_time, id) tiebreak
      const ev = startEvent(stream('a'), obs(1000 * Math.floor(i / 2), 0.5, `f${i}`, `t${i}`));
      ids.push(ev.id);
      store.record(ev);
    }
    store.record(startEvent(stream('b'), obs(500, 0.5)));
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = store.list({ stream: 'a', limit: 10, ...(token ? { nextToken: token } : {}) });
      seen.push(...page.events.map((e) => e.id));
      token = page.nextToken;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(25);
    expect([...seen].sort()).toEqual([...ids].sort());
    const starts = seen.map((id) => store.get(id)?.startTime ?? -1);
    expect(starts).toEqual([...starts].sort((x, y) => x - y));

    const ranged = store.list({ stream: 'a', from: 2000, to: 5000 });
    expect(ranged.events.map((e) => e.startTime)).toEqual([2000, 2000, 3000, 3000, 4000, 4000]);
    expect(ranged.nextToken).toBeUndefined();

    const desc = store.list({ stream: 'a', order: 'desc', limit: 4 });
    expect(desc.events.map((e) => e.startTime)).toEqual([12000, 11000, 11000, 10000]);
    const desc2 = store.list({ stream: 'a', order: 'desc', limit: 4, nextToken: desc.nextToken ?? '' });
    expect(desc2.events[0]?.startTime).toBe(10000);
    expect(store.list({ stream: 'b' }).events).toHaveLength(1);
    expect(store.get('nope')).toBeUndefined();
  });

  it('survives reopening the database and rejects bad cursors', () => {
    const db = new Database(':memory:');
    const ev = startEvent(stream('cam'), obs(1, 0.8));
    new SqliteEventStore(db).record(ev);
    expect(new SqliteEventStore(db).get(ev.id)?.topScore).toBe(0.8);
    expect(decodeCursor(encodeCursor(5, 'x'))).toEqual({ startTime: 5, id: 'x' });
    expect(() => decodeCursor('garbage')).toThrow(/nextToken/);
  });
});
