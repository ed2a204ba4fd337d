/**
 * Storage contracts. Ingest and reads depend only on these interfaces; the embedded
 * implementations (SQLite + local segment files) and later ones (PostgreSQL, S3) plug in behind them.
 * All methods are async so that network-backed implementations fit without changing callers.
 */
import type { LeaseFence } from './leases.ts';

import { KvsError } from '../shared/errors.ts';

export type StreamStatus = 'CREATING' | 'ACTIVE' | 'UPDATING' | 'DELETING';

export interface StreamRecord {
  /** Internal id; a stream deleted and re-created under the same name gets a new id. */
  id: number;
  /**
   * Optimistic-concurrency counter, bumped by every save. Unlike `version` (KVS's Version, which
   * tagging leaves alone) it changes on every write, so `save` can refuse a record read before
   * someone else's write (another request, another node).
   */
  revision: number;
  name: string;
  arn: string;
  version: string;
  status: StreamStatus;
  creationTimeMs: number;
  dataRetentionInHours: number;
  mediaType: string | null;
  deviceName: string | null;
  kmsKeyId: string;
  tags: Record<string, string>;
  storageTier: 'HOT' | 'WARM';
  imageGenerationConfig: unknown | null;
  notificationConfig: unknown | null;
}

export interface ListStreamsQuery {
  prefix?: string;
  /** Exclusive: return names strictly greater than this. */
  afterName?: string;
  limit: number;
}

/** What `create` takes: the repository assigns `id` and the first `revision`. */
export type NewStreamRecord = Omit<StreamRecord, 'id' | 'revision'>;

export interface StreamRepository {
  /** Throws KvsError ResourceInUseException when the name exists. */
  create(rec: NewStreamRecord): Promise<StreamRecord>;
  getById(id: number): Promise<StreamRecord | undefined>;
  getByName(name: string): Promise<StreamRecord | undefined>;
  getByArn(arn: string): Promise<StreamRecord | undefined>;
  list(query: ListStreamsQuery): Promise<StreamRecord[]>;
  count(): Promise<number>;
  /**
   * Replaces the stored record (matched by id) if its revision is still `rec.revision`, and returns
   * it with the new revision. Otherwise (changed or removed since read) throws `StaleStreamError`,
   * a KvsError VersionMismatchException: callers re-read and retry, or surface it.
   */
  save(rec: StreamRecord): Promise<StreamRecord>;
  remove(id: number): Promise<void>;
}

/** The record given to `save` is stale: another writer saved (or removed) the stream since it was read. */
export class StaleStreamError extends KvsError {
  constructor(streamId: number) {
    super('VersionMismatchException', `Stream ${streamId} was changed by another request; read it again and retry.`);
  }
}

/**
 * Where a fragment's bytes live. `segment`/`offset` place them in this node's local log (the
 * write-ahead segment files); once the sealer has uploaded them, `object` names the immutable object
 * and the offset inside it, and reads go there (the local copy may already be gone).
 */
export interface MediaLocation {
  segment: string;
  offset: number;
  length: number;
  object?: SealedLocation;
}

/** A fragment's bytes inside a sealed object (src/mkv/sealed-object.ts) in the object store. */
export interface SealedLocation {
  key: string;
  offset: number;
}

export interface FragmentRecord {
  streamId: number;
  /** 47-digit decimal string; lexicographic order = ingestion order within a stream. */
  fragmentNumber: string;
  producerTimestampMs: number;
  serverTimestampMs: number;
  durationMs: number;
  /** Size of the fragment as KVS reports it (the stored cluster + producer tags). */
  sizeBytes: number;
  /** Id of the MKV header block (EBML header + Segment children before the first Cluster). */
  headerId: number;
  location: MediaLocation;
  /** Producer fragment metadata (user MKV tags), reserved AWS_ tags excluded. */
  tags: Record<string, string>;
  /** Bit flags: FRAGMENT_FLAG_IMAGE_GENERATION, FRAGMENT_FLAG_NOTIFICATION. */
  flags: number;
}

export const FRAGMENT_FLAG_IMAGE_GENERATION = 1;
export const FRAGMENT_FLAG_NOTIFICATION = 2;

export type TimestampKind = 'PRODUCER_TIMESTAMP' | 'SERVER_TIMESTAMP';

