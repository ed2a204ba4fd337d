/**
 * Failover with the project's own producer: `kestrel ingest` pulls an RTSP camera into a
 * three-node cluster (`--durability replicated`, media on a fresh Ceph RGW bucket) through a
 * control endpoint that is not the owner (as a load balancer would be). The owner is killed (-9);
 * ingest re-resolves GetDataEndpoint and carries on at another node; fragment numbers and
 * producer timestamps keep increasing, nothing is listed twice, and the surviving nodes serve
 * every listed fragment, the old owner's included.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testAuthEnv } from '../support/auth.ts';
import { fragmentList, startCluster, type ClusterNode, type TestCluster } from '../support/cluster.ts';
import { kvsCall, listAll, type ListedFragment } from '../support/live-push.ts';
import { makeH264Mkv } from '../support/media.ts';
import { startRtspServer, type RtspServer } from '../support/rtsp-server.ts';
import { eventually } from '../support/wait.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/kestrel.js');
const STREAM = `ingest-failover-${Date.now().toString(36)}`;
let cluster: TestCluster;
let camera: RtspServer;
let ingest: ChildProcess | undefined;
let log = '';

beforeAll(async () => {
  // No B-frames (ffmpeg's RTSP pull needs it), 1 s GOPs, long enough for the whole test.
  const clip = await makeH264Mkv({ seconds: 90, fps: 15, gop: 15, bframes: 0 });
  [cluster, camera] = await Promise.all([
    startCluster({ label: 'ingest-failover', s3: true, args: ['--durability', 'replicated', '--seal-interval', '500ms'] }),
    startRtspServer({ file: clip }),
  ]);
  await Promise.all(['node-1', 'node-2', 'node-3'].map((id) => cluster.start(id)));
}, 90_000);
afterAll(async () => {
  if (ingest && ingest.exitCode === null) ingest.kill('SIGKILL');
  await camera?.stop();
  await cluster?.close();
});

type Listed = ListedFragment & { ProducerTimestamp: number };
const fragments = async (url: string): Promise<Listed[]> => {
  try {
    return (await listAll(url, STREAM)) as Listed[];
  } catch (err) {
    if (/ResourceNotFoundException/.test((err as Error).message)) return []; // ingest has not created it yet
    throw err;
  }
};

describe('failover with kestrel ingest', () => {
  it('ingest carries on at another node after kill -9 of the owner; numbers keep increasing, nothing twice, all readable', async () => {
    // The control endpoint: the node GetDataEndpoint sends an unowned stream to last (least loaded
    // first, then by node id), so it is not the owner we are about to kill.
    const control = cluster.nodes.get('node-3')!;
    const child = spawn(process.execPath, [BIN, 'ingest', camera.url, '--stream', STREAM, '--create', '--endpoint', control.url], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...testAuthEnv },
    });
    ingest = child;
    child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    const before = await eventually(() => fragments(control.url), (f) => f.length >= 3, 'three fragments from ingest', 45_000);
    const { DataEndpoint } = await kvsCall<{ DataEndpoint: string }>(control.url, 'getDataEndpoint', { StreamName: STREAM, APIName: 'PUT_MEDIA' });
    const owner = [...cluster.nodes.values()].find((n) => n.url === DataEndpoint.replace(/\/$/, ''))!;
    expect(owner, `owner ${DataEndpoint}`).toBeDefined();
    expect(owner.nodeId, 'the owner is not the control endpoint').not.toBe(control.nodeId);

    await cluster.kill(owner.nodeId);
    const killedAt = Date.now();
    const seenBefore = new Set(before.map((f) => f.FragmentNumber));
    const after = await eventually(
      () => fragments(control.url),
      (f) => f.filter((x) => !seenBefore.has(x.FragmentNumber) && x.ServerTimestamp * 1000 > killedAt).length >= 3,
      'three fragments on a new owner after the kill',
      60_000,
    );
    const firstNew = Math.min(...after.filter((x) => !seenBefore.has(x.FragmentNumber) && x.ServerTimestamp * 1000 > killedAt).map((x) => x.ServerTimestamp * 1000));
    console.log(`kestrel ingest failover: ${owner.nodeId} killed; first fragment stored on a new owner ${Math.round(firstNew - killedAt)} ms later`);
    expect(log).toMatch(/retrying/);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    ingest = undefined;

    // Every fragment listed once; by producer time, fragment numbers strictly increase.
    const survivors = [...cluster.nodes.values()].filter((n) => n !== owner) as [ClusterNode, ClusterNode];
    const all = (await fragments(survivors[0].url)).sort((x, y) => x.ProducerTimestamp - y.ProducerTimestamp);
    expect(new Set(all.map((f) => f.FragmentNumber)).size).toBe(all.length);
    for (let i = 1; i < all.length; i++) {
      expect(all[i]!.ProducerTimestamp).toBeGreaterThan(all[i - 1]!.ProducerTimestamp);
      expect(all[i]!.FragmentNumber > all[i - 1]!.FragmentNumber, `fragment ${all[i]!.FragmentNumber} after ${all[i - 1]!.FragmentNumber}`).toBe(true);
    }
    expect((await fragments(survivors[1].url)).map((f) => f.FragmentNumber).sort()).toEqual(all.map((f) => f.FragmentNumber).sort());

    // Replicated: the dead owner's fragments too come back from the bucket, the same on both survivors.
    const numbers = all.map((f) => f.FragmentNumber);
    const fromB = await fragmentList(survivors[0].url, STREAM, numbers);
    const fromC = await fragmentList(survivors[1].url, STREAM, numbers);
    expect(fromB.status, fromB.body.toString().slice(0, 300)).toBe(200);
    expect(fromC.status).toBe(200);
    expect(fromC.body.equals(fromB.body)).toBe(true);
  }, 150_000);
});
