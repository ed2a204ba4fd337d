/** The NATS bus against the real server (contract), and against a private nats-server it stops and restarts. */
import { afterEach, describe, expect, it } from 'vitest';
import { NatsLiveBus } from '../../../src/bus/nats-live-bus.ts';
import { silentLogger } from '../../../src/shared/logger.ts';
import { announcement, liveBusContract } from '../../support/live-bus-contract.ts';
import { NATS_URL, PrivateNatsServer, freePort, freshSubjectPrefix } from '../../support/nats.ts';
import { until } from '../../support/wait.ts';

liveBusContract('nats', async () => {
  const subjectPrefix = freshSubjectPrefix();
  const handles: NatsLiveBus[] = [];
  return {
    handle: async () => {
      const h = new NatsLiveBus({ url: NATS_URL, log: silentLogger(), subjectPrefix });
      handles.push(h);
      await h.connected(5000);
      return h;
    },
    close: async () => {
      for (const h of handles) await h.close();
    },
  };
});

describe('NatsLiveBus failures', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('reports a clean error while NATS is unreachable, and connects by itself once it is there', async () => {
    const server = new PrivateNatsServer(await freePort());
    cleanup.push(() => server.stop());
    const bus = new NatsLiveBus({ url: server.url, log: silentLogger(), connectTimeoutMs: 500, retryWaitMs: 100 });
    cleanup.push(() => bus.close());
    // Nothing listens yet: a clean error at once, not a hang.
    await until(() => bus.health().state === 'down', 'bus reported down', 10_000);
    expect(() => bus.publish(announcement(1, 1))).toThrow(expect.objectContaining({ code: 'BUS_DOWN' }));
    await expect(bus.check()).rejects.toMatchObject({ code: 'BUS_DOWN' });
    await expect(bus.connected(200)).rejects.toMatchObject({ code: 'BUS_DOWN' });
    // A subscription made while down is created once connected.
    const got: string[] = [];
    let resyncs = 0;
    bus.subscribe(1, (a) => got.push(a.record.fragmentNumber));
    bus.onResync(() => resyncs++);
    await server.start();
    await bus.connected(10_000);
    expect(resyncs).toBe(1); // it subscribed while down: whatever was stored meanwhile must be re-read
    const other = new NatsLiveBus({ url: server.url, log: silentLogger() });
    cleanup.push(() => other.close());
    await other.connected(5000);
    await bus.check();
    other.publish(announcement(1, 2));
    await until(() => got.length === 1, 'delivery after the first connection', 10_000);
  });

  it('survives a NATS restart: errors while it is gone, resync and delivery once it is back', async () => {
    const server = new PrivateNatsServer(await freePort());
    cleanup.push(() => server.stop());
    await server.start();
    const opts = { url: server.url, log: silentLogger(), retryWaitMs: 100, pingIntervalMs: 1000 };
    const publisher = new NatsLiveBus(opts);
    const reader = new NatsLiveBus(opts);
    cleanup.push(() => publisher.close(), () => reader.close());
    await publisher.connected(5000);
    await reader.connected(5000);
    const got: string[] = [];
    let resyncs = 0;
    reader.subscribe(7, (a) => got.push(a.record.fragmentNumber));
    reader.onResync(() => resyncs++);
    await reader.check();
    publisher.publish(announcement(7, 1));
    await until(() => got.length === 1, 'delivery before the restart', 10_000);

    await server.stop();
    await until(() => publisher.health().state !== 'connected' && reader.health().state !== 'connected', 'both saw the loss', 10_000);
    expect(() => publisher.publish(announcement(7, 2))).toThrow(expect.objectContaining({ code: 'BUS_DOWN' }));
    expect(publisher.stats.publishFailed).toBe(1);

    await server.start();
    await until(() => publisher.health().state === 'connected' && reader.health().state === 'connected', 'both reconnected', 20_000);
    expect(resyncs).toBe(1);
    expect(reader.stats.reconnects).toBe(1);
    // The client re-created the subscription: new announcements flow again.
    await until(async () => {
      publisher.publish(announcement(7, 3));
      await reader.check();
      return got.includes(announcement(7, 3).record.fragmentNumber);
    }, 'delivery after the restart', 10_000);
    expect(got).not.toContain(announcement(7, 2).record.fragmentNumber);
  });
});
