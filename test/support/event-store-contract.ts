/**
 * The EventStore contract, run against every implementation (SQLite in test/unit/events, PostgreSQL in
 * test/integration/pg-work-stores.test.ts): `eventStoreContract('sqlite', async () => ({ store, close }))`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventStore } from '../../src/events/event-store.ts';
import { nextEvent, startEvent, type TrackObservation } from '../../src/events/lifecycle.ts';
import { makeBox } from '../../src/events/types.ts';

export interface EventStoreSubject {
  store: EventStore;
  close(): Promise<void> | void;
}

const stream = (name: string) => ({ name, arn: `arn:aws:kinesisvideo:us-east-1:111122223333:stream/${name}/1` });
export const observation = (t: number, score: number, fragment = 'f1', trackId = 't1'): TrackObservation => ({
  trackId,
  score,
  box: makeBox(10 + t / 1000, 20, 100, 200, 640, 480),
  zone: 'door',
  frameTime: t,
  fragmentNumber: fragment,
  producerTimestamp: t,
  serverTimestamp: t + 50,
});

export function eventStoreContract(name: string, open: () => Promise<EventStoreSubject>): void {
  describe(`EventStore contract: ${name}`, () => {
    let subject: EventStoreSubject;
    let store: EventStore;
    beforeEach(async () => {
      subject = await open();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.close();
    });

    it('upserts start/update/end of one track into one event with its history', async () => {
      const s = startEvent(stream('cam'), observation(1000, 0.6));
      const u = nextEvent(s, 'update', observation(2000, 0.9, 'f2'));
      const e = nextEvent(u, 'end', observation(3000, 0.7, 'f2'));
      expect(await store.hasMessage(s)).toBe(false);
      await store.record(s);
      expect(await store.hasMessage(s)).toBe(true);
      expect(await store.hasMessage(u)).toBe(false);
      expect((await store.get(s.id))?.state).toBe('start');
      await store.record(u);
      const done = await store.record(e);
      expect(done).toMatchObject({ id: s.id, state: 'end', startTime: 1000, endTime: 3000, topScore: 0.9, fragmentNumbers: ['f1', 'f2'], zone: 'door' });
      const got = await store.get(s.id);
      expect(got?.history.map((h) => h.type)).toEqual(['start', 'update', 'end']);
      expect(got?.latest.after.active).toBe(false);
      expect(got?.history[1]?.before?.score).toBe(0.6);
      expect(got?.history[0]).toEqual(s);
      // A duplicate message (retry) is ignored; a late update does not reopen the event.
      expect(await store.record(u)).toEqual(done);
      expect((await store.get(s.id))?.history).toHaveLength(3);
      await store.record({ ...u, serverTimestamp: 9999 });
      expect((await store.get(s.id))?.state).toBe('end');
      expect((await store.list({ stream: 'cam' })).events).toHaveLength(1);
    });

    it('lists by stream and time range with keyset pagination, both orders', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) {
        // two events per start time to exercise the (start_time, id) tiebreak
        const ev = startEvent(stream('a'), observation(1000 * Math.floor(i / 2), 0.5, `f${i}`, `t${i}`));
        ids.push(ev.id);
        await store.record(ev);
      }
      await store.record(startEvent(stream('b'), observation(500, 0.5)));
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await store.list({ stream: 'a', limit: 10, ...(token ? { nextToken: token } : {}) });
        seen.push(...page.events.map((e) => e.id));
        token = page.nextToken;
        pages++;
      } while (token);
      expect(pages).toBe(3);
      expect(new Set(seen).size).toBe(25);
      expect([...seen].sort()).toEqual([...ids].sort());
      const starts = await Promise.all(seen.map(async (id) => (await store.get(id))?.startTime ?? -1));
      expect(starts).toEqual([...starts].sort((x, y) => x - y));

      const ranged = await store.list({ stream: 'a', from: 2000, to: 5000 });
      expect(ranged.events.map((e) => e.startTime)).toEqual([2000, 2000, 3000, 3000, 4000, 4000]);
      expect(ranged.nextToken).toBeUndefined();

      const desc = await store.list({ stream: 'a', order: 'desc', limit: 4 });
      expect(desc.events.map((e) => e.startTime)).toEqual([12000, 11000, 11000, 10000]);
      const desc2 = await store.list({ stream: 'a', order: 'desc', limit: 4, nextToken: desc.nextToken ?? '' });
      expect(desc2.events[0]?.startTime).toBe(10000);
      expect(desc2.events.map((e) => e.id)).not.toContain(desc.events[3]?.id);
      expect((await store.list({ stream: 'b' })).events).toHaveLength(1);
      expect(await store.get('nope')).toBeUndefined();
      await expect(store.list({ stream: 'a', nextToken: 'garbage' })).rejects.toThrow(/nextToken/);
    });

    it('orders ids that differ in case and punctuation the same way (byte order)', async () => {
      const names = ['b', 'B', 'a-1', 'a_1', 'A', 'a'];
      for (const id of names) await store.record(startEvent(stream('ids'), observation(7000, 0.5), null, id));
      const page1 = await store.list({ stream: 'ids', limit: 3 });
      const page2 = await store.list({ stream: 'ids', limit: 3, nextToken: page1.nextToken ?? '' });
      expect([...page1.events, ...page2.events].map((e) => e.id)).toEqual([...names].sort());
    });

    it('keeps job events apart from live ones', async () => {
      await store.record(startEvent(stream('cam'), observation(1000, 0.5)));
      const jobEv = { ...startEvent(stream('cam'), observation(2000, 0.5)), jobId: 'job-1' };
      await store.record(jobEv);
      expect((await store.list({ stream: 'cam' })).events.map((e) => e.jobId)).toEqual([undefined]);
      expect((await store.list({ job: 'job-1' })).events.map((e) => e.id)).toEqual([jobEv.id]);
      expect((await store.list({ stream: 'cam', job: 'job-1' })).events).toHaveLength(1);
      expect((await store.list({ job: 'job-2' })).events).toEqual([]);
    });

    it('folds messages of one event recorded at the same time without losing any', async () => {
      const s = startEvent(stream('cam'), observation(1000, 0.5));
      await store.record(s);
      const updates = [2, 3, 4, 5, 6].map((k) => nextEvent(s, 'update', observation(k * 1000, 0.5 + k / 100, `f${k}`)));
      await Promise.all(updates.map((u) => store.record(u)));
      const got = await store.get(s.id);
      expect(got?.history).toHaveLength(6);
      expect([...(got?.fragmentNumbers ?? [])].sort()).toEqual(['f1', 'f2', 'f3', 'f4', 'f5', 'f6']);
      expect(got?.topScore).toBeCloseTo(0.56);
    });
  });
}
