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
import { createStream, kvsCall, listAll } from '../support/live-push.ts';
import { rawPutMedia, type Ack } from '../support/raw-put-media.ts';
import { mkvCluster, mkvHeader } from '../support/synthetic-mkv.ts';
import { until } from '../support/wait.ts';

const FRAGMENTS = 24;
const KILL_AFTER = 6;
const PACE_MS = 300;
let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster({ label: 'failover', s3: true, args: ['--durability', 'replicated', '--seal-interval', '500ms'] });
  await Promise.all(['node-1', 'node-2', 'node-3'].map((id) => cluster.start(id)));
}, 60_000);
afterAll(async () => {
  await cluster?.close();
});

interface Persisted {
  index: number;
  fragmentNumber: string;
  nodeUrl: string;
  at: number;
}

/**
 * A producer that outlives nodes: fragment i has producer timecode t0 + i s. Each attempt resolves
 * the data endpoint through any control node that answers, then streams from the first fragment
 * not ACKed PERSISTED; a refused, reset or failed request ends the attempt.
 */
class ResilientProducer {
  readonly persisted = new Map<number, Persisted>();
  readonly attempts: Array<{ url: string; outcome: string }> = [];
  private readonly t0 = Date.now() - 120_000;
  readonly clusters = Array.from({ length: FRAGMENTS }, (_, i) => mkvCluster({ timecode: this.t0 + i * 1000, frameBytes: 1500, seed: i * 7 + 3 }));

  private releaseLast!: () => void;
  /** The last upload stays open after the last fragment (so its node keeps the lease) until this. */
  private readonly held = new Promise<void>((r) => (this.releaseLast = r));

  constructor(private readonly stream: string, private readonly controlUrls: () => string[]) {}

  release(): void {
    this.releaseLast();
  }

  private nextToSend(): number {
    let i = 0;
    while (this.persisted.has(i)) i++;
    return i;
  }

  private async resolveEndpoint(): Promise<string | undefined> {
    for (const url of this.controlUrls()) {
      try {
        const r = await kvsCall<{ DataEndpoint: string }>(url, 'getDataEndpoint', { StreamName: this.stream, APIName: 'PUT_MEDIA' });
        return r.DataEndpoint.replace(/\/$/, '');
      } catch {
        // that control node is down: try the next
      }
    }
    return undefined;
  }

  async run(deadline: number): Promise<void> {
    while (this.nextToSend() < FRAGMENTS) {
      if (Date.now() > deadline) throw new Error(`producer: ${this.persisted.size}/${FRAGMENTS} persisted; attempts ${JSON.stringify(this.attempts.slice(-5))}`);
      const url = await this.resolveEndpoint();
      if (url) this.attempts.push({ url, outcome: await this.attempt(url) });
      // Back off a little before asking again (a dead owner keeps its lease until it expires).
      if (this.nextToSend() < FRAGMENTS) await new Promise((r) => setTimeout(r, 250));
    }
  }

  private async attempt(url: string): Promise<string> {
    let done = false;
    const from = this.nextToSend();
    const { clusters, held } = this;
    async function* body(): AsyncGenerator<Buffer> {
      yield mkvHeader();
      for (let i = from; i < FRAGMENTS && !done; i++) {
        yield clusters[i]!;
        await new Promise((r) => setTimeout(r, PACE_MS));
      }
      await held;
    }
    const onAck = (ack: Ack) => {
      if (ack.EventType !== 'PERSISTED' || ack.FragmentTimecode === undefined) return;
      const index = (ack.FragmentTimecode - this.t0) / 1000;
      if (!this.persisted.has(index)) this.persisted.set(index, { index, fragmentNumber: ack.FragmentNumber!, nodeUrl: url, at: Date.now() });
    };
    try {
      const r = await rawPutMedia(url, this.stream, body(), {}, onAck);
      const errors = r.acks.filter((a) => a.EventType === 'ERROR');
      return `${r.status} ${r.headers['x-amzn-errortype'] ?? ''} ${errors.length ? JSON.stringify(errors[0]) : ''}`.trim();
    } catch (err) {
      return (err as Error).message;
    } finally {
      done = true;
    }
  }
}

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
    const producer = new ResilientProducer(stream, () => [...cluster.nodes.values()].filter((n) => n.alive()).map((n) => n.url));
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
