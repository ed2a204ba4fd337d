/**
 * One PutMedia connection: bytes in, ACKs out. Parses the body incrementally, assembles
 * fragments, hands them to the persister, and writes BUFFERING → RECEIVED → PERSISTED per
 * fragment (or one ERROR, after which the session ends as KVS does).
 */
import type { Readable } from 'node:stream';
import { MkvError, type MkvEvent } from '../mkv/index.ts';
import type { IngestLimits } from '../config.ts';
import type { Clock } from '../shared/clock.ts';
import { AckError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { formatAck, type AckEvent } from './acks.ts';
import { FragmentAssembler, type AssemblerOutput, type CompletedFragment } from './fragment-assembler.ts';
import type { TimecodeType } from './producer-time.ts';
import { RateWindow } from './rate-window.ts';

export interface AckSink {
  /** Writes one ACK as its own HTTP chunk. */
  write(ack: string): void;
  end(): void;
}

/** Turns body bytes into MKV events; MKV is parsed directly, fMP4 is converted first. */
export interface BodyDecoder {
  push(chunk: Buffer): MkvEvent[];
  end(): MkvEvent[];
}

export interface FragmentPersister {
  /** Optional: whether anyone currently wants progress reports (skips the snapshot work when not). */
  wantsProgress?(): boolean;
  /** Optional: told about the fragment still arriving after each read that added blocks. */
  progress?(snapshot: { fragmentNumber: string; serverTimestampMs: number; producerTimestampMs: number; header: Buffer; children: readonly Buffer[]; blocks: number }): void;
  /** Assigns the fragment number when a fragment starts arriving. */
  number(serverTimestampMs: number): string;
  /** Stores a completed fragment; resolves when durable. Returns false when nothing is archived (retention 0). */
  persist(fragment: CompletedFragment, fragmentNumber: string, serverTimestampMs: number): Promise<boolean>;
}

export interface SessionOptions {
  timecodeType: TimecodeType;
  producerStartMs: number | undefined;
  /** ARRIVAL timecodes: the first fragment's producer timestamp is at least this (the stream's newest fragment end). */
  arrivalFloorMs?: number;
  limits: IngestLimits;
  clock: Clock;
  log: Logger;
  decoderFor: (firstBytes: Buffer) => BodyDecoder;
  /** Per-stream rate limits: told of bytes and fragment starts, returns ms to wait before reading on. */
  throttle?: (bytes: number, fragmentsStarted: number) => number;
}

/** Persists queued beyond this make us stop reading the socket (TCP backpressure to the producer). */
const MAX_IN_FLIGHT = 4;

export class PutMediaSession {
  private readonly assembler: FragmentAssembler;
  private decoder: BodyDecoder | undefined;
  private sniffed: Buffer[] = [];
  private readonly meta = new Map<number, { fragmentNumber: string; serverTimestampMs: number }>();
  /** Persists started and not yet settled (the body pauses at MAX_IN_FLIGHT). */
  private inFlight = 0;
  private persistChain: Promise<void> = Promise.resolve();
  private failed: AckError | undefined;
  private lastFragmentNumber: string | undefined;
  private lastDataAt: number;
  private lastIdleAckAt = 0;
  private readonly startedAt: number;
  private ended = false;
  private readonly received: RateWindow;
  private fragmentsStarted = 0;
  /** Stops reading the body (ERROR, idle, abort): it is left unread, not destroyed. Set while reading. */
  private stopReading: () => void = NOOP;
  /** Told when a persist settles, to resume a body paused for backpressure. Set while reading. */
  private persistSettled: () => void = NOOP;
  fragmentsPersisted = 0;

  constructor(
    private readonly persister: FragmentPersister,
    private readonly sink: AckSink,
    private readonly opts: SessionOptions,
  ) {
    this.assembler = new FragmentAssembler(opts.limits, opts.timecodeType, opts.producerStartMs, () => Math.max(opts.clock.now(), opts.arrivalFloorMs ?? 0));
    this.startedAt = this.lastDataAt = opts.clock.now();
    this.received = new RateWindow(opts.limits.minRateWindowMs, this.startedAt);
  }

  /** Runs until the body ends, an error ends the session, or it idles out. */
  async run(body: Readable): Promise<void> {
    const timer = setInterval(() => this.tick(), Math.min(this.opts.limits.idleAckIntervalMs, 1000));
    try {
      await this.readBody(body);
    } finally {
      clearInterval(timer);
    }
    await this.drain();
    this.ended = true;
    this.sink.end();
  }

  /**
   * Reads the body in flowing mode: one synchronous handler per chunk, no promise per chunk.
   * Backpressure (persists in flight, throttling) pauses the body. Stopping early (ERROR, idle,
   * abort) removes the listeners and pauses it, never destroys it: the socket the ERROR ACK
   * still has to go out on stays open (the api layer drains and closes it after the ACKs).
   */
  private readBody(body: Readable): Promise<void> {
    return new Promise<void>((resolve) => {
      let done = false;
      let throttled: NodeJS.Timeout | undefined;
      const finish = () => {
        if (done) return;
        done = true;
        body.off('data', onData).off('end', onEnd).off('error', onAbort).off('close', onAbort);
        clearTimeout(throttled);
        this.stopReading = NOOP;
        this.persistSettled = NOOP;
        body.pause();
        resolve();
      };
      const resume = () => {
        if (!done && throttled === undefined && this.inFlight < MAX_IN_FLIGHT) body.resume();
      };
      const onData = (chunk: Buffer) => {
        this.lastDataAt = this.opts.clock.now();
        this.received.add(this.lastDataAt, chunk.length);
        const startedBefore = this.fragmentsStarted;
        try {
          this.onChunk(chunk);
        } catch (err) {
          this.fail(toAckError(err));
        }
        if (this.failed || this.ended) return finish();
        const waitMs = this.opts.throttle?.(chunk.length, this.fragmentsStarted - startedBefore) ?? 0;
        if (waitMs > 0) {
          body.pause();
          throttled = setTimeout(() => {
            throttled = undefined;
            resume();
          }, waitMs);
        } else if (this.inFlight >= MAX_IN_FLIGHT) {
          body.pause();
        }
      };
      const onEnd = () => {
        if (!this.failed && !this.ended) this.handle(() => this.onEnd());
        finish();
      };
      // The producer went away mid-body; what was complete is still persisted (run drains).
      const onAbort = (err?: unknown) => {
        if (err) this.opts.log.debug({ err }, 'PutMedia body aborted');
        finish();
      };
      this.stopReading = finish;
      this.persistSettled = resume;
      if (body.readableEnded) return onEnd();
      if (body.destroyed) return onAbort();
      body.on('data', onData).on('end', onEnd).on('error', onAbort).on('close', onAbort);
      body.resume();
    });
  }

  /** Waits for every queued persist and ACK, including ones queued while waiting. */
  private async drain(): Promise<void> {
    let chain: Promise<void>;
    do {
      chain = this.persistChain;
      await chain;
    } while (chain !== this.persistChain);
  }

  /** Ends the session from outside (stream deleted, server shutting down). */
  abort(error: AckError): void {
    this.fail(error);
  }

  private tick(): void {
    if (this.failed || this.ended) return;
    const now = this.opts.clock.now();
    const { idleAckIntervalMs, idleTimeoutMs, maxConnectionDurationMs } = this.opts.limits;
    if (now - this.startedAt > maxConnectionDurationMs) {
      this.fail(new AckError('MAX_CONNECTION_DURATION_REACHED', 'PutMedia connection exceeded its maximum duration.'));
      return;
    }
    const quiet = now - this.lastDataAt;
    if (quiet >= idleTimeoutMs) {
      // KVS sends IDLE for up to 30 s after the last data, then closes the request (no ERROR).
      this.opts.log.info('PutMedia idle timeout; closing');
      this.ended = true;
      this.stopReading();
      return;
    }
    const { minBytesPerSec } = this.opts.limits;
    const windowBytes = minBytesPerSec > 0 ? this.received.bytesInWindow(now) : undefined;
    if (windowBytes !== undefined && windowBytes < minBytesPerSec * this.received.windowSeconds) {
      const rate = Math.floor(windowBytes / this.received.windowSeconds);
      this.fail(new AckError('STREAM_READ_ERROR', `Producer sent ${rate} bytes/s over the last ${this.received.windowSeconds} s; the minimum is ${minBytesPerSec}.`));
      return;
    }
    if (quiet >= idleAckIntervalMs && now - this.lastIdleAckAt >= idleAckIntervalMs) {
      this.lastIdleAckAt = now;
      this.ack({ EventType: 'IDLE', ...(this.lastFragmentNumber ? { FragmentNumber: this.lastFragmentNumber } : {}) });
    }
  }

  private handle(step: () => void): void {
    try {
      step();
    } catch (err) {
      this.fail(toAckError(err));
    }
  }

  /** Runs the assembler, emitting what it produced even when it throws part way. */
  private assemble(events: readonly MkvEvent[]): void {
    const out: AssemblerOutput[] = [];
    try {
      this.assembler.accept(events, out);
    } finally {
      this.emit(out);
    }
  }

  private onChunk(chunk: Buffer): void {
    if (!this.decoder) {
      this.sniffed.push(chunk);
      const head = Buffer.concat(this.sniffed);
      if (head.length < 8) return;
      this.sniffed = [];
      this.decoder = this.opts.decoderFor(head);
      chunk = head;
    }
    let events: MkvEvent[];
    try {
      events = this.decoder.push(chunk);
    } catch (err) {
      // Clusters that completed before the bad bytes still count: ACK them, then fail.
      if (err instanceof MkvError) {
        this.assemble(err.eventsBeforeError);
        this.emit(this.assembler.flushComplete());
      }
      throw err;
    }
    this.assemble(events);
    this.emit(this.assembler.flushComplete());
    this.reportProgress();
  }

  private lastProgress = { index: -1, blocks: 0 };

  private reportProgress(): void {
    if (!this.persister.progress || this.persister.wantsProgress?.() === false) return;
    const snap = this.assembler.openSnapshot();
    if (!snap || snap.blocks === 0) return;
    if (snap.index === this.lastProgress.index && snap.blocks === this.lastProgress.blocks) return;
    this.lastProgress = { index: snap.index, blocks: snap.blocks };
    const meta = this.meta.get(snap.index);
    const open = this.assembler.open;
    if (!meta || !open) return;
    this.persister.progress({ ...meta, producerTimestampMs: open.producerTimestampMs, header: snap.header, children: snap.children, blocks: snap.blocks });
  }

  private onEnd(): void {
    if (!this.decoder) {
      const head = Buffer.concat(this.sniffed);
      if (head.length === 0) throw new AckError('INVALID_MKV_DATA', 'PutMedia body is empty.');
      this.decoder = this.opts.decoderFor(head);
      this.assemble(this.decoder.push(head));
    }
    this.assemble(this.decoder.end());
    this.emit(this.assembler.finish());
    // A header without any Cluster (or moof) is not a PutMedia upload either.
    if (this.assembler.fragmentsStarted === 0) throw new AckError('INVALID_MKV_DATA', 'PutMedia body ended without a fragment (no Cluster).');
  }

  private emit(outputs: AssemblerOutput[]): void {
    for (const o of outputs) {
      if (o.type === 'started') {
        this.fragmentsStarted++;
        const serverTimestampMs = this.opts.clock.now();
        const fragmentNumber = this.persister.number(serverTimestampMs);
        this.meta.set(o.fragment.index, { fragmentNumber, serverTimestampMs });
        this.lastFragmentNumber = fragmentNumber;
        this.ack({ EventType: 'BUFFERING', FragmentTimecode: o.fragment.timecode, FragmentNumber: fragmentNumber });
      } else {
        this.onCompleted(o.fragment);
      }
    }
  }

  private onCompleted(fragment: CompletedFragment): void {
    const m = this.meta.get(fragment.index)!;
    this.meta.delete(fragment.index);
    this.ack({ EventType: 'RECEIVED', FragmentTimecode: fragment.timecode, FragmentNumber: m.fragmentNumber });
    const persist = this.persister.persist(fragment, m.fragmentNumber, m.serverTimestampMs);
    // ACKs must leave in fragment order, so each PERSISTED waits for the ones before it.
    this.inFlight++;
    const p: Promise<void> = Promise.all([persist, this.persistChain]).then(
      ([archived]) => {
        this.inFlight--;
        this.persistSettled();
        this.fragmentsPersisted++;
        if (archived && !this.ended) {
          this.ack({ EventType: 'PERSISTED', FragmentTimecode: fragment.timecode, FragmentNumber: m.fragmentNumber });
        }
      },
      (err: unknown) => {
        this.inFlight--;
        this.opts.log.error({ err, fragmentNumber: m.fragmentNumber }, 'failed to persist fragment');
        this.fail(new AckError('ARCHIVAL_ERROR', 'Failed to persist the fragment.'), fragment.timecode, m.fragmentNumber);
      },
    );
    this.persistChain = p;
  }

  private fail(error: AckError, timecode?: number, fragmentNumber?: string): void {
    if (this.failed || this.ended) return;
    this.failed = error;
    this.stopReading();
    const open = this.assembler.open;
    const ack: AckEvent = {
      EventType: 'ERROR',
      FragmentTimecode: timecode ?? open?.timecode ?? 0,
      FragmentNumber: fragmentNumber ?? (open ? this.meta.get(open.index)?.fragmentNumber : undefined) ?? this.lastFragmentNumber ?? '0',
      ErrorId: error.errorId,
      ErrorCode: error.code,
    };
    this.opts.log.info({ code: error.code, reason: error.message }, 'PutMedia ERROR ACK');
    // Fragments completed before the bad input still get their PERSISTED first; the ERROR is last.
    this.persistChain = this.persistChain.then(() => this.ack(ack));
  }

  private ack(event: AckEvent): void {
    this.sink.write(formatAck(event));
  }
}

const NOOP = (): void => undefined;

function toAckError(err: unknown): AckError {
  if (err instanceof AckError) return err;
  if (err instanceof MkvError) {
    return new AckError(err.kind === 'too-large' ? 'MAX_FRAGMENT_SIZE_REACHED' : 'INVALID_MKV_DATA', err.message);
  }
  return new AckError('INTERNAL_ERROR', err instanceof Error ? err.message : String(err));
}
