/**
 * PutMedia use case: admits one producer per stream (the slot on the stream's owner object, held
 * under this node's ownership lease), numbers fragments by fencing epoch, and makes each one
 * durable (media bytes fsynced, then the index row committed under the epoch's fence) before
 * PERSISTED goes out.
 */
import type { Readable } from 'node:stream';
import type { IngestLimits } from '../config.ts';
import { MkvStreamParser } from '../mkv/index.ts';
import type { Clock } from '../shared/clock.ts';
import { AckError, KvsError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { NO_ARCHIVE_BUFFER, lazyLiveFragment, type LiveFeed } from '../store/live-feed.ts';
import type { FragmentIndex, FragmentRecord, MediaStore, StreamRecord } from '../store/types.ts';
import { StaleFenceError, type LeaseFence } from '../store/leases.ts';
import type { StreamOwner } from './stream-owner.ts';
import type { StreamOwnership } from './stream-ownership.ts';
import type { CompletedFragment } from './fragment-assembler.ts';
import { decoderForBody } from './body-decoder.ts';
import { PutMediaSession, type AckSink, type FragmentPersister } from './put-media-session.ts';
import type { TimecodeType } from './producer-time.ts';
import { TokenBucket } from '../shared/token-bucket.ts';

export interface IngestDeps {
  index: FragmentIndex;
  /** This node's stream owners and their leases (producer slot, fencing epoch, numbering). */
  ownership: StreamOwnership;
  media: MediaStore;
  feed: LiveFeed;
  clock: Clock;
  limits: IngestLimits;
  log: Logger;
  /** Current stream record (retention may change mid-session). */
  currentStream: (id: number) => Promise<StreamRecord | undefined>;
  /**
   * Called synchronously once a fragment is committed to the index (retention > 0), before its
   * PERSISTED ACK. Must only enqueue (e.g. KVS image generation / notifications); a throw is logged.
   */
  onPersisted?: (p: PersistedFragment) => void;
  /**
   * `--durability replicated`: awaited after the index commit and before the PERSISTED ACK (uploads
   * the fragment to the object store); a rejection makes the producer get ARCHIVAL_ERROR.
   */
  replicate?: (p: PersistedFragment, header: Buffer, chunks: readonly Buffer[]) => Promise<void>;
  /** Optional: an observer for one session's ACK lines (metrics), created when the session opens. */
  observeAcks?: (stream: StreamRecord) => (ack: string) => void;
}

/** A fragment that has just become durable, with what the index row does not keep. */
export interface PersistedFragment {
  stream: StreamRecord;
  fragment: FragmentRecord;
  /** `AWS_KINESISVIDEO_IMAGE_PREFIX` tag value, if the producer sent one. */
  imagePrefix?: string;
}

export class IngestService {
  /** Times a producer was slowed down by the per-stream rate limits (for /metrics). */
  throttledReads = 0;

  constructor(private readonly deps: IngestDeps) {}

  /** Whether a PutMedia connection on this node is feeding the stream now. */
  hasProducer(streamId: number): boolean {
    return this.deps.ownership.peek(streamId)?.producer !== undefined;
  }

  /**
   * Claims the stream's single producer slot on its owner object: ConnectionLimitExceededException
   * when taken here, InvalidEndpointException when another node owns the stream.
   */
  async open(
    stream: StreamRecord,
    params: { timecodeType: TimecodeType; producerStartMs: number | undefined },
    sink: AckSink,
  ): Promise<PutMediaSession> {
    const busy = () => new KvsError('ConnectionLimitExceededException', `Stream ${stream.name} already has an active PutMedia connection.`);
    if (this.deps.ownership.peek(stream.id)?.producer) throw busy();
    const owner = await this.deps.ownership.claim(stream);
    if (owner.producer) throw busy();
    // ARRIVAL producers (no timing headers) continue after the stream's newest fragment, even when they push faster than real time.
    const newest = params.timecodeType === 'ARRIVAL' ? await this.deps.index.latest(stream.id) : undefined;
    if (owner.producer) throw busy();
    const log = this.deps.log.child({ stream: stream.name });
    const observe = this.deps.observeAcks?.(stream);
    const acks: AckSink = observe ? {
      write: (ack) => {
        observe(ack);
        sink.write(ack);
      },
      end: () => sink.end(),
    } : sink;
    const session = new PutMediaSession(this.persisterFor(stream, owner), acks, {
      ...params,
      ...(newest ? { arrivalFloorMs: newest.producerTimestampMs + newest.durationMs } : {}),
      limits: this.deps.limits,
      clock: this.deps.clock,
      log,
      throttle: this.throttleFor(owner),
      decoderFor: (head) => decoderForBody(head, () => new MkvStreamParser({ maxBlockSize: this.deps.limits.maxFragmentBytes, maxClusterSize: this.deps.limits.maxFragmentBytes })),
    });
    owner.attach(session, this.deps.clock.now());
    return session;
  }

  /** Runs an opened session to its end and frees the stream's producer slot. */
  async run(stream: StreamRecord, session: PutMediaSession, body: Readable): Promise<void> {
    try {
      await session.run(body);
    } finally {
      this.deps.ownership.peek(stream.id)?.detach(session, this.deps.clock.now());
    }
  }

  /** The stream was deleted: its producer gets STREAM_NOT_ACTIVE. */
  abortStream(streamId: number): void {
    this.deps.ownership.peek(streamId)?.producer?.abort(new AckError('STREAM_NOT_ACTIVE', 'The stream was deleted.'));
  }

  async close(): Promise<void> {
    this.deps.ownership.forEachProducer((s) => s.abort(new AckError('INTERNAL_ERROR', 'Server is shutting down.')));
  }

  /**
   * Over the per-stream rate the body is read more slowly (TCP backpressure) rather than refused:
   * KVS documents no ACK error for it, and slowing keeps every byte. Buckets allow 10 s of burst.
   * Every read is also counted as the node's ingest load.
   */
  private throttleFor(owner: StreamOwner): (bytes: number, fragments: number) => number {
    const { maxBytesPerSec, maxFragmentsPerSec } = this.deps.limits;
    if (!owner.rate && (maxBytesPerSec > 0 || maxFragmentsPerSec > 0)) {
      const now = () => this.deps.clock.now();
      owner.rate = {
        ...(maxBytesPerSec > 0 ? { bytes: new TokenBucket(maxBytesPerSec, maxBytesPerSec * 10, now) } : {}),
        ...(maxFragmentsPerSec > 0 ? { fragments: new TokenBucket(maxFragmentsPerSec, maxFragmentsPerSec * 10, now) } : {}),
      };
    }
    const { bytes: byteBucket, fragments: fragmentBucket } = owner.rate ?? {};
    return (bytes, fragments) => {
      owner.ingestBytes += bytes;
      const wait = Math.max(byteBucket?.take(bytes) ?? 0, fragments > 0 ? (fragmentBucket?.take(fragments) ?? 0) : 0);
      if (wait > 0) this.throttledReads++;
      return wait;
    };
  }

  private persisterFor(stream: StreamRecord, owner: StreamOwner): FragmentPersister {
    const headerIds = new Map<Buffer, number>();
    // Captured once: every insert of this session names the epoch it was numbered under.
    const fence = owner.fence;
    // Fragments of a session are persisted concurrently (their fsyncs group-commit), but become
    // visible in fragment order: index readers resume after a fragment number and feed subscribers
    // skip anything older than what they saw, so an early-finishing later fragment would hide the
    // ones before it. Each persist takes its turn at the call (fragment order) and waits for the
    // previous one's index row and publication before its own.
    let lastTurn: Promise<void> = Promise.resolve();
    let prepared = false;
    return {
      wantsProgress: () => this.deps.feed.progressWanted(stream.id),
      progress: (p) =>
        this.deps.feed.publishProgress({
          streamId: stream.id,
          fragmentNumber: p.fragmentNumber,
          serverTimestampMs: p.serverTimestampMs,
          producerTimestampMs: Math.round(p.producerTimestampMs),
          header: p.header,
          clusterChildren: p.children,
          blocks: p.blocks,
        }),
      number: (serverTimestampMs) => {
        // The first fragment started: let the store open its segment while the cluster arrives.
        if (!prepared && stream.dataRetentionInHours > 0) this.deps.media.prepare?.(stream.id);
        prepared = true;
        return owner.numberFragment(serverTimestampMs);
      },
      persist: async (f, fragmentNumber, serverTimestampMs) => {
        const previous = lastTurn;
        let done!: () => void;
        lastTurn = new Promise<void>((resolve) => (done = resolve));
        try {
          return await this.persistInTurn(stream, owner, fence, headerIds, previous, f, fragmentNumber, serverTimestampMs);
        } finally {
          done();
        }
      },
    };
  }

  private async persistInTurn(
    stream: StreamRecord,
    owner: StreamOwner,
    fence: LeaseFence | undefined,
    headerIds: Map<Buffer, number>,
    previous: Promise<void>,
    f: CompletedFragment,
    fragmentNumber: string,
    serverTimestampMs: number,
  ): Promise<boolean> {
    const current = await this.streamRecord(stream, owner);
    const record: FragmentRecord = {
      streamId: stream.id,
      fragmentNumber,
      producerTimestampMs: Math.round(f.producerTimestampMs),
      serverTimestampMs,
      durationMs: f.durationMs,
      sizeBytes: f.byteLength,
      headerId: 0,
      location: { segment: '', offset: 0, length: f.byteLength },
      tags: f.tags,
      flags: f.flags,
    };
    if (current.dataRetentionInHours === 0) {
      await previous;
      this.deps.feed.publish(lazyLiveFragment(record, f.header, f.chunks), NO_ARCHIVE_BUFFER);
      return false;
    }
    record.location = await this.deps.media.append(stream.id, f.chunks);
    record.headerId = await this.headerId(stream.id, f, headerIds);
    await previous;
    try {
      await this.deps.index.insert(record, fence);
    } catch (err) {
      // Another node took the stream over: the producer is told to re-resolve (ERROR 5000), not 5001.
      if (err instanceof StaleFenceError) owner.lose('Another node took the stream over.');
      throw err;
    }
    if (this.deps.replicate) await this.deps.replicate({ stream: current, fragment: record }, f.header, f.chunks);
    this.deps.feed.publish(lazyLiveFragment(record, f.header, f.chunks), this.deps.feed.tailPolicy(stream.id));
    if (this.deps.onPersisted) {
      try {
        this.deps.onPersisted({ stream: current, fragment: record, ...(f.imagePrefix !== undefined ? { imagePrefix: f.imagePrefix } : {}) });
      } catch (err) {
        this.deps.log.warn({ err, fragmentNumber }, 'onPersisted hook failed');
      }
    }
    return true;
  }

  /** The stream's current record, re-read at most once a second (retention may change mid-session). */
  private async streamRecord(stream: StreamRecord, owner: StreamOwner): Promise<StreamRecord> {
    const now = this.deps.clock.now();
    const hit = owner.record;
    if (hit && now - hit.at < 1000) return hit.record;
    const record = (await this.deps.currentStream(stream.id)) ?? stream;
    owner.record = { record, at: now };
    return record;
  }

  private async headerId(streamId: number, f: CompletedFragment, cache: Map<Buffer, number>): Promise<number> {
    let id = cache.get(f.header);
    if (id === undefined) {
      id = await this.deps.index.putHeader(streamId, f.header);
      cache.set(f.header, id);
    }
    return id;
  }
}
