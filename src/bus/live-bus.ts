/**
 * The live bus port: "fragment stored" announcements between nodes. An announcement is a
 * reference (stream, fragment number, timestamps, size, where the bytes are), never media bytes:
 * a reader that hears of a fragment reads its bytes through the index and a FragmentBytesSource.
 *
 * Delivery is at most once and may miss announcements while a connection is down; subscribers
 * get `onResync` afterwards and re-read the index, which is the source of truth (so a lost
 * announcement only delays a reader, it never loses a fragment).
 */
import type { FragmentRecord } from '../store/types.ts';

export interface FragmentAnnouncement {
  /** The node that stored the fragment (a node ignores its own announcements: its feed already has them). */
  nodeId: string;
  streamName: string;
  /** The index row as committed (stream id, fragment number, timestamps, size, header id, location). */
  record: FragmentRecord;
}

export type BusState = 'connecting' | 'connected' | 'reconnecting' | 'down' | 'closed';

export interface BusStats {
  published: number;
  /** Announcements refused because the bus was down (readers elsewhere catch up from the index). */
  publishFailed: number;
  received: number;
  /** Times the connection came back after a loss (subscribers were told to resync). */
  reconnects: number;
}

export interface BusHealth {
  state: BusState;
  /** Short reason when not connected (an error code, never a secret-bearing URL). */
  reason?: string;
}

/** Thrown by `publish` and `check` while the bus cannot be reached. */
export class BusUnavailableError extends Error {
  readonly code = 'BUS_DOWN';
  constructor(message: string) {
    super(message);
    this.name = 'BusUnavailableError';
  }
}

export interface LiveBus {
  /** Whether an announcement can be missed (a network bus); then subscribers re-read the index when a subscription takes hold. */
  readonly mayMiss: boolean;
  /** Sends an announcement; throws BusUnavailableError at once (never blocks) when the bus is down. */
  publish(announcement: FragmentAnnouncement): void;
  /**
   * Announcements for one stream (by its cluster-wide id, as in the shared index). `onReady` runs
   * once the bus is known to deliver them (NATS: the server confirmed the subscription); anything
   * published before that may have been missed, so a subscriber re-reads the index then.
   */
  subscribe(streamId: number, listener: (a: FragmentAnnouncement) => void, onReady?: () => void): () => void;
  /** Called after the connection came back: announcements may have been missed meanwhile. */
  onResync(listener: () => void): () => void;
  health(): BusHealth;
  /** Resolves after a round trip to the bus within its timeout; rejects (code BUS_DOWN) otherwise. */
  check(): Promise<void>;
  readonly stats: BusStats;
  close(): Promise<void>;
}

export const emptyBusStats = (): BusStats => ({ published: 0, publishFailed: 0, received: 0, reconnects: 0 });

/** Announcements carry plain JSON: the record's fields are numbers, strings and a string map. */
export function encodeAnnouncement(a: FragmentAnnouncement): Uint8Array {
  return Buffer.from(JSON.stringify(a));
}

export function decodeAnnouncement(data: Uint8Array): FragmentAnnouncement | undefined {
  try {
    const a = JSON.parse(Buffer.from(data).toString('utf8')) as Partial<FragmentAnnouncement>;
    const r = a.record as Partial<FragmentRecord> | undefined;
    if (typeof a.nodeId !== 'string' || typeof a.streamName !== 'string' || !r) return undefined;
    if (typeof r.streamId !== 'number' || typeof r.fragmentNumber !== 'string' || !/^\d{1,64}$/.test(r.fragmentNumber)) return undefined;
    if (typeof r.location !== 'object' || r.location === null || typeof r.headerId !== 'number') return undefined;
    return a as FragmentAnnouncement;
  } catch {
    return undefined;
  }
}

/** Several in-process bus handles on one hub behave like several nodes on one NATS server (tests). */
export class InProcessBusHub {
  readonly handles = new Set<InProcessLiveBus>();
}

/**
 * The single-node bus: delivery inside this process, asynchronously (as over a network, a
 * publisher never runs subscribers on its own stack). Always connected.
 */
export class InProcessLiveBus implements LiveBus {
  readonly mayMiss = false;
  readonly stats = emptyBusStats();
  private readonly listeners = new Map<number, Set<(a: FragmentAnnouncement) => void>>();
  private closed = false;

  constructor(private readonly hub: InProcessBusHub = new InProcessBusHub()) {
    hub.handles.add(this);
  }

  publish(announcement: FragmentAnnouncement): void {
    if (this.closed) {
      this.stats.publishFailed++;
      throw new BusUnavailableError('the live bus is closed');
    }
    this.stats.published++;
    const copy = decodeAnnouncement(encodeAnnouncement(announcement))!;
    queueMicrotask(() => {
      for (const handle of this.hub.handles) handle.deliver(copy);
    });
  }

  private deliver(a: FragmentAnnouncement): void {
    const set = this.listeners.get(a.record.streamId);
    if (!set || this.closed) return;
    this.stats.received++;
    for (const l of [...set]) l(a);
  }

  subscribe(streamId: number, listener: (a: FragmentAnnouncement) => void, onReady?: () => void): () => void {
    let set = this.listeners.get(streamId);
    if (!set) this.listeners.set(streamId, (set = new Set()));
    set.add(listener);
    if (onReady) queueMicrotask(onReady); // in-process delivery starts at once
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(streamId) === set) this.listeners.delete(streamId);
    };
  }

  onResync(): () => void {
    return () => {}; // never disconnected
  }

  health(): BusHealth {
    return this.closed ? { state: 'closed', reason: 'closed' } : { state: 'connected' };
  }

  async check(): Promise<void> {
    if (this.closed) throw new BusUnavailableError('the live bus is closed');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.hub.handles.delete(this);
    this.listeners.clear();
  }
}
