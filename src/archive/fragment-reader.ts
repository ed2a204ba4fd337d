/**
 * Read use cases over the fragment index: GetMedia (archive catch-up, then live tail),
 * GetMediaForFragmentList and ListFragments.
 */
import type { Clock } from '../shared/clock.ts';
import { KvsError, invalidArgument } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { LiveFeed, LiveFragment, StoredNotice } from '../store/live-feed.ts';
import { indexedMediaBytes, type FragmentBytes, type FragmentBytesSource } from '../store/fragment-bytes.ts';
import { ReaderQueue, ReaderQueueStats } from '../store/reader-queue.ts';
import type { FragmentIndex, FragmentRecord, MediaStore, StreamRecord } from '../store/types.ts';
import { GET_MEDIA_WRITE_ERROR, errorChunk, fragmentChunk } from './fragment-chunk.ts';
import { ReadBuffers } from './read-buffers.ts';
import { decodeListToken, encodeListToken } from './list-token.ts';
import { fragmentNumber, intInRange, parseFragmentSelector, type StartSelector } from './selectors.ts';

/** Where a streaming read writes; `write` resolves once the transport has taken the bytes (backpressure). */
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
  /** Bytes of a stored fragment not in the live tail (default: index header + media store). */
  bytes?: FragmentBytesSource;
  /** Per-reader live queue bound (default DEFAULT_READER_QUEUE_BYTES); a reader that overflows it is ended. */
  readerQueueBytes?: number;
  log?: Logger;
}

const BATCH = 64;

/** A fragment ready to send; `buffer` is the reusable read buffer `body` may be a view of (archive reads). */
type LoadedFragment = FragmentBytes & { buffer?: Buffer };
/** A live GetMedia reader may fall this far behind (queued fragment bytes) before it is ended. */
export const DEFAULT_READER_QUEUE_BYTES = 32 * 1024 * 1024;

type QueuedNotice = StoredNotice & { record: FragmentRecord };

export class FragmentReader {
  private readonly readers = new Map<number, number>();
  private readonly aborters = new Set<() => void>();
  private readonly bytes: FragmentBytesSource;
  /** Live queues of GetMedia readers: bytes held now, discards (for /metrics). */
  readonly queueStats = new ReaderQueueStats();
  /** GetMedia readers ended because they could not keep up with live (for /metrics). */
  tooSlowReaders = 0;

