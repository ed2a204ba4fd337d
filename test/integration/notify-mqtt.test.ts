import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { nextEvent, startEvent, type TrackObservation } from '../../src/events/lifecycle.ts';
import { makeBox, type DetectionEvent } from '../../src/events/types.ts';
import { MqttNotifier } from '../../src/notify/mqtt-notifier.ts';
import type { PresenceState } from '../../src/notify/person-presence.ts';

const BROKER = process.env.KESTREL_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const obs = (t: number, trackId: string): TrackObservation => ({
  trackId,
  score: 0.7,
  box: makeBox(1, 2, 3, 4, 100, 100),
  zone: 'porch',
  frameTime: t,
  fragmentNumber: 'f1',
  producerTimestamp: t,
  serverTimestamp: t,
});

interface Msg {
  topic: string;
  body: string;
  retain: boolean;
}

function collect(client: MqttClient): Msg[] {
  const got: Msg[] = [];
  client.on('message', (topic, payload, packet) => got.push({ topic, body: payload.toString('utf8'), retain: packet.retain }));
  return got;
}

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('MqttNotifier through the real Mosquitto', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('publishes each event on kestrel/events and kestrel/<stream>/events, and retained presence state', async () => {
    const name = `cam-${randomUUID().slice(0, 8)}`;
    const s = { name, arn: `arn:aws:kinesisvideo:us-east-1:1:stream/${name}/1` };
    const sub = await mqtt.connectAsync(BROKER, { protocolVersion: 5 });
    cleanups.push(() => sub.endAsync());
    const got = collect(sub);
    await sub.subscribeAsync([`kestrel/events`, `kestrel/${name}/events`], { qos: 1 });

    const notifier = new MqttNotifier({ url: BROKER });
    cleanups.push(async () => {
      // clear the retained message this test left behind
      await notifier.client.publishAsync(`kestrel/${name}/person`, '', { qos: 1, retain: true });
      await notifier.close();
    });
    await notifier.waitConnected();

    const a = startEvent(s, obs(1000, 'A'));
    const b = startEvent(s, obs(1100, 'B'));
    const aEnd = nextEvent(a, 'end', obs(1500, 'A'));
    for (const e of [a, b, aEnd]) await notifier.publish(e);

    const onTopic = (t: string) => got.filter((m) => m.topic === t).map((m) => JSON.parse(m.body) as DetectionEvent).filter((e) => e.stream.name === name);
    await until(() => onTopic('kestrel/events').length === 3 && onTopic(`kestrel/${name}/events`).length === 3);
    for (const t of ['kestrel/events', `kestrel/${name}/events`]) {
      expect(onTopic(t).map((e) => [e.id, e.type, e.trackId])).toEqual([
        [a.id, 'start', 'A'],
        [b.id, 'start', 'B'],
        [a.id, 'end', 'A'],
      ]);
    }

    // A late subscriber gets the retained current state.
    const late = await mqtt.connectAsync(BROKER, { protocolVersion: 5 });
    cleanups.push(() => late.endAsync());
    const lateGot = collect(late);
    await late.subscribeAsync(`kestrel/${name}/person`, { qos: 1 });
    await until(() => lateGot.length >= 1);
    const retained = lateGot[0] as Msg;
    expect(retained.retain).toBe(true);
    const state = JSON.parse(retained.body) as PresenceState;
    expect(state).toMatchObject({ count: 1, active: ['B'] });
    expect(Math.abs(state.updated - Date.now())).toBeLessThan(10_000);
  });

  it('keeps reconnecting while the broker is unreachable', async () => {
    const notifier = new MqttNotifier({ url: 'mqtt://127.0.0.1:1', reconnectPeriodMs: 50 });
    cleanups.push(() => notifier.client.endAsync(true));
    let reconnects = 0;
    notifier.client.on('reconnect', () => reconnects++);
    await until(() => reconnects >= 2);
    await expect(notifier.waitConnected(100)).rejects.toThrow(/timeout/);
  });

  it('reconnects after a broker restart and delivers what was published while it was down', async () => {
    // A private broker we may kill (the shared one at :1883 stays untouched).
    const port = await freePort();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kestrel-mosq-'));
    const conf = path.join(dir, 'mosquitto.conf');
    await writeFile(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    let broker = await startBroker(conf, port);
    cleanups.push(async () => {
      broker.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    });
    const url = `mqtt://127.0.0.1:${port}`;
    const notifier = new MqttNotifier({ url, reconnectPeriodMs: 100 });
    cleanups.push(() => notifier.client.endAsync(true));
    await notifier.waitConnected();
    const s = { name: 'cam', arn: 'arn:aws:kinesisvideo:us-east-1:1:stream/cam/1' };
    const a = startEvent(s, obs(1, 'A'));
    await notifier.publish(a);

    broker.kill('SIGTERM');
    await until(() => !notifier.client.connected);
    const b = startEvent(s, obs(2, 'B'));
    const pending = notifier.publish(b); // queued by mqtt.js while offline
    broker = await startBroker(conf, port);
    await notifier.waitConnected();
    await pending;

    const sub = await mqtt.connectAsync(url, { protocolVersion: 5 });
    cleanups.push(() => sub.endAsync());
    const got = collect(sub);
    await sub.subscribeAsync(['kestrel/cam/person', 'kestrel/cam/events'], { qos: 1 });
    await until(() => got.some((m) => m.topic === 'kestrel/cam/person'));
    // The restarted broker has no persistence: this retained state was re-published after the reconnect.
    expect(JSON.parse(got.find((m) => m.topic === 'kestrel/cam/person')?.body ?? '{}')).toMatchObject({ count: 2, active: ['A', 'B'] });
    await notifier.publish(nextEvent(b, 'end', obs(3, 'B')));
    await until(() => got.some((m) => m.topic === 'kestrel/cam/events'));
    expect(JSON.parse(got.find((m) => m.topic === 'kestrel/cam/events')?.body ?? '{}')).toMatchObject({ id: b.id, type: 'end' });
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function startBroker(conf: string, port: number): Promise<ChildProcess> {
  const child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  const end = Date.now() + 5000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return child;
    if (Date.now() > end || child.exitCode !== null) throw new Error('mosquitto did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
}
