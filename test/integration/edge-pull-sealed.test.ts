/**
 * The sealed path across nodes: two `kestrel serve` processes on one fresh PostgreSQL database,
 * NATS and a Ceph RGW bucket (`--media s3://…`). A producer on node A; once A has sealed every
 * fragment into the bucket, A dies (kill -9) and node B — which never held the bytes and cannot
 * pull them — still serves every fragment byte-identical from the object store, without a pull.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fragmentList, metricValue, startCluster, type TestCluster } from '../support/cluster.ts';
import { createStream, listAll } from '../support/live-push.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { mkvCluster, mkvHeader } from '../support/synthetic-mkv.ts';
import { eventually } from '../support/wait.ts';

let cluster: TestCluster;
const mediaTierStat = (url: string, stat: string) => metricValue(url, `kestrel_media_tier{stat="${stat}"}`);

beforeAll(async () => {
  cluster = await startCluster({ label: 'edge-sealed', s3: true, args: ['--seal-interval', '200ms'] });
});
afterAll(async () => {
  await cluster?.close();
});

describe('edge-pull with media on S3 (Ceph RGW)', () => {
  it('B serves fragments A sealed, byte-identical, from the bucket after A is gone', async () => {
    const a = await cluster.start('node-a');
    const b = await cluster.start('node-b');
    const stream = `sealed-${randomUUID().slice(0, 8)}`;
    await createStream(a.url, stream);
    const t0 = Date.now() - 60_000;
    const put = await rawPutMedia(a.url, stream, [mkvHeader(), ...Array.from({ length: 5 }, (_, i) => mkvCluster({ timecode: t0 + i * 1000, frameBytes: 3000, seed: i + 1 }))]);
    expect(put.acks.filter((x) => x.EventType === 'PERSISTED')).toHaveLength(5);
    const numbers = (await listAll(a.url, stream)).map((f) => f.FragmentNumber).sort();
    expect(numbers).toHaveLength(5);
    const fromA = await fragmentList(a.url, stream, numbers);
    expect(fromA.status).toBe(200);

    await eventually(() => mediaTierStat(a.url, 'fragments_sealed'), (n) => n >= 5, 'all five fragments sealed on A', 20_000);
    await cluster.kill('node-a');

    const fromB = await fragmentList(b.url, stream, numbers);
    expect(fromB.status).toBe(200);
    expect(fromB.body.equals(fromA.body)).toBe(true);
    expect(await mediaTierStat(b.url, 'edge_pulls')).toBe(0);
    expect(await mediaTierStat(b.url, 'cache_misses')).toBeGreaterThanOrEqual(1);
  });
});
