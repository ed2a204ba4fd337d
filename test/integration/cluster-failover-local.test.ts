/**
 * Failover with `--durability local` (PERSISTED after the owner's fsync; sealed segments go to a
 * fresh Ceph RGW bucket within `--seal-interval`): the owner is killed (-9) mid-stream and the
 * SDK-style producer carries on at another node. What the owner had sealed before it died is
 * listed and comes back from the surviving nodes; only its unsealed tail may be gone. Fragment
 * numbers keep increasing across the two owners and nothing is stored twice.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fragmentList, metricValue, startCluster, type ClusterNode, type TestCluster } from '../support/cluster.ts';
import { createStream, listAll } from '../support/live-push.ts';
import { ResilientProducer } from '../support/resilient-producer.ts';
import { eventually, until } from '../support/wait.ts';

const FRAGMENTS = 20;
let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster({ label: 'failover-local', s3: true, args: ['--durability', 'local', '--seal-interval', '500ms'] });
  await Promise.all(['node-1', 'node-2', 'node-3'].map((id) => cluster.start(id)));
}, 60_000);
afterAll(async () => {
  await cluster?.close();
});

describe('failover, local durability with media on S3', () => {
  it('what the dead owner sealed survives; the producer carries on at another node; numbers keep increasing', async () => {
    const all = [...cluster.nodes.values()];
    const stream = `failover-local-${randomUUID().slice(0, 8)}`;
    await createStream(all[0]!.url, stream);
    const producer = new ResilientProducer(stream, () => [...cluster.nodes.values()].filter((n) => n.alive()).map((n) => n.url), FRAGMENTS);
    const running = producer.run(Date.now() + 75_000);
    running.catch(() => undefined); // awaited at the end

    await until(() => producer.persisted.size >= 6, 'six fragments persisted', 30_000);
    const ownerUrl = producer.persisted.get(0)!.nodeUrl;
    const owner = all.find((n) => n.url === ownerUrl)!;
    // Wait until the owner has sealed some fragments, then kill it: those must survive.
    const sealed = await eventually(() => metricValue(owner.url, 'kestrel_media_tier{stat="fragments_sealed"}'), (n) => n >= 3, 'three fragments sealed on the owner', 20_000);
    await cluster.kill(owner.nodeId);
    const killedAt = Date.now();

    await until(() => producer.persisted.size === FRAGMENTS, `all ${FRAGMENTS} fragments persisted`, 75_000);
    const afterKill = [...producer.persisted.values()].filter((p) => p.nodeUrl !== ownerUrl).sort((x, y) => x.at - y.at);
    console.log(`local failover: ${owner.nodeId} killed with ${sealed} sealed; first PERSISTED on the new owner after ${afterKill[0]!.at - killedAt} ms`);

    const survivors = all.filter((n) => n !== owner) as [ClusterNode, ClusterNode];
    const acked = [...producer.persisted.values()].sort((x, y) => x.index - y.index);
    const numbers = acked.map((p) => p.fragmentNumber);
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]! > numbers[i - 1]!, `fragment ${i} (${numbers[i]}) after ${numbers[i - 1]}`).toBe(true);
    const listed = (await listAll(survivors[0].url, stream)).map((f) => f.FragmentNumber);
    expect(new Set(listed).size).toBe(listed.length);
    // Nothing ACKed is listed twice or under another number; the listing holds only ACKed fragments.
    for (const n of listed) expect(numbers).toContain(n);
    console.log(`local failover: ${numbers.length} fragments ACKed PERSISTED, ${listed.length} listed afterwards`);

    // The sealed prefix (sealing follows fragment order) comes back from both survivors, identically.
    const sealedNumbers = acked.filter((p) => p.nodeUrl === ownerUrl).slice(0, sealed).map((p) => p.fragmentNumber);
    for (const n of sealedNumbers) expect(listed).toContain(n);
    const fromB = await fragmentList(survivors[0].url, stream, sealedNumbers);
    const fromC = await fragmentList(survivors[1].url, stream, sealedNumbers);
    expect(fromB.status, fromB.body.toString().slice(0, 300)).toBe(200);
    expect(fromC.body.equals(fromB.body)).toBe(true);
    // And everything the new owner stored is there too.
    const newOwnerNumbers = afterKill.map((p) => p.fragmentNumber).sort();
    const fromNew = await fragmentList(survivors[0].url, stream, newOwnerNumbers);
    expect(fromNew.status, fromNew.body.toString().slice(0, 300)).toBe(200);

    producer.release();
    await running;
  }, 120_000);
});
