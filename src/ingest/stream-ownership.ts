/**
 * This node's side of stream ownership: the StreamOwner objects, their leases (acquired on a
 * producer's arrival, renewed together on every heartbeat, given up after a quiet linger or at
 * shutdown), the node's heartbeat row with its load, and where GetDataEndpoint should send a
 * client: the owner's public URL, or for PUT_MEDIA on an unowned stream the least-loaded live node.
 */
import type { Clock } from '../shared/clock.ts';
import { KvsError } from '../shared/errors.ts';
import { epochFloor } from '../shared/fragment-number.ts';
import type { Logger } from '../shared/logger.ts';
import type { StreamLeaseStore } from '../store/leases.ts';
import type { StreamRecord } from '../store/types.ts';
import { StreamOwner } from './stream-owner.ts';

export interface OwnershipDeps {
  leases: StreamLeaseStore;
  nodeId: string;
  /** This node's public base URL (known only after listen). */
  publicUrl: () => string;
  /** The stream's newest stored fragment number (the epoch floor for streams numbered before leases). */
  latestFragmentNumber: (streamId: number) => Promise<string | undefined>;
  clock: Clock;
  log: Logger;
  /** Heartbeat and renewal period (default a third of the lease TTL). */
  heartbeatMs?: number;
  /** A stream without a producer for this long gives its lease up (default the lease TTL). */
  lingerMs?: number;
}

export class StreamOwnership {
  private readonly owners = new Map<number, StreamOwner>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private readonly heartbeatMs: number;
  private readonly lingerMs: number;
  private lastBeatAt: number;
  /** Leases lost to another node or to missed renewals (for /metrics and tests). */
  leasesLost = 0;

  constructor(private readonly deps: OwnershipDeps) {
    this.heartbeatMs = deps.heartbeatMs ?? Math.max(100, Math.floor(deps.leases.ttlMs / 3));
    this.lingerMs = deps.lingerMs ?? deps.leases.ttlMs;
    this.lastBeatAt = deps.clock.now();
  }

  get nodeId(): string {
    return this.deps.nodeId;
  }

  /** The lease store (edge-pull asks it which node holds a stream's current epoch). */
  get leases(): StreamLeaseStore {
    return this.deps.leases;
  }

  /** The stream's owner object on this node, created on first use. */
  ownerOf(streamId: number): StreamOwner {
    let owner = this.owners.get(streamId);
    if (!owner) {
      owner = new StreamOwner(streamId, this.deps.clock.now());
      this.owners.set(streamId, owner);
    }
    return owner;
  }

  /** Every producer session open on this node. */
  forEachProducer(fn: (session: NonNullable<StreamOwner['producer']>) => void): void {
    for (const owner of this.owners.values()) if (owner.producer) fn(owner.producer);
  }

  /** The owner object if this node has one (no lease implied). */
  peek(streamId: number): StreamOwner | undefined {
    return this.owners.get(streamId);
  }

  /**
   * Makes this node the stream's owner (acquiring its lease unless already held). Another node's
   * live lease is InvalidEndpointException, the KVS answer that sends producers back to
   * GetDataEndpoint (docs: the KVS producer SDK re-runs DescribeStream → GetDataEndpoint on it).
   */
  async claim(stream: StreamRecord): Promise<StreamOwner> {
    const owner = this.ownerOf(stream.id);
    // A lease that expires between our failed acquire and the holder lookup gets one more try.
    for (let attempt = 0; attempt < 3 && !owner.owned; attempt++) {
      owner.claiming ??= this.acquire(owner).finally(() => (owner.claiming = undefined));
      await owner.claiming;
      if (owner.owned) break;
      const holder = await this.deps.leases.holder(stream.id);
      if (holder && holder.nodeId !== this.deps.nodeId) break;
    }
    if (!owner.owned) {
      throw new KvsError('InvalidEndpointException', `Stream ${stream.name} is served by another node; call GetDataEndpoint (PUT_MEDIA) again.`);
    }
    return owner;
  }

