/**
 * Edge-pull: two `kestrel serve` processes on one fresh PostgreSQL database and NATS, each with
 * its own data folder and no object store. A producer on node A; node B never has the bytes on
 * disk, so GetMedia NOW, GetMediaForFragmentList, ListFragments, GetClip and HLS segments on B can
 * only work by pulling the unsealed fragments from A over the internal endpoint. Then A dies (kill -9) while it still
 * holds the stream's lease: B answers a clear KVS error naming the unreachable node.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetMediaCollector } from '../support/get-media-reader.ts';
import { clipOfLastHour, fragmentList, getMediaNow, metricValue, onDemandSegments, startCluster, type TestCluster } from '../support/cluster.ts';
import { createStream, listAll } from '../support/live-push.ts';
import { rawPutMedia, type Ack } from '../support/raw-put-media.ts';
import { mkvCluster, mkvHeader } from '../support/synthetic-mkv.ts';
import { until } from '../support/wait.ts';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster({ label: 'edge' });
});
afterAll(async () => {
  await cluster?.close();
});

describe('edge-pull between two nodes without an object store', () => {
  it('B serves every fragment A stored, byte-identical; with A dead, B answers a clear error', async () => {
    const a = await cluster.start('node-a');
    const b = await cluster.start('node-b');
    const stream = `edge-${randomUUID().slice(0, 8)}`; // NATS subjects are shared with other suites
    await createStream(a.url, stream);

    const collector = new GetMediaCollector();
    const live = await getMediaNow(b.url, stream);
    expect(live.statusCode).toBe(200);
    let liveEnded = false;
    live.on('data', (c: Buffer) => collector.push(c));
    live.on('end', () => (liveEnded = true));

    // The producer stays connected after its fragments (A keeps the lease) until the test ends it.
    let persisted = 0;
    let finish: (() => void) | undefined;
    const finished = new Promise<void>((r) => (finish = r));
    const t0 = Date.now() - 60_000;
    async function* producer(): AsyncGenerator<Buffer> {
      yield mkvHeader();
      for (let i = 0; i < 6; i++) yield mkvCluster({ timecode: t0 + i * 1000 });
      await finished;
    }
    const putting = rawPutMedia(a.url, stream, producer(), {}, (ack: Ack) => {
      if (ack.EventType === 'PERSISTED') persisted++;
    }).catch(() => undefined);
    await until(() => persisted === 6, 'six fragments persisted on A', 20_000);

    // GetMedia NOW on B: every fragment, in order, complete.
    await until(() => collector.complete.length === 6 || liveEnded, 'six fragments at the GetMedia NOW reader on B', 20_000);
    expect(collector.complete.length, `GetMedia NOW on B ${liveEnded ? 'ended' : 'open'} after [${collector.numbers.join(',')}]`).toBe(6);
    live.destroy();
    const listedOnA = (await listAll(a.url, stream)).map((f) => f.FragmentNumber).sort();
    const listedOnB = (await listAll(b.url, stream)).map((f) => f.FragmentNumber).sort();
    expect(listedOnB).toEqual(listedOnA);
    expect(listedOnA).toHaveLength(6);
    expect(collector.numbers).toEqual(listedOnA);
    expect(collector.fragments.every((f) => f.blocks === 25)).toBe(true);

    // GetMediaForFragmentList: B's answer is A's, byte for byte.
    const fromA = await fragmentList(a.url, stream, listedOnA);
    const fromB = await fragmentList(b.url, stream, listedOnA);
    expect(fromA.status).toBe(200);
    expect(fromB.status).toBe(200);
    expect(fromB.body.length).toBeGreaterThan(6 * 1000);
    expect(fromB.body.equals(fromA.body)).toBe(true);

    // GetClip (MP4 packaged from the fragments): B's is A's, byte for byte.
    const clipA = await clipOfLastHour(a.url, stream);
    const clipB = await clipOfLastHour(b.url, stream);
    expect(clipA.status, clipA.body.toString().slice(0, 200)).toBe(200);
    expect(clipB.status).toBe(200);
    expect(clipA.body.length).toBeGreaterThan(1000);
    expect(clipB.body.equals(clipA.body)).toBe(true);

    // HLS ON_DEMAND: every segment B packages is the one A packages.
    const [segA, segB] = [await onDemandSegments(a.url, stream), await onDemandSegments(b.url, stream)];
    expect(segA.length).toBeGreaterThanOrEqual(6);
    expect(segB.map((x) => x.toString('base64'))).toEqual(segA.map((x) => x.toString('base64')));

    // B's metrics count the pulls (one per fragment at most: the list was served from B's cache).
    const pulls = await metricValue(b.url, 'kestrel_media_tier{stat="edge_pulls"}');
    expect(pulls).toBeGreaterThanOrEqual(1);
    expect(pulls).toBeLessThanOrEqual(6);

    // The internal endpoint is not open: without a node token it refuses.
    const open = await fetch(`${a.url}/internal/v1/streams/1/fragments/${listedOnA[0]}`);
    expect(open.status).toBe(403);

    // A dies while it still holds the lease: B cannot have the bytes and says why.
    await cluster.kill('node-a');
    finish?.();
    await putting;
    const restarted = await cluster.start('node-c'); // a fresh node: nothing cached
    const afterDeath = await fragmentList(restarted.url, stream, listedOnA.slice(0, 1));
    expect(afterDeath.status).toBe(500);
    const err = JSON.parse(afterDeath.body.toString()) as { message?: string; Message?: string };
    expect(err.message ?? err.Message).toMatch(/node-a/);
  });
});
