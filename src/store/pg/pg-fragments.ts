/**
 * Fragment index and MKV header blocks in the shared PostgreSQL index (tables `fragments`,
 * `mkv_headers`, migration 0002). Same contract as SqliteFragmentIndex
 * (test/support/fragment-index-contract.ts).
 *
 * Inserts are group-committed: rows that arrive while a commit is in flight go out together in the
 * next one, as ONE multi-row INSERT (unnest of column arrays: one round trip, one commit, one WAL
 * flush for the whole batch). A batch the database refuses (a duplicate fragment number) is retried
 * row by row, so one bad row fails only its own fragment.
 */
import { epochOf } from '../../shared/fragment-number.ts';
import { StaleFenceError } from '../leases.ts';
import { STALE_FENCE_SQLSTATE } from './pg-leases.ts';
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { FragmentIndex, FragmentRangeQuery, FragmentRecord, MediaLocationIndex, SealedLocation, TimestampKind } from '../types.ts';

interface Row {
  stream_id: string;
  fragment_number: string;
  producer_ts: string;
  server_ts: string;
  duration_ms: number;
  size_bytes: string;
  header_id: string;
  segment: string;
  byte_offset: string;
  byte_length: string;
  tags: Record<string, string> | null;
  object_key?: string | null;
  object_offset?: string | null;
  flags: number;
}

const COLUMN_BY_KIND: Record<TimestampKind, string> = { PRODUCER_TIMESTAMP: 'producer_ts', SERVER_TIMESTAMP: 'server_ts' };

/** Rows per INSERT statement; a bigger backlog goes out in several batches. */
const MAX_BATCH_ROWS = 500;
/**
 * Rows waiting for a commit (a few hundred bytes each). Past this — the database stalled while
 * producers keep sending — inserts are refused at once (the producer gets an error ACK) and counted.
 */
export const MAX_QUEUED_ROWS = 20_000;
/** Immutable header blocks kept in memory (GetMedia sends one per fragment run). */
const HEADER_CACHE_MAX = 256;

const INSERT_BATCH = `INSERT INTO fragments (stream_id, fragment_number, producer_ts, server_ts, duration_ms,
  size_bytes, header_id, segment, byte_offset, byte_length, tags, flags)
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::integer[], $6::bigint[],
    $7::bigint[], $8::text[], $9::bigint[], $10::bigint[], $11::jsonb[], $12::integer[])`;

function toRecord(r: Row): FragmentRecord {
  return {
    streamId: Number(r.stream_id),
    fragmentNumber: r.fragment_number,
    producerTimestampMs: Number(r.producer_ts),
    serverTimestampMs: Number(r.server_ts),
    durationMs: r.duration_ms,
    sizeBytes: Number(r.size_bytes),
    headerId: Number(r.header_id),
    location: {
      segment: r.segment,
      offset: Number(r.byte_offset),
      length: Number(r.byte_length),
      ...(r.object_key ? { object: { key: r.object_key, offset: Number(r.object_offset ?? 0) } } : {}),
    },
    tags: r.tags ?? {},
    flags: r.flags,
  };
}

/** The batch as one array per column, in INSERT_BATCH's parameter order. */
function columnArrays(batch: readonly FragmentRecord[]): unknown[][] {
  const cols: unknown[][] = Array.from({ length: 12 }, () => []);
  for (const f of batch) {
    const values = [
      f.streamId,
      f.fragmentNumber,
      f.producerTimestampMs,
      f.serverTimestampMs,
      f.durationMs,
      f.sizeBytes,
      f.headerId,
      f.location.segment,
      f.location.offset,
      f.location.length,
      Object.keys(f.tags).length ? JSON.stringify(f.tags) : null,
      f.flags,
    ];
    values.forEach((v, i) => cols[i]!.push(v));
  }
  return cols;
}

