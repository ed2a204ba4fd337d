/**
 * A node started with a live bus: /readyz reports the bus (503 "bus: not reachable" while NATS is
 * away, ready again once it is back, without a restart), /metrics shows the bus counters, and a
 * PERSISTED fragment is announced on the bus for other nodes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { NatsLiveBus } from '../../src/bus/nats-live-bus.ts';
import type { FragmentAnnouncement } from '../../src/bus/live-bus.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { createStream } from '../support/live-push.ts';
import { PrivateNatsServer, freePort } from '../support/nats.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { mkvClusters, mkvHeader } from '../support/synthetic-mkv.ts';
import { eventually, until } from '../support/wait.ts';

const TOKEN = 'bus-metrics-token-0123456789';

async function readyz(srv: TestServer): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${srv.url}/readyz`);
  return { status: res.status, body: await res.json() };
}

async function metricsText(srv: TestServer): Promise<string> {
  return (await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
}

describe('a node with --bus', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('starts while NATS is down, reports it on /readyz, and recovers by itself', async () => {
    const nats = new PrivateNatsServer(await freePort());
    cleanup.push(() => nats.stop());
    const srv = await startTestServer({ bus: { url: nats.url }, ops: { metricsToken: TOKEN } });
    cleanup.push(() => srv.close());

    const down = await eventually(() => readyz(srv), (r) => r.status === 503, 'readyz 503 while NATS is down', 10_000);
    expect(down.body).toEqual({ status: 'not ready', failing: ['bus: not reachable (BUS_DOWN)'] });
    expect(await metricsText(srv)).toContain('kestrel_bus_connected 0');

    await nats.start();
    await eventually(() => readyz(srv), (r) => r.status === 200, 'readyz 200 once NATS is up', 20_000);

    // Announcements flow: another "node" subscribed to the stream hears of a PUT fragment.
    await createStream(srv.url, 'bus-ready');
    const listener = new NatsLiveBus({ url: nats.url, log: silentLogger() });
    cleanup.push(() => listener.close());
    await listener.connected(5000);
    const heard: FragmentAnnouncement[] = [];
    // The stream id is the first one this fresh index hands out.
    listener.subscribe(1, (a) => heard.push(a));
    await listener.check();
    const put = await rawPutMedia(srv.url, 'bus-ready', [mkvHeader(), ...mkvClusters(3, Date.now() - 10_000)]);
    expect(put.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(3);
    await until(() => heard.length === 3, 'three announcements', 10_000);
    expect(heard.map((a) => a.streamName)).toEqual(['bus-ready', 'bus-ready', 'bus-ready']);
    expect(heard.map((a) => a.record.fragmentNumber)).toEqual(put.acks.filter((a) => a.EventType === 'PERSISTED').map((a) => a.FragmentNumber));
    expect(JSON.stringify(heard).length).toBeLessThan(3 * 1024); // references, not media bytes
    const text = await metricsText(srv);
    expect(text).toContain('kestrel_bus_connected 1');
    expect(text).toContain('kestrel_bus_announcements_total{outcome="published"} 3');

    // NATS goes away: not ready, ingest still works (announcements fail cleanly), then it comes back.
    await nats.stop();
    await eventually(() => readyz(srv), (r) => r.status === 503, 'readyz 503 after NATS stopped', 20_000);
    const during = await rawPutMedia(srv.url, 'bus-ready', [mkvHeader(), ...mkvClusters(2, Date.now() - 5_000)]);
    expect(during.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(2);
    expect(await metricsText(srv)).toContain('kestrel_bus_announcements_total{outcome="failed"} 2');
    await nats.start();
    await eventually(() => readyz(srv), (r) => r.status === 200, 'readyz 200 after NATS came back', 20_000);
    expect(await metricsText(srv)).toContain('kestrel_bus_reconnects_total 1');
  });
});