  private async acquire(owner: StreamOwner): Promise<void> {
    const latest = await this.deps.latestFragmentNumber(owner.streamId);
    const lease = await this.deps.leases.acquire(owner.streamId, this.deps.nodeId, { minEpoch: epochFloor(latest) });
    if (!lease) return;
    owner.own(lease, latest, this.deps.clock.now());
    this.deps.log.debug({ streamId: owner.streamId, epoch: lease.epoch }, 'stream lease acquired');
  }

  /** Starts heartbeats: the node row at once, then renewals every heartbeatMs. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => {
      this.ticking ??= this.tick().finally(() => (this.ticking = undefined));
    }, this.heartbeatMs);
    this.timer.unref();
  }

  /** One heartbeat: renew held leases, drop lost ones, release idle ones, report load. */
  async tick(): Promise<void> {
    const now = this.deps.clock.now();
    const held = [...this.owners.values()].filter((o) => o.owned);
    try {
      const renewed = new Map((await this.deps.leases.renew(this.deps.nodeId, held.map((o) => ({ streamId: o.streamId, epoch: o.lease!.epoch })))).map((l) => [l.streamId, l]));
      for (const owner of held) {
        const lease = renewed.get(owner.streamId);
        if (lease) owner.renewed(lease, now);
        else this.lost(owner, 'Another node took the stream over.');
      }
    } catch (err) {
      // The lease store is unreachable: after a whole TTL without renewal another node may own the stream.
      this.deps.log.warn({ err }, 'lease renewal failed');
      for (const owner of held) if (owner.owned && now - owner.renewedAt >= this.deps.leases.ttlMs) this.lost(owner, 'The ownership lease could not be renewed.');
    }
    for (const owner of this.owners.values()) {
      if (owner.owned && !owner.producer && now - owner.lastActiveAt >= this.lingerMs) await this.giveUp(owner);
    }
    await this.beat().catch((err: unknown) => this.deps.log.warn({ err }, 'node heartbeat failed'));
  }

  private lost(owner: StreamOwner, reason: string): void {
    this.leasesLost++;
    this.deps.log.warn({ streamId: owner.streamId, epoch: owner.lease?.epoch }, 'stream lease lost');
    owner.lose(reason);
  }

  private async giveUp(owner: StreamOwner): Promise<void> {
    const lease = owner.relinquish();
    if (lease) await this.deps.leases.release(lease.streamId, lease.nodeId, lease.epoch).catch(() => false);
  }

  private async beat(): Promise<void> {
    const now = this.deps.clock.now();
    let bytes = 0;
    for (const owner of this.owners.values()) {
      bytes += owner.ingestBytes;
      owner.ingestBytes = 0;
    }
    const seconds = Math.max(0.001, (now - this.lastBeatAt) / 1000);
    this.lastBeatAt = now;
    await this.deps.leases.heartbeat({ nodeId: this.deps.nodeId, publicUrl: this.deps.publicUrl(), ingestBytesPerSec: Math.round(bytes / seconds) });
  }

  /**
   * GetDataEndpoint: the owner's public URL; with no live owner, PUT_MEDIA goes to the least-loaded
   * live node and every other API to this node (any node can read stored media).
   */
  async dataEndpoint(streamId: number, apiName: string): Promise<string> {
    const own = this.deps.publicUrl();
    const local = this.owners.get(streamId);
    if (local?.owned) return own;
    const holder = await this.deps.leases.holder(streamId);
    if (holder?.nodeId === this.deps.nodeId) return own;
    const nodes = await this.deps.leases.liveNodes();
    if (holder) {
      const node = nodes.find((n) => n.nodeId === holder.nodeId);
      if (node) return node.publicUrl;
    }
    if (apiName !== 'PUT_MEDIA') return own;
    return nodes[0]?.publicUrl ?? own;
  }

  /** The stream was deleted: its producer was aborted elsewhere; forget its owner and lease row. */
  async forget(streamId: number): Promise<void> {
    this.owners.get(streamId)?.relinquish();
    this.owners.delete(streamId);
    await this.deps.leases.forget(streamId);
  }

  /** Shutdown: stop heartbeats, give every lease up and leave the node list, so others can take over at once. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
    for (const owner of this.owners.values()) await this.giveUp(owner);
    await this.deps.leases.leave(this.deps.nodeId).catch((err: unknown) => this.deps.log.warn({ err }, 'leaving the node list failed'));
  }
}
