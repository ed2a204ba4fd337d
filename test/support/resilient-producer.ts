/**
 * A producer that outlives nodes, as the KVS producer SDK behaves: GetDataEndpoint through any
 * control node that answers, then PutMedia; on a refusal, reset or failure it asks again and
 * resends from the first fragment not yet ACKed PERSISTED. Fragment i has producer timecode
 * t0 + i s; the last upload stays open (its node keeps the lease) until release().
 */
import { kvsCall } from './live-push.ts';
import { rawPutMedia, type Ack } from './raw-put-media.ts';
import { mkvCluster, mkvHeader } from './synthetic-mkv.ts';

export interface Persisted {
  index: number;
  fragmentNumber: string;
  nodeUrl: string;
  at: number;
}

export class ResilientProducer {
  readonly persisted = new Map<number, Persisted>();
  readonly attempts: Array<{ url: string; outcome: string }> = [];
  private readonly t0 = Date.now() - 120_000;
  readonly clusters: Buffer[];

  private releaseLast!: () => void;
  /** The last upload stays open after the last fragment (so its node keeps the lease) until this. */
  private readonly held = new Promise<void>((r) => (this.releaseLast = r));

  constructor(
    private readonly stream: string,
    private readonly controlUrls: () => string[],
    readonly count: number,
    private readonly paceMs = 300,
  ) {
    this.clusters = Array.from({ length: count }, (_, i) => mkvCluster({ timecode: this.t0 + i * 1000, frameBytes: 1500, seed: i * 7 + 3 }));
  }

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
    while (this.nextToSend() < this.count) {
      if (Date.now() > deadline) throw new Error(`producer: ${this.persisted.size}/${this.count} persisted; attempts ${JSON.stringify(this.attempts.slice(-5))}`);
      const url = await this.resolveEndpoint();
      if (url) this.attempts.push({ url, outcome: await this.attempt(url) });
      // Back off a little before asking again (a dead owner keeps its lease until it expires).
      if (this.nextToSend() < this.count) await new Promise((r) => setTimeout(r, 250));
    }
  }

  private async attempt(url: string): Promise<string> {
    let done = false;
    const from = this.nextToSend();
    const { clusters, held, count, paceMs } = this;
    async function* body(): AsyncGenerator<Buffer> {
      yield mkvHeader();
      for (let i = from; i < count && !done; i++) {
        yield clusters[i]!;
        await new Promise((r) => setTimeout(r, paceMs));
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

