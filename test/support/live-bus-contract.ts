/**
 * The LiveBus contract, run against every implementation: `liveBusContract('nats', open)`, where
 * `open()` returns a fresh bus "world" whose `handle()` gives independent handles on the same bus
 * (two handles behave like two nodes).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FragmentAnnouncement, LiveBus } from '../../src/bus/live-bus.ts';
import type { FragmentRecord } from '../../src/store/types.ts';
import { until } from './wait.ts';

export interface BusWorld {
  handle(): Promise<LiveBus>;
  close(): Promise<void>;
}

export function announcement(streamId: number, n: number, nodeId = 'node-a'): FragmentAnnouncement {
  const record: FragmentRecord = {
    streamId,
    fragmentNumber: String(91343852333181432392682062607743920146159169392n + BigInt(n)),
    producerTimestampMs: 1_700_000_000_000 + n * 1000,
    serverTimestampMs: 1_700_000_000_100 + n * 1000,
    durationMs: 1000,
    sizeBytes: 25_000 + n,
    headerId: 7,
    location: { segment: '00000003', offset: n * 25_000, length: 25_000 + n },
    tags: { camera: 'door' },
    flags: 0,
  };
  return { nodeId, streamName: `cam.${streamId}`, record };
}

export function liveBusContract(name: string, open: () => Promise<BusWorld>): void {
  describe(`LiveBus contract: ${name}`, () => {
    let world: BusWorld;
    beforeEach(async () => {
      world = await open();
    });
    afterEach(async () => {
      await world.close();
    });

    it('delivers an announcement, unchanged, to a subscriber on another handle', async () => {
      const [a, b] = [await world.handle(), await world.handle()];
      const got: FragmentAnnouncement[] = [];
      b.subscribe(42, (x) => got.push(x));
      const sent = announcement(42, 1);
      await until(async () => {
        a.publish(sent); // resend until the subscription is live on the server (NATS subscribes asynchronously)
        await b.check();
        return got.length > 0;
      }, 'first announcement');
      expect(got[0]).toEqual(sent);
      expect(a.stats.published).toBeGreaterThan(0);
      expect(b.stats.received).toBe(got.length);
    });

    it('onReady: an announcement published from then on reaches the subscriber, without a resend', async () => {
      const [a, b] = [await world.handle(), await world.handle()];
      const got: FragmentAnnouncement[] = [];
      const sent = announcement(43, 1);
      let ready = 0;
      b.subscribe(43, (x) => got.push(x), () => {
        ready++;
        a.publish(sent);
      });
      await until(() => got.length > 0, 'the announcement published once the subscription held', 10_000);
      expect(ready).toBe(1);
      expect(got).toEqual([sent]);
    });

    it('keeps per-stream order and delivers only the subscribed stream', async () => {
      const [a, b] = [await world.handle(), await world.handle()];
      const s1: string[] = [];
      const s2: string[] = [];
      b.subscribe(1, (x) => s1.push(x.record.fragmentNumber));
      b.subscribe(2, (x) => s2.push(x.record.fragmentNumber));
      await a.check();
      await b.check();
      const sent = Array.from({ length: 50 }, (_, i) => announcement(1, i));
      for (const x of sent) a.publish(x);
      await until(() => s1.length === 50, 'fifty announcements on stream 1', 10_000);
      expect(s1).toEqual(sent.map((x) => x.record.fragmentNumber));
      expect(s2).toEqual([]);
    });

    it('fans out to every subscriber on every handle, including the publisher', async () => {
      const [a, b, c] = [await world.handle(), await world.handle(), await world.handle()];
      const got = { a: 0, b1: 0, b2: 0, c: 0 };
      a.subscribe(5, () => got.a++);
      b.subscribe(5, () => got.b1++);
      b.subscribe(5, () => got.b2++);
      c.subscribe(5, () => got.c++);
      for (const h of [a, b, c]) await h.check();
      a.publish(announcement(5, 1));
      await until(() => got.a === 1 && got.b1 === 1 && got.b2 === 1 && got.c === 1, 'one delivery per subscriber', 10_000);
    });

    it('stops delivering after unsubscribe', async () => {
      const [a, b] = [await world.handle(), await world.handle()];
      const got: string[] = [];
      const off = b.subscribe(9, (x) => got.push(x.record.fragmentNumber));
      const marker: string[] = [];
      b.subscribe(10, (x) => marker.push(x.record.fragmentNumber));
      await b.check();
      a.publish(announcement(9, 1));
      await until(() => got.length === 1, 'first delivery', 10_000);
      off();
      a.publish(announcement(9, 2));
      a.publish(announcement(10, 3)); // published after: once it arrives, the stream-9 one would have too
      await until(() => marker.length === 1, 'marker delivery', 10_000);
      expect(got).toHaveLength(1);
    });

    it('reports itself connected, and refuses publishing cleanly once closed', async () => {
      const a = await world.handle();
      expect(a.health().state).toBe('connected');
      await expect(a.check()).resolves.toBeUndefined();
      await a.close();
      expect(a.health().state).toBe('closed');
      expect(() => a.publish(announcement(1, 1))).toThrow(expect.objectContaining({ code: 'BUS_DOWN' }));
      await expect(a.check()).rejects.toMatchObject({ code: 'BUS_DOWN' });
      expect(a.stats.publishFailed).toBe(1);
    });
  });
}
