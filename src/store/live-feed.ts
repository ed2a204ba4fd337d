import type { FragmentRecord } from './types.ts';

/** A fragment as live readers need it: metadata plus the bytes, so the tail never waits on disk. */
export interface LiveFragment {
  record: FragmentRecord;
  header: Buffer;
  body: Buffer;
}

export interface RetainPolicy {
  maxAgeMs: number;
  maxBytes: number;
  maxCount: number;
}

/** Streams with archive keep only a short tail in memory (the index has the rest). */
export const TAIL_CACHE: RetainPolicy = { maxAgeMs: 30_000, maxBytes: 16 * 1024 * 1024, maxCount: 3 };
/**
 * Streams with archive and nobody reading live keep no bytes in memory: a reader that comes
 * later reads the disk once (it may well hit the page cache) and, by asking, marks the stream
 * as read, so the fragments after that are kept in TAIL_CACHE. Most cameras are never watched.
 */
export const UNREAD_TAIL: RetainPolicy = { maxAgeMs: 0, maxBytes: 0, maxCount: 0 };
/** Retention 0: KVS keeps fragments ~5 min / 200 MB in a buffer readable only by GetMedia. */
export const NO_ARCHIVE_BUFFER: RetainPolicy = { maxAgeMs: 5 * 60_000, maxBytes: 200 * 1024 * 1024, maxCount: 10_000 };
/** All tail caches together stay under this, however many streams there are. */
const TAIL_CACHE_TOTAL_BYTES = 256 * 1024 * 1024;
/** Fragments still arriving are only reported, and archived ones kept, while someone asked for them this recently. */
const PROGRESS_INTEREST_MS = 30_000;

/**
 * A LiveFragment whose body is joined from the stored chunks only when a reader asks for it:
 * with no live reader (most cameras, most of the time) nothing is copied.
 */
export function lazyLiveFragment(record: FragmentRecord, header: Buffer, chunks: readonly Buffer[]): LiveFragment {
  let body: Buffer | undefined;
  return {
    record,
    header,
    get body() {
      body ??= chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks as Buffer[]);
      return body;
    },
  };
}

/**
 * A fragment still arriving: its header and the cluster children received so far (the
 * Timecode element first, then blocks). Published after every network read that added blocks.
 */
export interface FragmentProgress {
  streamId: number;
  fragmentNumber: string;
  serverTimestampMs: number;
  producerTimestampMs: number;
  header: Buffer;
  clusterChildren: readonly Buffer[];
  blocks: number;
}

/**
 * "A fragment was stored", as readers that only need to know (GetMedia, playlist reloads) see it:
 * `live` holds the bytes when this node stored it; a fragment stored on another node (heard on the
 * live bus) has only its record, and its bytes are read through the index. No record: the bus was
 * down for a while, so announcements may be missing: re-read the index.
 */
export interface StoredNotice {
  record?: FragmentRecord;
  live?: LiveFragment;
}

/** Told when a stream gains its first / loses its last stored-notice subscriber (the bus bridge subscribes per stream). */
export type InterestHook = (streamId: number, interested: boolean) => void;

/** A stream counts as fed by a producer on another node while its announcements are this recent. */
export const REMOTE_PRODUCER_WINDOW_MS = 15_000;

interface Buffered {
  fragment: LiveFragment;
  policy: RetainPolicy;
}

interface StreamFeed {
  items: Buffered[];
  bytes: number;
  listeners: Set<(f: LiveFragment) => void>;
  progress?: FragmentProgress;
  progressListeners: Set<(p: FragmentProgress) => void>;
  progressWantedAt: number;
  storedListeners: Set<(n: StoredNotice) => void>;
  remoteStoredAt?: number;
  /** When a reader last asked for buffered fragments (recent / find). */
  readAt: number;
}

/**
 * In-process fan-out of newly stored fragments to live GetMedia/HLS readers, with a bounded
 * buffer of recent ones per stream (and a global bound for the archive tail caches). In a
 * cluster, the bus bridge (src/bus/feed-bridge.ts) announces this node's stored fragments on the
 * live bus and feeds other nodes' announcements in through `announceRemote` (records only).
 */
