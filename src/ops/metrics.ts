/**
 * Every Prometheus metric Kestrel exports, in one place. Components get small hooks (callbacks the
 * composition root wires); gauges read their value at scrape time. Per-stream labels are capped:
 * streams beyond `maxStreams` are folded into stream="_other" and counted.
 *
 * Two registries: process-wide counters any module may bump without wiring (`countRefusal`,
 * `metrics.evictions`) plus Node's default process metrics, and one per server (KestrelMetrics).
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DetectorLike } from '../detect/types.ts';

const processRegistry = new Registry();
// Node's process metrics start with the first server (not in `kestrel push` and the other clients).
let defaultMetricsStarted = false;

const MAX_REFUSAL_REASONS = 32;
const refusals = new Counter({
  name: 'kestrel_refused_requests_total',
  help: 'Requests refused before reaching a handler, by reason (auth, limits, host checks…)',
  labelNames: ['reason'] as const,
  registers: [processRegistry],
});
const refusalReasons = new Set<string>();

/** Process-wide counters for components that have no wiring to a KestrelMetrics (store, auth, limits). */
export const metrics = {
  /** Fragments removed to free space (size/free-space eviction): `metrics.evictions.inc()` or `.inc(n)`. */
  evictions: new Counter({ name: 'kestrel_evicted_fragments_total', help: 'Fragments evicted to free disk space', registers: [processRegistry] }),
  evictedBytes: new Counter({ name: 'kestrel_evicted_bytes_total', help: 'Bytes evicted to free disk space', registers: [processRegistry] }),
};

/** Counts one refused request, e.g. countRefusal('auth_missing'), countRefusal('connection_limit'). */
export function countRefusal(reason: string): void {
  // Reasons are code constants, but a bug passing user input must not grow the label set without bound.
  if (!refusalReasons.has(reason) && refusalReasons.size >= MAX_REFUSAL_REASONS) reason = 'other';
  refusalReasons.add(reason);
  refusals.inc({ reason });
}

export interface MetricsSources {
  /** Disk free/total bytes are read from the file system holding this folder. */
  dataDir: string;
  activeGetMediaReaders?: () => number;
  /** Current depth of each bounded queue, by name (e.g. outbox, kvs_images). */
  queueDepths?: () => Record<string, number> | Promise<Record<string, number>>;
  /** Per-stream label cap (default 200). */
  maxStreams?: number;
  /** Per-reader live queues by kind of reader (e.g. get_media): bytes held now and discards so far. */
  readerQueues?: () => Record<string, ReaderQueueCounters>;
  /** GetMedia readers ended for being too slow for live. */
  tooSlowReaders?: () => number;
  /** The live bus, when the node has one. */
  bus?: () => { connected: boolean; published: number; publishFailed: number; received: number; reconnects: number };
  /** With --media s3://…: sealer and read-cache counters by name (objects_uploaded, cache_hits…). */
  mediaTier?: () => Record<string, number>;
}

export interface ReaderQueueCounters {
  queuedBytes: number;
  discardedItems: number;
  discardedBytes: number;
  overflowedReaders: number;
}

/** A counter whose value a component keeps (read at scrape time; it only grows). */
function sampledCounter(name: string, help: string, registers: Registry[], labelNames: string[], read: () => Array<[Record<string, string>, number]>): void {
  new Counter({
    name,
    help,
    labelNames,
    registers,
    collect() {
      this.reset();
      for (const [labels, n] of read()) this.inc(labels, n);
    },
  });
}

const SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const OTHER = '_other';

export class KestrelMetrics {
  readonly registry = new Registry();
  private readonly streams = new Set<string>();
  private readonly errorCodes = new Set<string>();
  private readonly maxStreams: number;

  private readonly fragments: Counter<'stream'>;
  private readonly bytes: Counter<'stream'>;
  private readonly errors: Counter<'stream' | 'code'>;
  private readonly persistLatency: Histogram;
  private readonly streamOverflow: Counter;
  private readonly playback: Counter<'protocol' | 'kind' | 'status'>;
  private readonly detectionFrames: Counter;
  private readonly detectionLatency: Histogram;

