/**
 * The live bus over NATS core pub/sub (one subject per stream: `<prefix>.fragments.<streamId>`).
 *
 * Why core NATS and not JetStream: a missed announcement costs only latency, because every reader
 * re-reads the index (the source of truth) after a reconnect (`onResync`); replay by sequence would
 * add nothing a reader needs. Core delivery is ~4x faster than pipelined JetStream on our machines,
 * keeps no state on the server (no streams, no consumer per reader to create and clean up), and needs
 * nothing checked against nats-server 2.9 (parts of the 3.x JetStream client need 2.10).
 *
 * Failure handling: the first connection is retried in the background until it succeeds (the node
 * starts and answers /readyz "bus: down" meanwhile); later losses are handled by the client's own
 * reconnect, which re-creates subscriptions. While not connected, `publish` throws
 * BusUnavailableError at once instead of buffering announcements.
 */
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Logger } from '../shared/logger.ts';
import {
  BusUnavailableError,
  decodeAnnouncement,
  emptyBusStats,
  encodeAnnouncement,
  type BusHealth,
  type BusState,
  type FragmentAnnouncement,
  type LiveBus,
} from './live-bus.ts';

export interface NatsBusOptions {
  /** nats://host:port (several, comma-separated, for a NATS cluster). */
  url: string;
  log: Logger;
  /** Subject prefix (default "kestrel"); tests use a fresh one so runs do not hear each other. */
  subjectPrefix?: string;
  /** One connection attempt gives up after this long (default 2 s). */
  connectTimeoutMs?: number;
  /** Wait between attempts while the server is unreachable (default 500 ms). */
  retryWaitMs?: number;
  /** `check()` round trip limit (default 1 s). */
  checkTimeoutMs?: number;
  /** Client pings; two unanswered ones mark the connection stale (default 5 s). */
  pingIntervalMs?: number;
  name?: string;
}

export class NatsLiveBus implements LiveBus {
  readonly mayMiss = true;
  readonly stats = emptyBusStats();
  private nc: NatsConnection | undefined;
  private state: BusState = 'connecting';
  private reason: string | undefined;
  private closing = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly listeners = new Map<number, Set<(a: FragmentAnnouncement) => void>>();
  private readonly subs = new Map<number, Subscription>();
  private readonly resyncListeners = new Set<() => void>();
  private readonly firstConnect: Promise<void>;
  private resolveFirst!: () => void;

  constructor(private readonly opts: NatsBusOptions) {
    this.firstConnect = new Promise((resolve) => (this.resolveFirst = resolve));
    void this.attempt();
  }

  /** Resolves once connected (or rejects after `timeoutMs`); the bus keeps trying either way. */
  async connected(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.firstConnect,
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new BusUnavailableError(`NATS not reachable within ${timeoutMs} ms (${this.reason ?? this.state})`)), timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private subject(streamId: number): string {
    return `${this.opts.subjectPrefix ?? 'kestrel'}.fragments.${streamId}`;
  }

