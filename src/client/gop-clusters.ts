/**
 * Re-clusters a live Matroska stream the way the KVS producer SDK writes it: one Cluster of
 * unknown size per GOP, each frame written as soon as it arrives, a new Cluster at each key frame
 * of the lead (video) track (without video: at the first key frame 2 s into the cluster). ffmpeg's Matroska muxer can only emit a Cluster once it is closed,
 * so `kestrel ingest` has it close one per frame and this joins them again: the server sees the
 * start of a fragment (BUFFERING, LL-HLS parts, the live tail) while its GOP is still captured.
 */
import { Buffer } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';
import {
  MKV_ID,
  MkvError,
  MkvStreamParser,
  TRACK_TYPE,
  readElementId,
  readElementSize,
  simpleBlock,
  uintElement,
  unknownSizeHeader,
  vintWidth,
  type BlockInfo,
  type MkvEvent,
} from '../mkv/index.ts';

export interface GopClusterStats {
  /** Blocks read from the input. */
  blocksIn: number;
  /** Blocks written (the rest are counted below). */
  blocksOut: number;
  clustersOut: number;
  /** Blocks before the first key frame of the lead track: undecodable, dropped as the producer SDK does. */
  droppedBeforeKeyFrame: number;
  /** Blocks whose timecode is too far before their cluster's to be written (int16 offset). */
  droppedOutOfRange: number;
  /** Clusters started without a key frame because a GOP outgrew the int16 block offset (~32 s at 1 ms ticks). */
  forcedCuts: number;
  /** Input elements with no place in the output (SeekHead, Cues, Void, CRC-32, oversized elements, surplus Tags). */
  droppedElements: number;
  /** The input ended inside an element (ffmpeg killed mid-write): that partial element was dropped. */
  truncatedAtEnd: boolean;
}

/** Tags that arrive mid-GOP wait for the next cluster boundary (a Tags element ends a live cluster). */
const MAX_PENDING_TAGS = 8;
/** Without video every frame is a key frame: cut a cluster (= a fragment) at most this often. */
const NO_VIDEO_CLUSTER_NS = 2_000_000_000;
const INT16_MIN = -32768;
const INT16_MAX = 32767;

/**
 * The pure part: Matroska events in, output byte pieces out (concatenate them in order). Input
 * clusters may be of any length (one frame each from ffmpeg, or whole GOPs); block timecodes
 * are carried over in the input's TimecodeScale.
 */
export class GopReclusterer {
  readonly stats: GopClusterStats = {
    blocksIn: 0, blocksOut: 0, clustersOut: 0, droppedBeforeKeyFrame: 0, droppedOutOfRange: 0, forcedCuts: 0, droppedElements: 0,
    truncatedAtEnd: false,
  };
  private leadTrack: number | undefined;
  /** Shortest cluster in ticks: 0 with a video lead track (cut at every key frame). */
  private minClusterTicks = 0;
  private timecodeScaleNs = 1_000_000;
  private inCluster = false;
  /** Timecode of the input cluster being read (absolute, ticks). */
  private inputClusterTimecode = 0;
  /** Timecode of the output cluster being written; undefined before the first key frame. */
  private outputClusterTimecode: number | undefined;
  private pendingTags: Buffer[] = [];

  push(events: readonly MkvEvent[]): Buffer[] {
    const out: Buffer[] = [];
    for (const e of events) this.accept(e, out);
    return out;
  }

  private accept(e: MkvEvent, out: Buffer[]): void {
    switch (e.type) {
      case 'ebml-header':
        // A (new) stream header: whatever came before is finished.
        this.leadTrack = undefined;
        this.outputClusterTimecode = undefined;
        this.pendingTags = [];
        out.push(e.raw);
        return;
      case 'segment-start':
        // Our clusters differ in size from the input's, so a known Segment size would be wrong.
        out.push(unknownSizeHeader(MKV_ID.Segment));
        return;
      case 'info':
        this.timecodeScaleNs = e.timecodeScale;
        out.push(e.raw);
        return;
      case 'tracks': {
        const video = e.tracks.find((t) => t.type === TRACK_TYPE.Video);
        this.leadTrack = (video ?? e.tracks[0])?.number;
        this.minClusterTicks = video ? 0 : Math.round(NO_VIDEO_CLUSTER_NS / this.timecodeScaleNs);
        out.push(e.raw);
        return;
      }
      case 'tags':
        if (this.outputClusterTimecode === undefined) out.push(e.raw);
        else if (this.pendingTags.push(e.raw) > MAX_PENDING_TAGS) {
          this.pendingTags.shift();
          this.stats.droppedElements++;
        }
        return;
      case 'cluster-start':
        this.inCluster = true;
        this.inputClusterTimecode = 0;
        return;
      case 'cluster-timecode':
        this.inputClusterTimecode = e.timecode;
        return;
      case 'block':
        if (this.inCluster) this.block(e.raw, e.block, out);
        return;
      case 'cluster-end':
        this.inCluster = false;
        return;
      case 'segment-end':
        return;
      case 'top-level':
      case 'cluster-child':
      case 'skipped':
        this.stats.droppedElements++;
        return;
    }
  }

