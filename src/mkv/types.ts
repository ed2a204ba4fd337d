/** Shapes shared by the parser, the writer and their callers. Pure types, no runtime code. */

export type Lacing = 'none' | 'xiph' | 'fixed' | 'ebml';

export interface TrackEntry {
  number: number;
  /** bigint only when the UID does not fit in a safe integer. */
  uid?: bigint | number;
  /** Matroska TrackType: 1 video, 2 audio, 0x11 subtitle, ... */
  type: number;
  codecId: string;
  codecPrivate?: Buffer;
  name?: string;
  defaultDurationNs?: number;
  video?: { width: number; height: number };
  audio?: { samplingFrequency: number; channels: number };
}

export interface BlockInfo {
  /** true for SimpleBlock, false for BlockGroup. */
  simple: boolean;
  track: number;
  /** Signed int16, in TimecodeScale units, relative to the cluster Timecode. */
  relativeTimecode: number;
  keyframe: boolean;
  invisible: boolean;
  discardable: boolean;
  lacing: Lacing;
  /** One entry per frame after lacing is resolved; views into the event's raw. */
  frames: Buffer[];
  /** BlockGroup BlockDuration, in TimecodeScale units. */
  durationTicks?: number;
  /** BlockGroup only: a ReferenceBlock is present, so the frame is not a keyframe. */
  hasReference?: boolean;
}

/** Nested SimpleTags are flattened (parent first); Targets are ignored. */
export interface SimpleTag {
  name: string;
  value: string;
  binary?: Buffer;
}

/** All sizes are payload sizes as declared in the element header. */
export interface MkvLimits {
  /** SimpleBlock / BlockGroup payload; default 50 MiB. */
  maxBlockSize: number;
  /** Declared size of a known-size Cluster; default 50 MiB (KVS fragment limit). */
  maxClusterSize: number;
  /** Elements read whole (EBML header, Info, Tracks, Tags, Cues, ...); larger level-1 ones are skipped. Default 1 MiB. */
  maxHeaderElementSize: number;
}

export type MkvEvent =
  | { type: 'ebml-header'; raw: Buffer; docType: string; docTypeVersion: number }
  /** raw is the Segment header only (ID + size). */
  | { type: 'segment-start'; unknownSize: boolean; declaredSize?: number; raw: Buffer }
  | { type: 'info'; raw: Buffer; timecodeScale: number }
  | { type: 'tracks'; raw: Buffer; tracks: TrackEntry[] }
  | { type: 'tags'; raw: Buffer; tags: SimpleTag[] }
  | { type: 'top-level'; id: number; raw: Buffer }
  /** An element too big to buffer, discarded as it streams by (its bytes appear in no raw). */
  | { type: 'skipped'; id: number; size: number }
  /** raw is the Cluster header only (ID + size); declaredSize is the payload size. */
  | { type: 'cluster-start'; unknownSize: boolean; declaredSize?: number; headerLength: number; raw: Buffer }
  | { type: 'cluster-timecode'; timecode: number; raw: Buffer }
  | { type: 'block'; raw: Buffer; block: BlockInfo }
  | { type: 'cluster-child'; id: number; raw: Buffer }
  | { type: 'cluster-end' }
  | { type: 'segment-end' };

export type MkvEventType = MkvEvent['type'];