export class LiveFeed {
  private readonly streams = new Map<number, StreamFeed>();
  private tailBytes = 0;
  private readonly anyListeners = new Set<(f: LiveFragment) => void>();
  private interestHook: InterestHook | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  private feed(streamId: number): StreamFeed {
    let f = this.streams.get(streamId);
    if (!f) {
      f = { items: [], bytes: 0, listeners: new Set(), progressListeners: new Set(), progressWantedAt: 0, storedListeners: new Set(), readAt: 0 };
      this.streams.set(streamId, f);
    }
    return f;
  }

  publish(fragment: LiveFragment, policy: RetainPolicy): void {
    const f = this.feed(fragment.record.streamId);
    if (f.progress?.fragmentNumber === fragment.record.fragmentNumber) delete f.progress;
    f.items.push({ fragment, policy });
    f.bytes += fragment.record.sizeBytes;
    if (policy === TAIL_CACHE) this.tailBytes += fragment.record.sizeBytes;
    this.trim(f, this.now());
    while (this.tailBytes > TAIL_CACHE_TOTAL_BYTES && this.evictOldestTail()) {
      // keep evicting the globally oldest tail-cache fragment
    }
    for (const l of [...f.listeners]) l(fragment);
    for (const l of [...f.storedListeners]) l({ record: fragment.record, live: fragment });
    for (const l of [...this.anyListeners]) l(fragment);
  }

  /** A fragment another node stored (heard on the live bus): wakes readers, buffers nothing. */
  announceRemote(record: FragmentRecord): void {
    const f = this.streams.get(record.streamId);
    if (!f) return;
    f.remoteStoredAt = this.now();
    for (const l of [...f.storedListeners]) l({ record });
  }

  /** Announcements for the stream may have been missed (its bus subscription just took hold): its subscribers re-read the index. */
  resync(streamId: number): void {
    const f = this.streams.get(streamId);
    if (f) for (const l of [...f.storedListeners]) l({});
  }

  /** Announcements may have been missed (the bus reconnected): every stored-notice subscriber re-reads the index. */
  resyncAll(): void {
    for (const f of this.streams.values()) for (const l of [...f.storedListeners]) l({});
  }

  /** Whether another node announced a fragment of the stream recently (its producer is likely still there). */
  remoteProducerActive(streamId: number): boolean {
    const at = this.streams.get(streamId)?.remoteStoredAt;
    return at !== undefined && this.now() - at < REMOTE_PRODUCER_WINDOW_MS;
  }

  /** Stored fragments of one stream, local (with bytes) and, with a bus, remote (record only). */
  subscribeStored(streamId: number, listener: (n: StoredNotice) => void): () => void {
    const f = this.feed(streamId);
    f.storedListeners.add(listener);
    if (f.storedListeners.size === 1) this.interestHook?.(streamId, true);
    return () => {
      if (!f.storedListeners.delete(listener)) return;
      if (f.storedListeners.size === 0) this.interestHook?.(streamId, false);
    };
  }

  /** The bus bridge learns which streams have readers here (one hook; streams already watched are reported at once). */
  setInterestHook(hook: InterestHook | undefined): void {
    this.interestHook = hook;
    if (hook) for (const [id, f] of this.streams) if (f.storedListeners.size > 0) hook(id, true);
  }

  private trim(f: StreamFeed, now: number): void {
    for (;;) {
      const head = f.items[0];
      if (!head) return;
      const p = head.policy;
      const old = head.fragment.record.serverTimestampMs < now - p.maxAgeMs && f.items.length > 1;
      if (f.items.length > p.maxCount || f.bytes > p.maxBytes || old) this.dropHead(f);
      else return;
    }
  }

  private dropHead(f: StreamFeed): void {
    const old = f.items.shift()!;
    f.bytes -= old.fragment.record.sizeBytes;
    if (old.policy === TAIL_CACHE) this.tailBytes -= old.fragment.record.sizeBytes;
  }