  private block(raw: Buffer, b: BlockInfo, out: Buffer[]): void {
    this.stats.blocksIn++;
    const timecode = this.inputClusterTimecode + b.relativeTimecode;
    const lead = b.track === (this.leadTrack ?? b.track);
    if (this.outputClusterTimecode === undefined && !(lead && b.keyframe)) {
      this.stats.droppedBeforeKeyFrame++;
      return;
    }
    let relative = timecode - (this.outputClusterTimecode ?? timecode);
    if (relative < INT16_MIN) {
      this.stats.droppedOutOfRange++;
      return;
    }
    const cutForSize = relative > INT16_MAX;
    const gopStart = lead && b.keyframe && relative >= this.minClusterTicks;
    if (gopStart || cutForSize || this.outputClusterTimecode === undefined) {
      if (cutForSize && !gopStart) this.stats.forcedCuts++;
      out.push(...this.pendingTags);
      this.pendingTags = [];
      out.push(unknownSizeHeader(MKV_ID.Cluster), uintElement(MKV_ID.Timecode, timecode));
      this.outputClusterTimecode = timecode;
      this.stats.clustersOut++;
      relative = 0;
    }
    out.push(...withRelativeTimecode(raw, b, relative));
    this.stats.blocksOut++;
  }
}

/**
 * The block with a new relative timecode. A SimpleBlock keeps its bytes (pieces around a new
 * 2-byte timecode, no copy); a BlockGroup becomes a SimpleBlock with the same frames and key flag.
 */
function withRelativeTimecode(raw: Buffer, b: BlockInfo, relative: number): Buffer[] {
  if (!b.simple) {
    return [simpleBlock({ track: b.track, relativeTimecode: relative, frames: b.frames, lacing: b.lacing, keyframe: b.keyframe, invisible: b.invisible, discardable: b.discardable })];
  }
  const idLength = readElementId(raw, 0)!.length;
  const sizeLength = readElementSize(raw, idLength)!.length;
  const at = idLength + sizeLength + vintWidth(raw[idLength + sizeLength]!);
  const timecode = Buffer.alloc(2);
  timecode.writeInt16BE(relative, 0);
  return [raw.subarray(0, at), timecode, raw.subarray(at + 2)];
}

/**
 * Bytes in, bytes out: parses the input as it arrives and writes each frame on as soon as its
 * block is complete. Invalid input fails the stream with the parser's MkvError.
 */
export class GopClusterStream extends Transform {
  private readonly parser = new MkvStreamParser();
  readonly reclusterer = new GopReclusterer();

  get stats(): GopClusterStats {
    return this.reclusterer.stats;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.emitPieces(() => this.parser.push(chunk), callback);
  }

  override _flush(callback: TransformCallback): void {
    // Input cut short (ffmpeg killed mid-frame): everything before it already went out as complete
    // blocks of an unknown-size cluster, which ends validly right here; only the partial element is lost.
    this.emitPieces(() => {
      try {
        return this.parser.end();
      } catch (err) {
        if (!(err instanceof MkvError) || !err.message.startsWith('truncated')) throw err;
        this.reclusterer.stats.truncatedAtEnd = true;
        return err.eventsBeforeError;
      }
    }, callback);
  }

  private emitPieces(parse: () => MkvEvent[], callback: TransformCallback): void {
    let pieces: Buffer[];
    try {
      pieces = this.reclusterer.push(parse());
    } catch (err) {
      return callback(err instanceof Error ? err : new Error(String(err)));
    }
    // One copy: the pieces are views into the input chunk (ffmpeg's pipe buffer).
    if (pieces.length) this.push(Buffer.concat(pieces));
    callback();
  }
}
