/**
 * Failover with `--durability replicated` (media on a fresh Ceph RGW bucket, PERSISTED only once
 * the fragment is in the object store): three nodes, an SDK-style producer (GetDataEndpoint, then
 * PutMedia; on any failure it asks GetDataEndpoint again and resends from the first fragment not
 * yet ACKed PERSISTED, as the KVS producer SDK does). The owner is killed (-9) mid-stream; the
 * producer carries on at another node once the lease has expired; afterwards every fragment ACKed
 * PERSISTED is listed once, in increasing fragment-number order, and its bytes come back from the
 * surviving nodes. The old owner, restarted under the same node id, cannot write.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fragmentList, startCluster, type ClusterNode, type TestCluster } from '../support/cluster.ts';
import { MkvStreamParser } from '../../src/mkv/index.ts';
import { GetMediaCollector } from '../support/get-media-reader.ts';
import { createStream, listAll } from '../support/live-push.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { ResilientProducer } from '../support/resilient-producer.ts';
import { mkvCluster, mkvHeader } from '../support/synthetic-mkv.ts';
import { until } from '../support/wait.ts';

const FRAGMENTS = 24;
const KILL_AFTER = 6;
let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster({ label: 'failover', s3: true, args: ['--durability', 'replicated', '--seal-interval', '500ms'] });
  await Promise.all(['node-1', 'node-2', 'node-3'].map((id) => cluster.start(id)));
}, 60_000);
afterAll(async () => {
  await cluster?.close();
});

/** The SimpleBlock elements (track, timecode, flags, frame) of an MKV byte stream, in order. */
function blocksOf(parts: Buffer[]): Buffer[] {
  const parser = new MkvStreamParser();
  const out: Buffer[] = [];
  for (const p of parts) for (const ev of parser.push(p)) if (ev.type === 'block') out.push(Buffer.from(ev.raw));
  return out;
}

describe('failover, replicated durability on S3', () => {
  it('the producer carries on at another node after kill -9 of the owner; nothing ACKed is lost; the old owner cannot write', async () => {
    const all = [...cluster.nodes.values()];
    const stream = `failover-${randomUUID().slice(0, 8)}`;
    await createStream(all[0]!.url, stream);
    const producer = new ResilientProducer(stream, () => [...cluster.nodes.values()].filter((n) => n.alive()).map((n) => n.url), FRAGMENTS);
    const running = producer.run(Date.now() + 75_000);
    running.catch(() => undefined); // awaited at the end; a failure there names the attempts

    // The owner is wherever the first PERSISTED came from; kill it mid-stream.
    await until(() => producer.persisted.size >= KILL_AFTER, `${KILL_AFTER} fragments persisted`, 30_000);
    const ownerUrl = producer.persisted.get(0)!.nodeUrl;
    const owner = all.find((n) => n.url === ownerUrl)!;
    expect(owner).toBeDefined();
    await cluster.kill(owner.nodeId);
    const killedAt = Date.now();
    const persistedBeforeKill = producer.persisted.size;

    await until(() => producer.persisted.size === FRAGMENTS, `all ${FRAGMENTS} fragments persisted`, 75_000);
    const afterKill = [...producer.persisted.values()].filter((p) => p.nodeUrl !== ownerUrl).sort((x, y) => x.at - y.at);
    expect(afterKill.length).toBeGreaterThan(0);
    const failoverMs = afterKill[0]!.at - killedAt;
    console.log(`failover: owner ${owner.nodeId} killed after ${persistedBeforeKill} PERSISTED; first PERSISTED on ${afterKill[0]!.nodeUrl} after ${failoverMs} ms; ${producer.attempts.length} PutMedia attempts`);

    // Every fragment ACKed PERSISTED is listed exactly once on each surviving node, and nothing else.
    const survivors = all.filter((n) => n !== owner) as [ClusterNode, ClusterNode];
    const acked = [...producer.persisted.values()].sort((x, y) => x.index - y.index);
    expect(acked.map((p) => p.index)).toEqual(Array.from({ length: FRAGMENTS }, (_, i) => i));
    for (const node of survivors) {
      const listed = (await listAll(node.url, stream)).map((f) => f.FragmentNumber).sort();
      expect(new Set(listed).size).toBe(listed.length);
      expect(listed).toEqual(acked.map((p) => p.fragmentNumber).sort());
    }
    // Fragment numbers strictly increase with the producer's timeline, across the two owners.
    const numbers = acked.map((p) => p.fragmentNumber);
    for (let i = 1; i < numbers.length; i++) {
      expect(numbers[i]!.length).toBe(numbers[i - 1]!.length);
      expect(numbers[i]! > numbers[i - 1]!, `fragment ${i} (${numbers[i]}) after ${numbers[i - 1]}`).toBe(true);
    }

    // The bytes: both survivors answer the same payload, and it carries every pushed frame.
    const fromB = await fragmentList(survivors[0].url, stream, numbers);
    const fromC = await fragmentList(survivors[1].url, stream, numbers);
    expect(fromB.status, fromB.body.toString().slice(0, 300)).toBe(200);
    expect(fromC.status).toBe(200);
    expect(fromC.body.equals(fromB.body)).toBe(true);
    const collector = new GetMediaCollector();
    collector.push(fromB.body);
    expect(collector.numbers).toEqual(numbers);
    expect(collector.fragments.every((f) => f.blocks === 25)).toBe(true);
    const sentBlocks = blocksOf([mkvHeader(), ...producer.clusters]);
    const readBlocks = blocksOf([fromB.body]);
    expect(readBlocks.length).toBe(FRAGMENTS * 25);
    expect(readBlocks.every((b, i) => b.equals(sentBlocks[i]!)), 'every frame block as pushed, in order').toBe(true);

    // The old owner comes back under the same node id while the new owner still has the producer:
    // the stream is not its to write, and its restart brings back nothing of the old epoch.
    const restarted = await cluster.start(owner.nodeId);
    const late = mkvCluster({ timecode: Date.now(), frameBytes: 1500, seed: 99 });
    const stale = await rawPutMedia(restarted.url, stream, [mkvHeader(), late]);
    const persistedByStale = stale.acks.filter((a) => a.EventType === 'PERSISTED');
    expect(persistedByStale, `old owner answered ${stale.status} ${stale.body.slice(0, 200)}`).toEqual([]);
    expect(stale.status).toBe(400);
    expect(stale.headers['x-amzn-errortype']).toMatch(/InvalidEndpointException/);
    const finalList = (await listAll(survivors[0].url, stream)).map((f) => f.FragmentNumber).sort();
    expect(finalList).toEqual([...numbers].sort());
    producer.release();
    await running;
  }, 120_000);
});