interface Pending {
  fragment: FragmentRecord;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class PgFragmentIndex implements FragmentIndex, MediaLocationIndex {
  private queued: Pending[] = [];
  private committing: Promise<void> | undefined;
  private readonly headerCache = new Map<number, Buffer>();
  /** Batches and rows committed (rows / batches = mean batch size), and inserts refused on a full queue. */
  readonly stats = { batches: 0, rows: 0, refusedQueueFull: 0 };

  constructor(private readonly pool: pg.Pool) {}

  async putHeader(streamId: number, bytes: Buffer): Promise<number> {
    const sha = createHash('sha256').update(bytes).digest('hex');
    // The no-op update makes RETURNING give the id whether this node or another inserted it first.
    const { rows } = await this.pool.query<{ id: string }>(
      `INSERT INTO mkv_headers (stream_id, sha256, bytes) VALUES ($1, $2, $3)
       ON CONFLICT (stream_id, sha256) DO UPDATE SET sha256 = excluded.sha256 RETURNING id`,
      [streamId, sha, bytes],
    );
    const id = Number(rows[0]!.id);
    this.cacheHeader(id, bytes);
    return id;
  }

  async getHeader(headerId: number): Promise<Buffer> {
    const cached = this.headerCache.get(headerId);
    if (cached) return cached;
    const { rows } = await this.pool.query<{ bytes: Buffer }>('SELECT bytes FROM mkv_headers WHERE id = $1', [headerId]);
    if (!rows[0]) throw new Error(`MKV header ${headerId} is missing from the index`);
    this.cacheHeader(headerId, rows[0].bytes);
    return rows[0].bytes;
  }

  private cacheHeader(id: number, bytes: Buffer): void {
    if (this.headerCache.size >= HEADER_CACHE_MAX) this.headerCache.delete(this.headerCache.keys().next().value!);
    this.headerCache.set(id, bytes);
  }

  insert(fragment: FragmentRecord): Promise<void> {
    if (this.queued.length >= MAX_QUEUED_ROWS) {
      this.stats.refusedQueueFull++;
      return Promise.reject(new Error(`index write queue full (${MAX_QUEUED_ROWS} rows waiting for PostgreSQL)`));
    }
    return new Promise((resolve, reject) => {
      this.queued.push({ fragment, resolve, reject });
      this.committing ??= this.commitQueued();
    });
  }

  private async commitQueued(): Promise<void> {
    while (this.queued.length > 0) {
      const batch = this.queued.splice(0, MAX_BATCH_ROWS);
      try {
        await this.pool.query(INSERT_BATCH, columnArrays(batch.map((p) => p.fragment)));
        this.stats.batches++;
        this.stats.rows += batch.length;
        for (const p of batch) p.resolve();
      } catch (err) {
        if (batch.length === 1) batch[0]!.reject(fenceAware(err, batch[0]!.fragment));
        else await this.insertOneByOne(batch);
      }
    }
    this.committing = undefined;
  }

  private async insertOneByOne(batch: readonly Pending[]): Promise<void> {
    for (const p of batch) {
      try {
        await this.pool.query(INSERT_BATCH, columnArrays([p.fragment]));
        this.stats.batches++;
        this.stats.rows++;
        p.resolve();
      } catch (err) {
        p.reject(fenceAware(err, p.fragment));
      }
    }
  }

  async get(streamId: number, fragmentNumber: string): Promise<FragmentRecord | undefined> {
    return this.one('SELECT * FROM fragments WHERE stream_id = $1 AND fragment_number = $2', [streamId, fragmentNumber]);
  }

  async after(streamId: number, afterFragmentNumber: string | undefined, limit: number): Promise<FragmentRecord[]> {
    return this.many(
      `SELECT * FROM fragments WHERE stream_id = $1 AND ($2::text IS NULL OR fragment_number > $2)
       ORDER BY fragment_number LIMIT $3`,
      [streamId, afterFragmentNumber ?? null, limit],
    );
  }

  async latest(streamId: number): Promise<FragmentRecord | undefined> {
    return this.one('SELECT * FROM fragments WHERE stream_id = $1 ORDER BY fragment_number DESC LIMIT 1', [streamId]);
  }

  async atTimestamp(streamId: number, kind: TimestampKind, ms: number): Promise<FragmentRecord | undefined> {
    const col = COLUMN_BY_KIND[kind];
    const containing = await this.one(
      `SELECT * FROM fragments WHERE stream_id = $1 AND ${col} <= $2 AND ${col} + duration_ms > $2
       ORDER BY ${col} DESC, fragment_number ASC LIMIT 1`,
      [streamId, ms],
    );
    if (containing) return containing;
    return this.one(`SELECT * FROM fragments WHERE stream_id = $1 AND ${col} >= $2 ORDER BY ${col}, fragment_number LIMIT 1`, [streamId, ms]);
  }

  async range(q: FragmentRangeQuery): Promise<FragmentRecord[]> {
    const col = COLUMN_BY_KIND[q.kind];
    return this.many(
      `SELECT * FROM fragments WHERE stream_id = $1 AND ${col} BETWEEN $2 AND $3 AND fragment_number > $4
       ORDER BY fragment_number LIMIT $5`,
      [q.streamId, q.startMs, q.endMs, q.afterFragmentNumber ?? '', q.limit],
    );
  }

  async deleteOlderThan(streamId: number, beforeMs: number): Promise<number> {
    const res = await this.pool.query('DELETE FROM fragments WHERE stream_id = $1 AND server_ts < $2', [streamId, beforeMs]);
    return res.rowCount ?? 0;
  }

  async deleteStream(streamId: number): Promise<void> {
    await this.pool.query('DELETE FROM fragments WHERE stream_id = $1', [streamId]);
    await this.pool.query('DELETE FROM mkv_headers WHERE stream_id = $1', [streamId]);
    this.headerCache.clear();
  }

  async committedEnds(streamId: number): Promise<Map<string, number>> {
    const { rows } = await this.pool.query<{ segment: string; end: string }>(
      'SELECT segment, MAX(byte_offset + byte_length) AS end FROM fragments WHERE stream_id = $1 AND object_key IS NULL GROUP BY segment',
      [streamId],
    );
    return new Map(rows.map((r) => [r.segment, Number(r.end)]));
  }

  async deleteBeyond(streamId: number, segment: string, validLength: number): Promise<number> {
    const res = await this.pool.query('DELETE FROM fragments WHERE stream_id = $1 AND segment = $2 AND byte_offset + byte_length > $3 AND object_key IS NULL', [
      streamId,
      segment,
      validLength,
    ]);
    return res.rowCount ?? 0;
  }
  async localFragmentsInSegment(streamId: number, segment: string): Promise<FragmentRecord[]> {
    return this.many('SELECT * FROM fragments WHERE stream_id = $1 AND segment = $2 AND object_key IS NULL ORDER BY byte_offset', [streamId, segment]);
  }

  async markSealed(streamId: number, sealed: ReadonlyArray<{ fragmentNumber: string; object: SealedLocation }>): Promise<void> {
    if (sealed.length === 0) return;
    await this.pool.query(
      `UPDATE fragments f SET object_key = s.key, object_offset = s.off
       FROM unnest($2::text[], $3::text[], $4::bigint[]) AS s(num, key, off)
       WHERE f.stream_id = $1 AND f.fragment_number = s.num`,
      [streamId, sealed.map((x) => x.fragmentNumber), sealed.map((x) => x.object.key), sealed.map((x) => x.object.offset)],
    );
  }


  /** Waits for queued inserts; the pool itself belongs to the caller (shared with the other stores). */
  async close(): Promise<void> {
    while (this.committing) await this.committing;
  }

  private async one(sql: string, values: unknown[]): Promise<FragmentRecord | undefined> {
    const { rows } = await this.pool.query<Row>(sql, values);
    return rows[0] && toRecord(rows[0]);
  }

  private async many(sql: string, values: unknown[]): Promise<FragmentRecord[]> {
    const { rows } = await this.pool.query<Row>(sql, values);
    return rows.map(toRecord);
  }
}

/** The fragments trigger of migration 0006 refuses a row from a superseded owner with SQLSTATE KS409. */
function fenceAware(err: unknown, fragment: FragmentRecord): unknown {
  if ((err as { code?: string }).code !== STALE_FENCE_SQLSTATE) return err;
  return new StaleFenceError(fragment.streamId, epochOf(fragment.fragmentNumber));
}
