/**
 * Read use cases over the fragment index: GetMedia (archive catch-up, then live tail),
 * GetMediaForFragmentList and ListFragments.
 */
import type { Clock } from '../shared/clock.ts';
import { KvsError, invalidArgument } from '../shared/errors.ts';
import type { LiveFeed, LiveFragment } from '../store/live-feed.ts';
import type { FragmentIndex, FragmentRecord, MediaStore, StreamRecord } from '../store/types.ts';
import { fragmentChunk } from './fragment-chunk.ts';
import { ReadBuffers } from './read-buffers.ts';
import { decodeListToken, encodeListToken } from './list-token.ts';
import { fragmentNumber, intInRange, parseFragmentSelector, type StartSelector } from './selectors.ts';

/**
 * Where a streaming read writes. `write` resolves once the transport has taken the bytes (handed
 * them to the kernel: the buffers may then be reused) or the sink closed.
 */
export interface ChunkSink {
  write(parts: Buffer[]): Promise<void>;
  readonly closed: boolean;
  onClose(listener: () => void): void;
}

export interface ReaderDeps {
  index: FragmentIndex;
  media: MediaStore;
  feed: LiveFeed;
  clock: Clock;
  idleTimeoutMs: number;
  /** Wait at the end of stored data when no producer is connected (default idleTimeoutMs). */
  endOfDataWaitMs?: number;
  producerActive?: (streamId: number) => boolean;
  maxGetMediaConnectionsPerStream?: number;
}

const BATCH = 64;

/** A fragment ready to send; `buffer` is the reusable read buffer `body` is a view of (archive reads). */
interface LoadedFragment {
  header: Buffer;
  body: Buffer;
  buffer?: Buffer;
}

export class FragmentReader {
  private readonly readers = new Map<number, number>();
  private readonly aborters = new Set<() => void>();

  constructor(private readonly deps: ReaderDeps) {}

  /** Throws before anything is written when the request cannot be served (so the API can answer an error). */
  /** Open GetMedia connections over all streams (metrics). */
  get activeGetMediaReaders(): number {
    let n = 0;
    for (const c of this.readers.values()) n += c;
    return n;
  }

