/**
 * Turns the MKV event stream of one PutMedia body into fragments (one Cluster = one fragment),
 * enforcing KVS's ingest rules. Pure: no I/O, no clock (the caller passes server time), so the
 * rules are unit-testable with inline byte builders.
 */
import type { MkvEvent, SimpleTag, TrackEntry } from '../mkv/index.ts';
import { KVS_TAG } from '../mkv/index.ts';
import { AckError } from '../shared/errors.ts';
import { FRAGMENT_FLAG_IMAGE_GENERATION, FRAGMENT_FLAG_NOTIFICATION } from '../store/types.ts';
import { MediaValidator } from './media-validation.ts';
import type { TimecodeType } from './producer-time.ts';

const CLUSTER_ID = Buffer.from([0x1f, 0x43, 0xb6, 0x75]);
const SEGMENT_UNKNOWN = Buffer.from([0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
/** Level-1 elements that describe a file layout we do not reproduce; they would mislead readers. */
const DROPPED_HEADER_IDS = new Set([0x114d9b74 /* SeekHead */, 0x1c53bb6b /* Cues */, 0xec /* Void */, 0xbf /* CRC-32 */]);

export interface AssemblerLimits {
  maxFragmentBytes: number;
  maxFragmentDurationMs: number;
  maxTracks: number;
  maxFragmentTags: number;
}

/** A fragment whose first timecode is known (BUFFERING can be sent). */
export interface OpenFragment {
  index: number;
  /** The raw cluster Timecode, echoed in ACKs. */
  timecode: number;
  producerTimestampMs: number;
}

export interface CompletedFragment extends OpenFragment {
  /** EBML header + unknown-size Segment header + Info/Tracks/producer Tags, as GetMedia repeats it. */
  header: Buffer;
  tracks: readonly TrackEntry[];
  /** The cluster (re-headed with its known size) followed by this fragment's producer Tags. */
  chunks: Buffer[];
  byteLength: number;
  durationMs: number;
  tags: Record<string, string>;
  flags: number;
  imagePrefix?: string;
}

export type AssemblerOutput = { type: 'started'; fragment: OpenFragment } | { type: 'completed'; fragment: CompletedFragment };

interface Building extends OpenFragment {
  clusterChildren: Buffer[];
  clusterBytes: number;
  trailing: Buffer[];
  trailingBytes: number;
  firstMs: number;
  lastMs: number;
  framesPerTrack: Map<number, number>;
  clusterComplete: boolean;
  knownSizeCluster: boolean;
  tags: Record<string, string>;
  flags: number;
  imagePrefix?: string;
}

export class FragmentAssembler {
  private headerParts: Buffer[] = [];
  private header: Buffer | undefined;
  private tracks: TrackEntry[] = [];
  private timecodeScaleNs = 1_000_000;
  private current: Building | undefined;
  private pendingCluster: { knownSize: boolean; children: Buffer[] } | undefined;
  private lastFrameMs: number | undefined;
  private count = 0;
  private readonly media = new MediaValidator();

  constructor(
    private readonly limits: AssemblerLimits,
    private readonly timecodeType: TimecodeType,
    private producerStartMs: number | undefined,
    /** Server clock, read once for ARRIVAL timecodes (the first fragment's receive time). */
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Feeds parser events; appends fragments started and completed, in order, to `out`.
   * Throws AckError; what was appended before the throw still stands (those fragments are good).
   */
  accept(events: readonly MkvEvent[], out: AssemblerOutput[] = []): AssemblerOutput[] {
    for (const ev of events) this.onEvent(ev, out);
    return out;
  }

  /**
   * Called after each network chunk has been parsed: a known-size cluster whose last byte has
   * arrived is complete now; waiting for the next cluster would add a whole fragment of latency.
   * Producer Tags that arrived in the same chunk have already been attached.
   */
  flushComplete(): AssemblerOutput[] {
    const out: AssemblerOutput[] = [];
    if (this.current?.clusterComplete && this.current.knownSizeCluster) this.complete(out);
    return out;
  }

  /** End of the body: whatever is open is complete. */
  finish(): AssemblerOutput[] {
    const out: AssemblerOutput[] = [];
    if (this.current) this.complete(out);
    return out;
  }

  /** Fragments started so far (a body that ends with none gets an ERROR). */
  get fragmentsStarted(): number {
    return this.count;
  }

  /** The fragment being received, for ERROR ACKs. */
  get open(): OpenFragment | undefined {
    return this.current;
  }

  /**
   * The fragment still arriving, as header + cluster children so far (Timecode first). Live
   * readers that cannot wait for the whole fragment (LL-HLS parts) build on this.
   */
  openSnapshot(): { index: number; header: Buffer; children: readonly Buffer[]; blocks: number } | undefined {
    const f = this.current;
    if (!f || !this.header) return undefined;
    const blocks = [...f.framesPerTrack.values()].reduce((a, b) => a + b, 0);
    return { index: f.index, header: this.header, children: f.clusterChildren.slice(), blocks };
  }

  private onEvent(ev: MkvEvent, out: AssemblerOutput[]): void {
    switch (ev.type) {
      case 'ebml-header':
        // A new header mid-body is how producers restart after a codec change; fragments after it use it.
        if (this.current) this.complete(out);
        this.headerParts = [ev.raw, SEGMENT_UNKNOWN];
        this.header = undefined;
        this.tracks = [];
        this.timecodeScaleNs = 1_000_000;
        return;
      case 'segment-start':
      case 'segment-end':
      case 'skipped':
        return;
      case 'info':
        this.timecodeScaleNs = ev.timecodeScale;
        this.addHeaderPart(ev.raw);
        return;
      case 'tracks':
        if (ev.tracks.length > this.limits.maxTracks) {
          throw new AckError('MORE_THAN_ALLOWED_TRACKS_FOUND', `${ev.tracks.length} tracks; at most ${this.limits.maxTracks} are allowed.`);
        }
        this.media.setTracks(ev.tracks);
        this.tracks = ev.tracks;
        this.addHeaderPart(ev.raw);
        return;
      case 'top-level':
        if (!DROPPED_HEADER_IDS.has(ev.id) && !this.current && !this.header) this.addHeaderPart(ev.raw);
        return;
      case 'tags':
        if (this.current) this.attachTags(ev.raw, ev.tags, out);
        else if (!this.header) this.addHeaderPart(ev.raw);
        return;
      case 'cluster-start':
        if (this.current) this.complete(out);
        if (this.tracks.length === 0) throw new AckError('INVALID_MKV_DATA', 'Cluster before any Tracks element.');
        if (ev.declaredSize !== undefined && ev.declaredSize > this.limits.maxFragmentBytes) {
          throw new AckError('MAX_FRAGMENT_SIZE_REACHED', `Cluster of ${ev.declaredSize} bytes exceeds ${this.limits.maxFragmentBytes}.`);
        }
        this.pendingCluster = { knownSize: !ev.unknownSize, children: [] };
        return;
      case 'cluster-timecode':
        this.startFragment(ev.timecode, ev.raw, out);
        return;
      case 'block':
        this.addBlock(ev.raw, ev.block.track, ev.block.relativeTimecode);
        this.media.checkBlock(ev.block);
        return;
      case 'cluster-child':
        // CRC-32 (ffmpeg writes one first) and the like may precede the Timecode.
        if (this.pendingCluster) {
          this.pendingCluster.children.push(ev.raw);
          return;
        }
        this.requireFragment('cluster child').clusterChildren.push(ev.raw);
        this.current!.clusterBytes += ev.raw.length;
        return;
      case 'cluster-end':
        if (this.pendingCluster) throw new AckError('INVALID_MKV_DATA', 'Cluster without a Timecode.');
        if (this.current) this.current.clusterComplete = true;
        return;
    }
  }

  private addHeaderPart(raw: Buffer): void {
    if (this.headerParts.length === 0) throw new AckError('INVALID_MKV_DATA', 'Segment data before the EBML header.');
    this.headerParts.push(raw);
  }

  private toMs(ticks: number): number {
    return (ticks * this.timecodeScaleNs) / 1_000_000;
  }

  private startFragment(timecode: number, raw: Buffer, out: AssemblerOutput[]): void {
    if (!this.pendingCluster) throw new AckError('INVALID_MKV_DATA', 'Timecode outside a Cluster.');
    const relMs = this.toMs(timecode);
    if (this.timecodeType === 'ARRIVAL') this.producerStartMs ??= this.now() - relMs;
    const producerTimestampMs = this.timecodeType === 'ABSOLUTE' ? relMs : (this.producerStartMs ?? 0) + relMs;
    if (!Number.isFinite(producerTimestampMs) || producerTimestampMs < 0 || producerTimestampMs > 8.64e15) {
      throw new AckError('INVALID_PRODUCER_TIMESTAMP', `Producer timestamp ${producerTimestampMs} ms is out of range.`);
    }
    this.header ??= Buffer.concat(this.headerParts);
    this.current = {
      index: this.count++,
      timecode,
      producerTimestampMs,
      clusterChildren: [...this.pendingCluster.children, raw],
      clusterBytes: this.pendingCluster.children.reduce((n, c) => n + c.length, raw.length),
      trailing: [],
      trailingBytes: 0,
      firstMs: Number.POSITIVE_INFINITY,
      lastMs: Number.NEGATIVE_INFINITY,
      framesPerTrack: new Map(),
      clusterComplete: false,
      knownSizeCluster: this.pendingCluster.knownSize,
      tags: {},
      flags: 0,
    };
    this.pendingCluster = undefined;
    out.push({ type: 'started', fragment: { index: this.current.index, timecode, producerTimestampMs } });
  }

  private requireFragment(what: string): Building {
    if (!this.current || this.current.clusterComplete) {
      throw new AckError('INVALID_MKV_DATA', `${what} outside a Cluster with a Timecode.`);
    }
    return this.current;
  }

  private addBlock(raw: Buffer, track: number, relativeTimecode: number): void {
    const f = this.requireFragment('Block');
    if (!this.tracks.some((t) => t.number === track)) {
      throw new AckError('TRACK_NUMBER_MISMATCH', `Block for track ${track}, which Tracks does not declare.`);
    }
    const ms = this.toMs(f.timecode + relativeTimecode) + (f.producerTimestampMs - this.toMs(f.timecode));
    if (f.framesPerTrack.size === 0 && this.lastFrameMs !== undefined && ms <= this.lastFrameMs) {
      throw new AckError(
        'FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS',
        `Fragment starts at ${ms} ms, not after the previous fragment's last frame at ${this.lastFrameMs} ms.`,
      );
    }
    f.firstMs = Math.min(f.firstMs, ms);
    f.lastMs = Math.max(f.lastMs, ms);
    if (f.lastMs - f.firstMs > this.limits.maxFragmentDurationMs) {
      throw new AckError('MAX_FRAGMENT_DURATION_REACHED', `Fragment longer than ${this.limits.maxFragmentDurationMs} ms.`);
    }
    f.framesPerTrack.set(track, (f.framesPerTrack.get(track) ?? 0) + 1);
    f.clusterChildren.push(raw);
    f.clusterBytes += raw.length;
    this.checkSize(f);
  }

  private checkSize(f: Building): void {
    if (f.clusterBytes + f.trailingBytes > this.limits.maxFragmentBytes) {
      throw new AckError('MAX_FRAGMENT_SIZE_REACHED', `Fragment larger than ${this.limits.maxFragmentBytes} bytes.`);
    }
  }

  private attachTags(raw: Buffer, tags: readonly SimpleTag[], out: AssemblerOutput[]): void {
    const f = this.current!;
    let endOfFragment = false;
    const user: Array<[string, string]> = [];
    for (const t of tags) {
      if (t.name === KVS_TAG.END_OF_FRAGMENT) endOfFragment = true;
      else if (t.name === KVS_TAG.IMAGE_GENERATION) f.flags |= FRAGMENT_FLAG_IMAGE_GENERATION;
      else if (t.name === KVS_TAG.NOTIFICATION) f.flags |= FRAGMENT_FLAG_NOTIFICATION;
      else if (t.name === KVS_TAG.IMAGE_PREFIX) f.imagePrefix = t.value;
      else if (!t.name.startsWith('AWS')) user.push([t.name, t.value]);
    }
    for (const [name, value] of user) {
      if (Buffer.byteLength(name) > 128 || Buffer.byteLength(value) > 256) {
        throw new AckError('FRAGMENT_METADATA_LIMIT_REACHED', `Tag ${name.slice(0, 40)} exceeds 128-byte name / 256-byte value.`);
      }
      f.tags[name] = value;
    }
    const count = Object.keys(f.tags).length + (f.flags ? 1 : 0);
    if (count > this.limits.maxFragmentTags) {
      throw new AckError('FRAGMENT_METADATA_LIMIT_REACHED', `More than ${this.limits.maxFragmentTags} metadata tags in a fragment.`);
    }
    // The end-of-fragment marker is a protocol signal, not content: it is not stored.
    if (!(endOfFragment && tags.length === 1)) {
      f.trailing.push(raw);
      f.trailingBytes += raw.length;
      this.checkSize(f);
    }
    if (endOfFragment) this.complete(out);
  }

  private complete(out: AssemblerOutput[]): void {
    const f = this.current;
    if (!f) return;
    this.current = undefined;
    if (f.framesPerTrack.size === 0) throw new AckError('INVALID_MKV_DATA', 'Cluster without any frames.');
    for (const t of this.tracks) {
      if (!f.framesPerTrack.has(t.number)) {
        throw new AckError('FRAMES_MISSING_FOR_TRACK', `Track ${t.number} has no frames in this fragment.`);
      }
    }
    // Re-head the cluster with its real size (8-byte size field) so stored fragments are
    // self-delimiting even when the producer wrote an unknown-size cluster.
    const clusterHeader = Buffer.alloc(12);
    CLUSTER_ID.copy(clusterHeader, 0);
    clusterHeader[4] = 0x01;
    clusterHeader.writeUIntBE(f.clusterBytes, 6, 6);
    const chunks = [clusterHeader, ...f.clusterChildren, ...f.trailing];
    const frameGap = this.estimateFrameGap(f);
    this.lastFrameMs = f.lastMs;
    out.push({
      type: 'completed',
      fragment: {
        index: f.index,
        timecode: f.timecode,
        producerTimestampMs: f.producerTimestampMs,
        header: this.header!,
        tracks: this.tracks,
        chunks,
        byteLength: clusterHeader.length + f.clusterBytes + f.trailingBytes,
        durationMs: Math.max(0, Math.round(f.lastMs - f.firstMs + frameGap)),
        tags: f.tags,
        flags: f.flags,
        ...(f.imagePrefix !== undefined ? { imagePrefix: f.imagePrefix } : {}),
      },
    });
  }

  /** Duration of the last frame is not in the stream; use the average gap between frames. */
  private estimateFrameGap(f: Building): number {
    const frames = Math.max(...f.framesPerTrack.values());
    return frames > 1 ? (f.lastMs - f.firstMs) / (frames - 1) : 0;
  }
}