  private evictOldestTail(): boolean {
    let oldest: StreamFeed | undefined;
    for (const f of this.streams.values()) {
      const head = f.items[0];
      if (head?.policy !== TAIL_CACHE) continue;
      if (!oldest || head.fragment.record.serverTimestampMs < oldest.items[0]!.fragment.record.serverTimestampMs) oldest = f;
    }
    if (!oldest) return false;
    this.dropHead(oldest);
    return true;
  }

  /** Ages every buffer (idle streams included); the retention sweep calls it. */
  expireAll(): void {
    const now = this.now();
    for (const f of this.streams.values()) {
      for (;;) {
        const head = f.items[0];
        if (!head || head.fragment.record.serverTimestampMs >= now - head.policy.maxAgeMs) break;
        this.dropHead(f);
      }
    }
  }

  /**
   * The policy for a newly archived fragment: TAIL_CACHE while the stream has live readers
   * (subscribers, progress listeners, an all-streams listener, or a recent()/find() in the last
   * 30 s), else UNREAD_TAIL (nothing kept).
   */
  tailPolicy(streamId: number): RetainPolicy {
    if (this.anyListeners.size > 0) return TAIL_CACHE;
    const f = this.streams.get(streamId);
    if (!f) return UNREAD_TAIL;
    const now = this.now();
    const read = f.listeners.size > 0 || f.progressListeners.size > 0 || now - f.readAt < PROGRESS_INTEREST_MS || now - f.progressWantedAt < PROGRESS_INTEREST_MS;
    return read ? TAIL_CACHE : UNREAD_TAIL;
  }

  /** Whether anyone wants progress reports for the stream (ingest skips the work otherwise). */
  progressWanted(streamId: number): boolean {
    const f = this.streams.get(streamId);
    return !!f && (f.progressListeners.size > 0 || this.now() - f.progressWantedAt < PROGRESS_INTEREST_MS);
  }

  /** Reports the fragment currently arriving on a stream. */
  publishProgress(p: FragmentProgress): void {
    const f = this.feed(p.streamId);
    f.progress = p;
    for (const l of [...f.progressListeners]) l(p);
  }

  /** The fragment currently arriving, if any (cleared when it is published whole). Asking registers interest. */
  progress(streamId: number): FragmentProgress | undefined {
    const f = this.feed(streamId);
    f.progressWantedAt = this.now();
    return f.progress;
  }

  subscribeProgress(streamId: number, listener: (p: FragmentProgress) => void): () => void {
    const f = this.feed(streamId);
    f.progressListeners.add(listener);
    return () => f.progressListeners.delete(listener);
  }

  /** Buffered fragments, oldest first. */
  recent(streamId: number): readonly LiveFragment[] {
    const f = this.feed(streamId);
    f.readAt = this.now();
    return f.items.map((i) => i.fragment);
  }

  /** The buffered fragment with this number, if still in memory. */
  find(streamId: number, fragmentNumber: string): LiveFragment | undefined {
    const f = this.feed(streamId);
    f.readAt = this.now();
    return f.items.find((i) => i.fragment.record.fragmentNumber === fragmentNumber)?.fragment;
  }

  /** Every stream's new fragments (e.g. to start work for a stream at its first fragment). */
  subscribeAll(listener: (f: LiveFragment) => void): () => void {
    this.anyListeners.add(listener);
    return () => this.anyListeners.delete(listener);
  }

  subscribe(streamId: number, listener: (f: LiveFragment) => void): () => void {
    const f = this.feed(streamId);
    f.listeners.add(listener);
    return () => f.listeners.delete(listener);
  }

  /** Drops buffered fragments older than `beforeMs` (retention for the no-archive buffer). */
  expire(streamId: number, beforeMs: number): void {
    const f = this.streams.get(streamId);
    if (!f) return;
    while (f.items.length && f.items[0]!.fragment.record.serverTimestampMs < beforeMs) this.dropHead(f);
  }

  dropStream(streamId: number): void {
    const f = this.streams.get(streamId);
    if (!f) return;
    while (f.items.length) this.dropHead(f);
    delete f.progress;
    if (f.listeners.size === 0 && f.progressListeners.size === 0 && f.storedListeners.size === 0) this.streams.delete(streamId);
  }
}