  constructor(sources: MetricsSources) {
    this.maxStreams = sources.maxStreams ?? 200;
    if (!defaultMetricsStarted) collectDefaultMetrics({ register: processRegistry });
    defaultMetricsStarted = true;
    const registers = [this.registry];
    this.fragments = new Counter({ name: 'kestrel_ingest_fragments_total', help: 'Fragments made durable (PERSISTED), by stream', labelNames: ['stream'], registers });
    this.bytes = new Counter({ name: 'kestrel_ingest_bytes_total', help: 'Bytes of fragments made durable, by stream', labelNames: ['stream'], registers });
    this.errors = new Counter({ name: 'kestrel_ingest_errors_total', help: 'PutMedia ERROR ACKs, by stream and KVS error code', labelNames: ['stream', 'code'], registers });
    this.persistLatency = new Histogram({ name: 'kestrel_ingest_persist_latency_seconds', help: 'From a fragment fully received (RECEIVED) to durable (PERSISTED)', buckets: SECONDS, registers });
    this.streamOverflow = new Counter({ name: 'kestrel_metrics_stream_overflow_total', help: 'Observations folded into stream="_other" because the per-stream label cap was reached', registers });
    this.playback = new Counter({ name: 'kestrel_playback_requests_total', help: 'HLS/DASH requests by protocol, kind (playlist, segment…) and status class', labelNames: ['protocol', 'kind', 'status'], registers });
    this.detectionFrames = new Counter({ name: 'kestrel_detection_frames_total', help: 'Frames run through the live person detector', registers });
    this.detectionLatency = new Histogram({ name: 'kestrel_detection_latency_seconds', help: 'Detector inference time per frame', buckets: SECONDS, registers });
    new Gauge({
      name: 'kestrel_getmedia_active_readers',
      help: 'Open GetMedia connections',
      registers,
      collect() {
        this.set(sources.activeGetMediaReaders?.() ?? 0);
      },
    });
    new Gauge({
      name: 'kestrel_queue_depth',
      help: 'Items waiting or running in each bounded queue',
      labelNames: ['queue'],
      registers,
      async collect() {
        for (const [queue, n] of Object.entries((await sources.queueDepths?.()) ?? {})) this.set({ queue }, n);
      },
    });
    const queues = () => Object.entries(sources.readerQueues?.() ?? {});
    new Gauge({
      name: 'kestrel_reader_queue_bytes',
      help: 'Bytes of fragments queued for live readers now (how far behind live they are), by kind of reader',
      labelNames: ['reader'],
      registers,
      collect() {
        for (const [reader, q] of queues()) this.set({ reader }, q.queuedBytes);
      },
    });
    sampledCounter('kestrel_reader_queue_discarded_total', 'Items discarded because a reader’s queue was full, by kind of reader', registers, ['reader'], () =>
      queues().map(([reader, q]) => [{ reader }, q.discardedItems]));
    sampledCounter('kestrel_reader_queue_discarded_bytes_total', 'Bytes discarded because a reader’s queue was full', registers, ['reader'], () =>
      queues().map(([reader, q]) => [{ reader }, q.discardedBytes]));
    sampledCounter('kestrel_reader_queue_overflows_total', 'Readers whose queue overflowed (too slow for live)', registers, ['reader'], () =>
      queues().map(([reader, q]) => [{ reader }, q.overflowedReaders]));
    sampledCounter('kestrel_getmedia_too_slow_total', 'GetMedia readers ended with a WRITE_ERROR chunk for being too slow for live', registers, [], () => [[{}, sources.tooSlowReaders?.() ?? 0]]);
    if (sources.bus) {
      const bus = sources.bus;
      new Gauge({ name: 'kestrel_bus_connected', help: '1 while the live bus is connected', registers, collect() { this.set(bus().connected ? 1 : 0); } });
      sampledCounter('kestrel_bus_announcements_total', 'Fragment announcements on the live bus: published, failed (bus down), received', registers, ['outcome'], () => {
        const b = bus();
        return [[{ outcome: 'published' }, b.published], [{ outcome: 'failed' }, b.publishFailed], [{ outcome: 'received' }, b.received]];
      });
      sampledCounter('kestrel_bus_reconnects_total', 'Times the live bus connection came back after a loss', registers, [], () => [[{}, bus().reconnects]]);
    }
    new Gauge({
      name: 'kestrel_media_tier',
      help: 'Object-store media tier (--media): sealer counters since start (objects_uploaded, bytes_uploaded, fragments_sealed, upload_failures, key_conflicts, local_segments_removed, objects_deleted, last_seal_lag_ms) and read cache (cache_hits, cache_misses, cache_evictions, cache_bytes, cache_max_bytes)',
      labelNames: ['stat'],
      registers,
      collect() {
        for (const [stat, n] of Object.entries(sources.mediaTier?.() ?? {})) this.set({ stat }, n);
      },
    });
    const disk = (name: string, help: string, pick: (s: fs.StatsFs) => number) =>
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          try {
            this.set(pick(await fs.promises.statfs(sources.dataDir)));
          } catch {
            // The data folder vanished: report nothing rather than fail the scrape.
          }
        },
      });
    disk('kestrel_disk_free_bytes', 'Bytes available to Kestrel on the data folder’s file system', (s) => s.bavail * s.bsize);
    disk('kestrel_disk_size_bytes', 'Size of the data folder’s file system', (s) => s.blocks * s.bsize);
  }

  /** Ingest hook (onPersisted): one fragment is durable. */
  fragmentPersisted(stream: string, sizeBytes: number): void {
    const s = this.streamLabel(stream);
    this.fragments.inc({ stream: s });
    this.bytes.inc({ stream: s }, sizeBytes);
  }

  /**
   * Ingest hook: an observer for one PutMedia session's ACK lines (JSON). Counts ERRORs and times
   * RECEIVED → PERSISTED per fragment; holds at most a few pending fragments per session.
   */
  ackObserver(stream: string): (ackLine: string) => void {
    const received = new Map<string, number>();
    return (line) => {
      let ack: { EventType?: string; FragmentNumber?: string; ErrorCode?: string };
      try {
        ack = JSON.parse(line) as typeof ack;
      } catch {
        return;
      }
      const fragment = ack.FragmentNumber ?? '';
      if (ack.EventType === 'RECEIVED') {
        if (received.size >= 64) received.delete(received.keys().next().value!);
        received.set(fragment, performance.now());
      } else if (ack.EventType === 'PERSISTED') {
        const at = received.get(fragment);
        received.delete(fragment);
        if (at !== undefined) this.persistLatency.observe((performance.now() - at) / 1000);
      } else if (ack.EventType === 'ERROR') {
        received.delete(fragment);
        const code = /^[A-Z_]{1,64}$/.test(ack.ErrorCode ?? '') ? ack.ErrorCode! : 'UNKNOWN';
        this.errorCodes.add(code);
        this.errors.inc({ stream: this.streamLabel(stream), code });
      }
    };
  }

  /** Counts an HLS/DASH request once its response is finished. */
  playbackRequest(protocol: 'hls' | 'dash', kind: string, status: number): void {
    this.playback.inc({ protocol, kind, status: `${Math.floor(status / 100)}xx` });
  }

  /** Wraps the live detector so every frame's inference is counted and timed. */
  timedDetector<D extends DetectorLike>(detector: D): D {
    const detect = detector.detect.bind(detector);
    // A prototype-linked wrapper: everything else (getters included) still reads from the detector.
    const wrapped = Object.create(detector) as D;
    Object.defineProperty(wrapped, 'detect', {
      value: async (frame: Parameters<D['detect']>[0]) => {
        const started = performance.now();
        try {
          return await detect(frame);
        } finally {
          this.detectionFrames.inc();
          this.detectionLatency.observe((performance.now() - started) / 1000);
        }
      },
    });
    return wrapped;
  }

  /** A deleted stream frees its label slot (its series disappear). */
  forgetStream(stream: string): void {
    if (!this.streams.delete(stream)) return;
    this.fragments.remove({ stream });
    this.bytes.remove({ stream });
    for (const code of this.errorCodes) this.errors.remove({ stream, code });
  }

  /** The text exposition: this server's metrics plus the process-wide ones. */
  async render(): Promise<string> {
    return (await this.registry.metrics()) + (await processRegistry.metrics());
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private streamLabel(stream: string): string {
    if (this.streams.has(stream)) return stream;
    if (this.streams.size < this.maxStreams) {
      this.streams.add(stream);
      return stream;
    }
    this.streamOverflow.inc();
    return OTHER;
  }
}