  constructor(private readonly deps: ReaderDeps) {
    this.bytes = deps.bytes ?? indexedMediaBytes(deps.index, deps.media);
  }

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
   *
   * While catching up on an archived stream, stored-fragment notices only mark that the index has
   * more (nothing is held). Once live, they queue (bounded in bytes): a reader that lets the queue
   * overflow is too slow for live, and gets an in-stream WRITE_ERROR chunk and the end of the
   * response instead of the server buffering for it.
   */
  async getMedia(stream: StreamRecord, selector: StartSelector, sink: ChunkSink, opts: { endOfDataWaitMs?: number } = {}): Promise<void> {
    const { feed } = this.deps;
    const archived = stream.dataRetentionInHours > 0;
    const queue = new ReaderQueue<QueuedNotice>({
      maxBytes: this.deps.readerQueueBytes ?? DEFAULT_READER_QUEUE_BYTES,
      // By fragment size even for another node's fragments (records only): the bound is how far
      // behind live a reader may fall, the same on every node; memory held is at most that.
      sizeOf: (n) => n.record.sizeBytes,
      stats: this.queueStats,
      ...(this.deps.log ? { log: this.deps.log } : {}),
      label: `GetMedia reader of stream ${stream.name}`,
    });
    let catchingUp = archived;
    let moreInIndex = false;
    /** The first fragment this reader lost to a full queue. */
    let lostFrom: string | undefined;
    let wake: (() => void) | undefined;
    const unsubscribe = feed.subscribeStored(stream.id, (n) => {
      if (!n.record || catchingUp) moreInIndex = true;
      else if (lostFrom === undefined && !queue.push(n as QueuedNotice)) {
        lostFrom = n.record.fragmentNumber;
        queue.clear(); // nothing more is held for a reader that is being ended
      }
      wake?.();
    });
    const abort = () => wake?.();
    this.aborters.add(abort);
    sink.onClose(abort);
    let lastHeader: Buffer | undefined;
    const buffers = new ReadBuffers();
    try {
      let cursor = await this.startCursor(stream, selector);
      const send = async (record: FragmentRecord, { header, body, buffer }: LoadedFragment) => {
        await sink.write(fragmentChunk(record, header, body, { millisBehindNow: this.deps.clock.now() - record.serverTimestampMs }));
        cursor = { after: record.fragmentNumber };
        lastHeader = header;
        // Written means the transport has every byte; a closed sink may still hold it, so then it is dropped.
        if (buffer && !sink.closed) buffers.give(buffer);
      };
      for (;;) {
        if (sink.closed || !this.aborters.has(abort)) return;
        if (lostFrom !== undefined) return await this.endTooSlow(stream, sink, lostFrom, lastHeader);
        moreInIndex = false;
        // Catch up from the index (or the in-memory buffer for retention 0) in batches.
        const batch = archived ? await this.deps.index.after(stream.id, cursor.after, BATCH) : this.fromBuffer(stream.id, cursor.after);
        // Read the next fragment from disk while the current one is being sent.
        let next = batch[0] ? this.prefetch(stream.id, batch[0], buffers) : undefined;
        for (const [i, record] of batch.entries()) {
          if (sink.closed) return;
          const bytes = await next!;
          const following = batch[i + 1];
          next = following ? this.prefetch(stream.id, following, buffers) : undefined;
          await send(record, bytes);
        }
        if (batch.length === BATCH) continue;
        catchingUp = false;
        if (moreInIndex) continue; // stored while we read: the index has it
        // Live: serve what the feed delivered meanwhile, then wait for more.
        let served = false;
        for (let n = queue.shift(); n && lostFrom === undefined; n = queue.shift()) {
          if (sink.closed) return;
          if (cursor.after !== undefined && n.record.fragmentNumber <= cursor.after) continue;
          await send(n.record, n.live ?? (await this.load(stream.id, n.record)));
          served = true;
        }
        if (served || moreInIndex || lostFrom !== undefined) continue;
        const endOfDataWaitMs = opts.endOfDataWaitMs ?? this.deps.endOfDataWaitMs ?? this.deps.idleTimeoutMs;
        const gotMore = await this.waitForMore(stream.id, endOfDataWaitMs, (w) => (wake = w));
        wake = undefined;
        if (!gotMore) return;
      }
    } finally {
      unsubscribe();
      queue.clear();
      this.aborters.delete(abort);
    }
  }

  private async endTooSlow(stream: StreamRecord, sink: ChunkSink, lostFrom: string, header: Buffer | undefined): Promise<void> {
    this.tooSlowReaders++;
    this.deps.log?.warn({ stream: stream.name, fragmentNumber: lostFrom }, 'GetMedia reader too slow for live: ending it with a WRITE_ERROR chunk');
    if (!sink.closed) await sink.write(errorChunk(lostFrom, GET_MEDIA_WRITE_ERROR, header));
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

  /** Starts loading a fragment; a load nobody awaits (the client left) must not become an unhandled rejection. */
  private prefetch(streamId: number, record: FragmentRecord, buffers?: ReadBuffers): Promise<LoadedFragment> {
    const p = this.load(streamId, record, buffers);
    p.catch(() => undefined);
    return p;
  }

  private async load(streamId: number, record: FragmentRecord, buffers?: ReadBuffers): Promise<LoadedFragment> {
    const live = this.deps.feed.find(streamId, record.fragmentNumber);
    if (live) return { header: live.header, body: live.body };
    if (!buffers) return this.bytes.read(record);
    const buffer = buffers.take(record.location.length);
    return { ...(await this.bytes.read(record, buffer)), buffer };
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

  /**
   * `beforeFirstWrite`: called once the first fragment's bytes are in hand, so a caller that
   * starts its response there answers a failed first read (e.g. an unreachable owning node)
   * as a clean KVS error instead of a cut-off 200.
   */
  async getMediaForFragmentList(stream: StreamRecord, fragments: unknown, sink: ChunkSink, beforeFirstWrite?: () => void): Promise<void> {
    const records = await this.resolveFragmentList(stream, fragments);
    const buffers = new ReadBuffers();
    let next = records[0] ? this.prefetch(stream.id, records[0], buffers) : undefined;
    for (const [i, record] of records.entries()) {
      if (sink.closed) break;
      const { header, body, buffer } = await next!;
      if (i === 0) beforeFirstWrite?.();
      const following = records[i + 1];
      next = following ? this.prefetch(stream.id, following, buffers) : undefined;
      await sink.write(fragmentChunk(record, header, body, undefined));
      if (buffer && !sink.closed) buffers.give(buffer);
    }
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