  private async attempt(): Promise<void> {
    if (this.closing) return;
    try {
      const nc = await connect({
        servers: this.opts.url.split(',').map((s) => s.trim()),
        name: this.opts.name ?? 'kestrel',
        timeout: this.opts.connectTimeoutMs ?? 2000,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: this.opts.retryWaitMs ?? 500,
        pingInterval: this.opts.pingIntervalMs ?? 5000,
        maxPingOut: 2,
      });
      if (this.closing) {
        await nc.close();
        return;
      }
      this.nc = nc;
      const afterOutage = this.state === 'down' || this.state === 'closed';
      this.setState('connected');
      this.subs.clear();
      for (const id of this.listeners.keys()) this.ensureSub(id);
      this.resolveFirst();
      void this.watch(nc);
      // Subscribers that waited through an outage may have missed announcements.
      if (afterOutage && this.listeners.size > 0) this.resync();
    } catch (err) {
      this.setState('down', codeOf(err));
      if (this.closing) return;
      this.retryTimer = setTimeout(() => void this.attempt(), this.opts.retryWaitMs ?? 500);
      this.retryTimer.unref();
    }
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'staleConnection') this.setState('reconnecting', s.type);
      else if (s.type === 'reconnect') {
        this.setState('connected');
        this.stats.reconnects++;
        this.resync();
      } else if (s.type === 'error') this.opts.log.warn({ err: s.error }, 'NATS live bus error');
    }
    if (this.closing) return;
    // The client gave up (it should not, with unlimited reconnects): start over with a new connection.
    this.setState('down', 'connection closed');
    this.nc = undefined;
    this.retryTimer = setTimeout(() => void this.attempt(), this.opts.retryWaitMs ?? 500);
    this.retryTimer.unref();
  }

  private resync(): void {
    for (const l of [...this.resyncListeners]) l();
  }

  private setState(state: BusState, reason?: string): void {
    if (state !== this.state) {
      const log = state === 'connected' ? this.opts.log.info.bind(this.opts.log) : this.opts.log.warn.bind(this.opts.log);
      log({ state, ...(reason ? { reason } : {}) }, `live bus ${state}`);
    }
    this.state = state;
    this.reason = reason;
  }

  publish(announcement: FragmentAnnouncement): void {
    const nc = this.nc;
    if (!nc || this.state !== 'connected' || nc.isClosed()) {
      this.stats.publishFailed++;
      throw new BusUnavailableError(`live bus ${this.state}${this.reason ? ` (${this.reason})` : ''}`);
    }
    nc.publish(this.subject(announcement.record.streamId), encodeAnnouncement(announcement));
    this.stats.published++;
  }

  subscribe(streamId: number, listener: (a: FragmentAnnouncement) => void, onReady?: () => void): () => void {
    let set = this.listeners.get(streamId);
    if (!set) this.listeners.set(streamId, (set = new Set()));
    set.add(listener);
    this.ensureSub(streamId);
    // The SUB reaches the server asynchronously: a round trip (flush) proves it is in place, and
    // until then another node's announcement can pass by unseen. (Down: the resync covers it.)
    const nc = this.nc;
    if (onReady && nc && !nc.isClosed()) nc.flush().then(onReady, () => undefined);
    return () => {
      set.delete(listener);
      if (set.size > 0 || this.listeners.get(streamId) !== set) return;
      this.listeners.delete(streamId);
      this.subs.get(streamId)?.unsubscribe();
      this.subs.delete(streamId);
    };
  }

  /** One NATS subscription per stream however many local readers; the callback form keeps no queue. */
  private ensureSub(streamId: number): void {
    const nc = this.nc;
    if (!nc || nc.isClosed() || this.subs.has(streamId)) return;
    const sub = nc.subscribe(this.subject(streamId), {
      callback: (err, msg) => {
        if (err) return;
        const a = decodeAnnouncement(msg.data);
        const set = this.listeners.get(streamId);
        if (!a || !set || a.record.streamId !== streamId) return;
        this.stats.received++;
        for (const l of [...set]) l(a);
      },
    });
    this.subs.set(streamId, sub);
  }

  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  health(): BusHealth {
    return this.state === 'connected' ? { state: 'connected' } : { state: this.state, ...(this.reason ? { reason: this.reason } : {}) };
  }

  async check(): Promise<void> {
    const nc = this.nc;
    if (!nc || this.state !== 'connected') throw new BusUnavailableError(`live bus ${this.state}`);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        nc.flush(),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new BusUnavailableError('live bus round trip timed out')), this.opts.checkTimeoutMs ?? 1000))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.retryTimer);
    this.listeners.clear();
    this.subs.clear();
    const nc = this.nc;
    this.nc = undefined;
    this.setState('closed', 'closed');
    if (nc && !nc.isClosed()) await nc.close();
  }
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^[A-Za-z_0-9]{1,40}$/.test(code)) return code;
  const name = (err as { name?: unknown }).name;
  return typeof name === 'string' ? name : 'error';
}