  admitGetMedia(stream: StreamRecord): () => void {
    const max = this.deps.maxGetMediaConnectionsPerStream ?? 3;
    const n = this.readers.get(stream.id) ?? 0;
    if (n >= max) {
      throw new KvsError('ConnectionLimitExceededException', `Stream ${stream.name} already has ${max} GetMedia connections.`);
    }
    this.readers.set(stream.id, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.readers.get(stream.id) ?? 1) - 1;
      if (left <= 0) this.readers.delete(stream.id);
      else this.readers.set(stream.id, left);
    };
  }

  /**
   * Streams fragments from the selector on, then follows the stream live. Ends when the client
   * goes away, when nothing new arrives for idleTimeoutMs while a producer is connected, or — as
   * KVS does — shortly after the end of stored data when none is (`endOfDataWaitMs`, per request
   * or from the deps). Consumers resume with the continuation token.
   */
  async getMedia(stream: StreamRecord, selector: StartSelector, sink: ChunkSink, opts: { endOfDataWaitMs?: number } = {}): Promise<void> {
    const { feed } = this.deps;
    const queued: LiveFragment[] = [];
    let wake: (() => void) | undefined;
    const unsubscribe = feed.subscribe(stream.id, (f) => {
      queued.push(f);
      wake?.();
    });
    const abort = () => wake?.();
    this.aborters.add(abort);
    sink.onClose(abort);
    const buffers = new ReadBuffers();
    try {
      let cursor = await this.startCursor(stream, selector);
      const archived = stream.dataRetentionInHours > 0;
      for (;;) {
        if (sink.closed || !this.aborters.has(abort)) return;
        // Catch up from the index (or the in-memory buffer for retention 0) in batches.
        const batch = archived ? await this.deps.index.after(stream.id, cursor.after, BATCH) : this.fromBuffer(stream.id, cursor.after);
        await this.send(stream.id, batch, buffers, sink, (record) => ({ millisBehindNow: this.deps.clock.now() - record.serverTimestampMs }));
        if (sink.closed) return;
        const last = batch.at(-1);
        if (last) cursor = { after: last.fragmentNumber };
        if (batch.length === BATCH) continue;
        // Caught up: serve what the feed delivered meanwhile, then wait for more.
        const pending = queued.splice(0).filter((f) => cursor.after === undefined || f.record.fragmentNumber > cursor.after);
        for (const f of pending) {
          if (sink.closed) return;
          await sink.write(fragmentChunk(f.record, f.header, f.body, { millisBehindNow: this.deps.clock.now() - f.record.serverTimestampMs }));
          cursor = { after: f.record.fragmentNumber };
        }
        if (pending.length) continue;
        const endOfDataWaitMs = opts.endOfDataWaitMs ?? this.deps.endOfDataWaitMs ?? this.deps.idleTimeoutMs;
        const gotMore = await this.waitForMore(stream.id, endOfDataWaitMs, (w) => (wake = w));
        wake = undefined;
        if (!gotMore) return;
      }
    } finally {
      unsubscribe();
      this.aborters.delete(abort);
    }
  }

  /**
   * Waits for a new fragment (true) or gives up (false): after idleTimeoutMs while a producer is
   * connected, after `endOfDataWaitMs` once none is (counted from when it left). `setWake`
   * receives the function that ends the wait early.
   */
  private async waitForMore(streamId: number, endOfDataWaitMs: number, setWake: (wake: () => void) => void): Promise<boolean> {
    const { clock, idleTimeoutMs, producerActive } = this.deps;
    const idleDeadline = clock.now() + idleTimeoutMs;
    let endDeadline: number | undefined;
    for (;;) {
      const live = producerActive?.(streamId) ?? true;
      const now = clock.now();
      endDeadline = live ? undefined : (endDeadline ?? now + endOfDataWaitMs);
      const deadline = Math.min(idleDeadline, endDeadline ?? Infinity);
      if (now >= deadline) return false;
      // While a producer is connected, look again every second: it may leave.
      const sliceMs = live && producerActive ? Math.min(1000, deadline - now) : deadline - now;
      const woke = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), sliceMs);
        setWake(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (woke) return true;
    }
  }

  /**
   * Sends fragments in order, reading the next one from disk while the current one is being
   * sent. `trailer` runs just before each fragment goes out (undefined: no trailing tags).
   * Stops early when the sink closes.
   */
  private async send(
    streamId: number,
    records: readonly FragmentRecord[],
    buffers: ReadBuffers,
    sink: ChunkSink,
    trailer: (record: FragmentRecord) => { millisBehindNow: number } | undefined,
  ): Promise<void> {
    let next = records[0] ? this.prefetch(streamId, records[0], buffers) : undefined;
    for (const [i, record] of records.entries()) {
      if (sink.closed) return;
      const { header, body, buffer } = await next!;
      const following = records[i + 1];
      next = following ? this.prefetch(streamId, following, buffers) : undefined;
      await sink.write(fragmentChunk(record, header, body, trailer(record)));
      // Written means handed to the transport; a closed sink may still hold it, so then it is dropped.
      if (buffer && !sink.closed) buffers.give(buffer);
    }
  }

  /** Starts loading a fragment; a load nobody awaits (the client left) must not become an unhandled rejection. */
  private prefetch(streamId: number, record: FragmentRecord, buffers: ReadBuffers): Promise<LoadedFragment> {
    const p = this.load(streamId, record, buffers);
    p.catch(() => undefined);
    return p;
  }

  private async load(streamId: number, record: FragmentRecord, buffers: ReadBuffers): Promise<LoadedFragment> {
    const live = this.deps.feed.find(streamId, record.fragmentNumber);
    if (live) return { header: live.header, body: live.body };
    const buffer = buffers.take(record.location.length);
    const [header, body] = await Promise.all([this.deps.index.getHeader(record.headerId), this.deps.media.read(streamId, record.location, buffer)]);
    return { header, body, buffer };
  }

  private fromBuffer(streamId: number, after: string | undefined): FragmentRecord[] {
    return this.deps.feed
      .recent(streamId)
      .filter((f) => after === undefined || f.record.fragmentNumber > after)
      .map((f) => f.record);
  }

  /** Returns the exclusive cursor to read after; undefined means "from the first fragment". */
  private async startCursor(stream: StreamRecord, selector: StartSelector): Promise<{ after: string | undefined }> {
    const { index, feed } = this.deps;
    const archived = stream.dataRetentionInHours > 0;
    const buffered = feed.recent(stream.id);
    switch (selector.type) {
      case 'EARLIEST':
        return { after: undefined };
      case 'FRAGMENT_NUMBER':
      case 'CONTINUATION_TOKEN':
        return { after: selector.after };
      case 'NOW': {
        const latest = archived ? await index.latest(stream.id) : buffered.at(-1)?.record;
        return { after: latest ? before(latest.fragmentNumber) : undefined };
      }
      case 'SERVER_TIMESTAMP':
      case 'PRODUCER_TIMESTAMP': {
        const hit = archived
          ? await index.atTimestamp(stream.id, selector.type, selector.atMs)
          : bufferedAt(buffered, selector.type, selector.atMs);
        if (hit) return { after: before(hit.fragmentNumber) };
        // Nothing at or after the instant yet: follow live from the newest fragment on.
        const latest = archived ? await index.latest(stream.id) : buffered.at(-1)?.record;
        return { after: latest?.fragmentNumber };
      }
    }
  }

  async getMediaForFragmentList(stream: StreamRecord, fragments: unknown, sink: ChunkSink): Promise<void> {
    const records = await this.resolveFragmentList(stream, fragments);
    await this.send(stream.id, records, new ReadBuffers(), sink, () => undefined);
  }

  /** Validates the whole list before the response starts, so a bad number is a clean 4xx. */
  async resolveFragmentList(stream: StreamRecord, fragments: unknown): Promise<FragmentRecord[]> {
    if (!Array.isArray(fragments) || fragments.length < 1 || fragments.length > 1000) {
      throw invalidArgument('Fragments must be a list of 1 to 1000 fragment numbers.');
    }
    const records: FragmentRecord[] = [];
    for (const [i, value] of fragments.entries()) {
      const number = fragmentNumber(value, `Fragments[${i}]`);
      const record = await this.deps.index.get(stream.id, number);
      if (!record) throw new KvsError('ResourceNotFoundException', `Fragment ${number} was not found in stream ${stream.name}.`);
      records.push(record);
    }
    return records;
  }

  async listFragments(stream: StreamRecord, body: Record<string, unknown>): Promise<unknown> {
    const limit = intInRange(body.MaxResults, 'MaxResults', 1, 1000, 1000);
    let selector;
    let after: string | undefined;
    if (body.NextToken !== undefined && body.NextToken !== null) {
      const token = decodeListToken(body.NextToken, stream.id);
      selector = token.selector;
      after = token.after;
    } else if (body.FragmentSelector === undefined || body.FragmentSelector === null) {
      // Optional in KVS: without it every retained fragment is listed.
      selector = { kind: 'SERVER_TIMESTAMP' as const, startMs: 0, endMs: Number.MAX_SAFE_INTEGER };
    } else {
      selector = parseFragmentSelector(body.FragmentSelector);
    }
    const rows = await this.deps.index.range({ streamId: stream.id, ...selector, afterFragmentNumber: after, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      Fragments: page.map((r) => ({
        FragmentNumber: r.fragmentNumber,
        FragmentSizeInBytes: r.sizeBytes,
        ProducerTimestamp: r.producerTimestampMs / 1000,
        ServerTimestamp: r.serverTimestampMs / 1000,
        FragmentLengthInMilliseconds: r.durationMs,
      })),
      ...(rows.length > limit && last ? { NextToken: encodeListToken(stream.id, selector, last.fragmentNumber) } : {}),
    };
  }

  async close(): Promise<void> {
    for (const abort of [...this.aborters]) {
      this.aborters.delete(abort);
      abort();
    }
  }
}

/** The largest fragment number strictly below `n` as an exclusive cursor (numbers are fixed-width digits). */
function before(n: string): string {
  return (BigInt(n) - 1n).toString().padStart(n.length, '0');
}

function bufferedAt(buffered: readonly LiveFragment[], kind: 'SERVER_TIMESTAMP' | 'PRODUCER_TIMESTAMP', ms: number) {
  const ts = (r: FragmentRecord) => (kind === 'SERVER_TIMESTAMP' ? r.serverTimestampMs : r.producerTimestampMs);
  const containing = buffered.find((f) => ts(f.record) <= ms && ts(f.record) + f.record.durationMs > ms);
  return (containing ?? buffered.find((f) => ts(f.record) >= ms))?.record;
}