export interface FragmentRangeQuery {
  streamId: number;
  kind: TimestampKind;
  /** Inclusive bounds on the fragment's start timestamp, in ms. */
  startMs: number;
  endMs: number;
  /** Exclusive cursor on fragment number. */
  afterFragmentNumber?: string;
  limit: number;
}

export interface FragmentIndex {
  /** Stores an MKV header block once (deduplicated by content) and returns its id. */
  putHeader(streamId: number, bytes: Buffer): Promise<number>;
  getHeader(headerId: number): Promise<Buffer>;
  /**
   * Resolves once the row is committed durably. With a fence (the stream's ownership lease, see
   * leases.ts) the row commits only if the fence is still the stream's current lease, checked in
   * the insert's own transaction; otherwise it rejects with StaleFenceError and nothing is written.
   * (PostgreSQL: `SELECT kestrel_check_fence(stream, node, epoch)` in the insert's transaction,
   * migration 0006_leases.sql; `assertFence` in pg/pg-leases.ts.)
   */
  insert(fragment: FragmentRecord, fence?: LeaseFence): Promise<void>;
  get(streamId: number, fragmentNumber: string): Promise<FragmentRecord | undefined>;
  /** Fragments with number > afterFragmentNumber (or from the first), ascending. */
  after(streamId: number, afterFragmentNumber: string | undefined, limit: number): Promise<FragmentRecord[]>;
  latest(streamId: number): Promise<FragmentRecord | undefined>;
  /** The fragment containing the instant, else the first one starting after it. */
  atTimestamp(streamId: number, kind: TimestampKind, ms: number): Promise<FragmentRecord | undefined>;
  range(query: FragmentRangeQuery): Promise<FragmentRecord[]>;
  /** Deletes rows with serverTimestamp < beforeMs; returns how many were removed. */
  deleteOlderThan(streamId: number, beforeMs: number): Promise<number>;
  deleteStream(streamId: number): Promise<void>;
  /** Per segment, the highest committed byte end (for crash recovery and segment cleanup). */
  committedEnds(streamId: number): Promise<Map<string, number>>;
  /** Removes rows whose bytes end beyond `validLength` in a segment (bytes lost or corrupted); returns count. */
  deleteBeyond(streamId: number, segment: string, validLength: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * What the sealer needs of the index beyond FragmentIndex: find fragments still only in the local log
 * and record that they were uploaded. Segment-based queries of FragmentIndex (committedEnds,
 * deleteBeyond) see only fragments that are still local.
 */
export interface MediaLocationIndex {
  /** Fragments of the segment not yet in the object store, ascending. */
  localFragmentsInSegment(streamId: number, segment: string): Promise<FragmentRecord[]>;
  /** Records the sealed location of each fragment (one commit). */
  markSealed(streamId: number, sealed: ReadonlyArray<{ fragmentNumber: string; object: SealedLocation }>): Promise<void>;
}

export interface MediaStore {
  /** Appends bytes for a stream; resolves when they are durable (fsynced). */
  append(streamId: number, chunks: readonly Buffer[]): Promise<MediaLocation>;
  /**
   * Optional: a fragment for the stream has started arriving; get ready to append (open the
   * segment file) so the first append does not wait for it. Never fails: the append retries.
   */
  prepare?(streamId: number): void;
  /**
   * The bytes at `location`. With `into` (large enough), they are read into it and a view of it
   * is returned, so a reader that reuses its buffers allocates nothing per fragment.
   */
  read(streamId: number, location: MediaLocation, into?: Buffer): Promise<Buffer>;
  /** Segments currently on disk for the stream, oldest first. */
  segments(streamId: number): Promise<string[]>;
  segmentSize(streamId: number, segment: string): Promise<number>;
  /** When the segment was last written (ms since the epoch). */
  segmentModifiedMs(streamId: number, segment: string): Promise<number>;
  /** Removes whole segments (never the one being appended to). */
  removeSegments(streamId: number, segments: readonly string[]): Promise<void>;
  /** The segment appends currently go to, if one is open. */
  activeSegment(streamId: number): string | undefined;
  /** Closes the open segment so that it can be evicted; the next append starts a new one. */
  seal(streamId: number): Promise<void>;
  /** Truncates a segment to `length` bytes (drops uncommitted tail after a crash). */
  truncate(streamId: number, segment: string, length: number): Promise<void>;
  removeStream(streamId: number): Promise<void>;
  /** Stream ids that have media on disk (for orphan cleanup). */
  streamIds(): Promise<number[]>;
  close(): Promise<void>;
}
