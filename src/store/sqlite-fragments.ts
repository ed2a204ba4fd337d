import { createHash } from 'node:crypto';
import type { SqliteDb } from './sqlite-db.ts';
import { SqliteWriter, type FragmentRow } from './sqlite-writer.ts';
import type { FragmentIndex, FragmentRangeQuery, FragmentRecord, MediaLocationIndex, SealedLocation, TimestampKind } from './types.ts';
import { StaleFenceError, type LeaseFence } from './leases.ts';

/** Rows read back: what the writer inserts, plus the sealed location the sealer adds later. */
type Row = FragmentRow & { object_key?: string | null; object_offset?: number | null };

/** Columns added after the first release; added in place when an older index lacks them. */
const ADDED_COLUMNS: ReadonlyArray<[string, string]> = [
  ['object_key', 'TEXT'],
  ['object_offset', 'INTEGER'],
];

const SCHEMA = `
CREATE TABLE IF NOT EXISTS mkv_headers (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  stream_id INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  bytes BLOB NOT NULL,
  UNIQUE (stream_id, sha256)
);
CREATE TABLE IF NOT EXISTS fragments (
  stream_id INTEGER NOT NULL,
  fragment_number TEXT NOT NULL,
  producer_ts INTEGER NOT NULL,
  server_ts INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  size_bytes INTEGER NOT NULL,
  header_id INTEGER NOT NULL,
  segment TEXT NOT NULL,
  byte_offset INTEGER NOT NULL,
  byte_length INTEGER NOT NULL,
  tags TEXT,
  flags INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (stream_id, fragment_number)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS fragments_by_producer_ts ON fragments (stream_id, producer_ts);
CREATE INDEX IF NOT EXISTS fragments_by_server_ts ON fragments (stream_id, server_ts);
`;

const COLUMN_BY_KIND: Record<TimestampKind, string> = { PRODUCER_TIMESTAMP: 'producer_ts', SERVER_TIMESTAMP: 'server_ts' };

function toRow(f: FragmentRecord): FragmentRow {
  return {
    stream_id: f.streamId,
    fragment_number: f.fragmentNumber,
    producer_ts: f.producerTimestampMs,
    server_ts: f.serverTimestampMs,
    duration_ms: f.durationMs,
    size_bytes: f.sizeBytes,
    header_id: f.headerId,
    segment: f.location.segment,
    byte_offset: f.location.offset,
    byte_length: f.location.length,
    tags: Object.keys(f.tags).length ? JSON.stringify(f.tags) : null,
    flags: f.flags,
  };
}

function toRecord(r: Row): FragmentRecord {
  return {
    streamId: r.stream_id,
    fragmentNumber: r.fragment_number,
    producerTimestampMs: r.producer_ts,
    serverTimestampMs: r.server_ts,
    durationMs: r.duration_ms,
    sizeBytes: r.size_bytes,
    headerId: r.header_id,
    location: {
      segment: r.segment,
      offset: r.byte_offset,
      length: r.byte_length,
      ...(r.object_key ? { object: { key: r.object_key, offset: r.object_offset ?? 0 } } : {}),
    },
    tags: r.tags ? (JSON.parse(r.tags) as Record<string, string>) : {},
    flags: r.flags,
  };
}

/**
 * Embedded fragment index on SQLite (WAL, synchronous=FULL). Reads run on the caller's
 * connection. Writes, given a database file, go to a writer thread (sqlite-writer.ts) so that
 * commit fsyncs never stall the event loop; inserts are group-committed there. Without a file
 * (in-memory tests) writes run inline, batched per event-loop turn.
 */
export class SqliteFragmentIndex implements FragmentIndex, MediaLocationIndex {
  private pending: Array<{ f: FragmentRecord; fence: LeaseFence | undefined; resolve: () => void; reject: (e: unknown) => void }> = [];
  private flushScheduled = false;
  private readonly stmts;
  private readonly headerCache = new Map<number, Buffer>();

  private readonly writer: SqliteWriter | undefined;

  constructor(
    private readonly db: SqliteDb,
    writerFile?: string,
  ) {
    db.exec(SCHEMA);
    const have = new Set((db.prepare('PRAGMA table_info(fragments)').all() as Array<{ name: string }>).map((c) => c.name));
    for (const [name, type] of ADDED_COLUMNS) if (!have.has(name)) db.exec(`ALTER TABLE fragments ADD COLUMN ${name} ${type}`);
    // Only rows still in the local log: stays small however long the sealed history grows.
    db.exec('CREATE INDEX IF NOT EXISTS fragments_local_by_segment ON fragments (stream_id, segment) WHERE object_key IS NULL');
    this.writer = writerFile ? new SqliteWriter(writerFile) : undefined;
    this.stmts = {
      findHeader: db.prepare('SELECT id FROM mkv_headers WHERE stream_id = ? AND sha256 = ?'),
      insertHeader: db.prepare('INSERT INTO mkv_headers (stream_id, sha256, bytes) VALUES (?, ?, ?)'),
      getHeader: db.prepare('SELECT bytes FROM mkv_headers WHERE id = ?'),
      insert: db.prepare(`INSERT INTO fragments (stream_id, fragment_number, producer_ts, server_ts, duration_ms,
        size_bytes, header_id, segment, byte_offset, byte_length, tags, flags)
        VALUES (@stream_id, @fragment_number, @producer_ts, @server_ts, @duration_ms, @size_bytes, @header_id,
        @segment, @byte_offset, @byte_length, @tags, @flags)`),
      get: db.prepare('SELECT * FROM fragments WHERE stream_id = ? AND fragment_number = ?'),
      afterFirst: db.prepare('SELECT * FROM fragments WHERE stream_id = ? ORDER BY fragment_number LIMIT ?'),
      after: db.prepare(
        'SELECT * FROM fragments WHERE stream_id = ? AND fragment_number > ? ORDER BY fragment_number LIMIT ?',
      ),
      latest: db.prepare('SELECT * FROM fragments WHERE stream_id = ? ORDER BY fragment_number DESC LIMIT 1'),
      deleteOlder: db.prepare('DELETE FROM fragments WHERE stream_id = ? AND server_ts < ?'),
      deleteStream: db.prepare('DELETE FROM fragments WHERE stream_id = ?'),
      deleteHeaders: db.prepare('DELETE FROM mkv_headers WHERE stream_id = ?'),
      committedEnds: db.prepare(
        'SELECT segment, MAX(byte_offset + byte_length) AS end FROM fragments WHERE stream_id = ? AND object_key IS NULL GROUP BY segment',
      ),
      localInSegment: db.prepare('SELECT * FROM fragments INDEXED BY fragments_local_by_segment WHERE stream_id = ? AND segment = ? AND object_key IS NULL ORDER BY byte_offset'),
      markSealed: db.prepare('UPDATE fragments SET object_key = ?, object_offset = ? WHERE stream_id = ? AND fragment_number = ?'),
    };
  }

  async putHeader(streamId: number, bytes: Buffer): Promise<number> {
    const sha = createHash('sha256').update(bytes).digest('hex');
    const found = this.stmts.findHeader.get(streamId, sha) as { id: number } | undefined;
    if (found) return found.id;
    const id = this.writer
      ? await this.writer.putHeader(streamId, sha, bytes)
      : Number(this.stmts.insertHeader.run(streamId, sha, bytes).lastInsertRowid);
    this.headerCache.set(id, bytes);
    return id;
  }

  async getHeader(headerId: number): Promise<Buffer> {
    const cached = this.headerCache.get(headerId);
    if (cached) return cached;
    const row = this.stmts.getHeader.get(headerId) as { bytes: Buffer } | undefined;
    if (!row) throw new Error(`MKV header ${headerId} is missing from the index`);
    this.headerCache.set(headerId, row.bytes);
    return row.bytes;
  }

  /** A fenced insert is checked against `stream_leases` (sqlite-leases.ts) in the commit's transaction. */
  insert(fragment: FragmentRecord, fence?: LeaseFence): Promise<void> {
    if (this.writer) return this.writer.insert(toRow(fragment), fence);
    return new Promise((resolve, reject) => {
      this.pending.push({ f: fragment, fence, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    const insertAll = this.db.transaction((items: typeof batch) =>
      items.map(({ f, fence }) => {
        if (fence && !this.db.prepare('SELECT 1 FROM stream_leases WHERE stream_id = ? AND node_id = ? AND epoch = ?').get(f.streamId, fence.nodeId, fence.epoch)) {
          return new StaleFenceError(f.streamId, fence.epoch);
        }
        this.stmts.insert.run(toRow(f));
        return undefined;
      }),
    );
    try {
      const outcomes = insertAll(batch);
      batch.forEach((p, i) => (outcomes[i] ? p.reject(outcomes[i]) : p.resolve()));
    } catch {
      // One refused row (a duplicate number) must not fail the others committed with it: one by one.
      for (const p of batch) {
        try {
          const outcome = insertAll([p])[0];
          if (outcome) p.reject(outcome);
          else p.resolve();
        } catch (err) {
          p.reject(err);
        }
      }
    }
  }

  async get(streamId: number, fragmentNumber: string): Promise<FragmentRecord | undefined> {
    const row = this.stmts.get.get(streamId, fragmentNumber) as Row | undefined;
    return row && toRecord(row);
  }

  async after(streamId: number, afterFragmentNumber: string | undefined, limit: number): Promise<FragmentRecord[]> {
    const rows = (
      afterFragmentNumber === undefined
        ? this.stmts.afterFirst.all(streamId, limit)
        : this.stmts.after.all(streamId, afterFragmentNumber, limit)
    ) as Row[];
    return rows.map(toRecord);
  }

  async latest(streamId: number): Promise<FragmentRecord | undefined> {
    const row = this.stmts.latest.get(streamId) as Row | undefined;
    return row && toRecord(row);
  }

  async atTimestamp(streamId: number, kind: TimestampKind, ms: number): Promise<FragmentRecord | undefined> {
    const col = COLUMN_BY_KIND[kind];
    const containing = this.db
      .prepare(
        `SELECT * FROM fragments WHERE stream_id = ? AND ${col} <= ? AND ${col} + duration_ms > ?
         ORDER BY ${col} DESC, fragment_number ASC LIMIT 1`,
      )
      .get(streamId, ms, ms) as Row | undefined;
    if (containing) return toRecord(containing);
    const next = this.db
      .prepare(`SELECT * FROM fragments WHERE stream_id = ? AND ${col} >= ? ORDER BY ${col}, fragment_number LIMIT 1`)
      .get(streamId, ms) as Row | undefined;
    return next && toRecord(next);
  }

  async range(q: FragmentRangeQuery): Promise<FragmentRecord[]> {
    const col = COLUMN_BY_KIND[q.kind];
    const rows = this.db
      .prepare(
        `SELECT * FROM fragments WHERE stream_id = ? AND ${col} BETWEEN ? AND ? AND fragment_number > ?
         ORDER BY fragment_number LIMIT ?`,
      )
      .all(q.streamId, q.startMs, q.endMs, q.afterFragmentNumber ?? '', q.limit) as Row[];
    return rows.map(toRecord);
  }

  async deleteOlderThan(streamId: number, beforeMs: number): Promise<number> {
    if (this.writer) return this.writer.run('DELETE FROM fragments WHERE stream_id = ? AND server_ts < ?', [streamId, beforeMs]);
    return this.stmts.deleteOlder.run(streamId, beforeMs).changes;
  }

  async deleteStream(streamId: number): Promise<void> {
    if (this.writer) {
      await this.writer.run('DELETE FROM fragments WHERE stream_id = ?', [streamId]);
      await this.writer.run('DELETE FROM mkv_headers WHERE stream_id = ?', [streamId]);
      this.headerCache.clear();
      return;
    }
    this.db.transaction(() => {
      this.stmts.deleteStream.run(streamId);
      this.stmts.deleteHeaders.run(streamId);
    })();
    for (const [id] of this.headerCache) this.headerCache.delete(id);
  }

  async committedEnds(streamId: number): Promise<Map<string, number>> {
    const rows = this.stmts.committedEnds.all(streamId) as Array<{ segment: string; end: number }>;
    return new Map(rows.map((r) => [r.segment, r.end]));
  }

  async deleteBeyond(streamId: number, segment: string, validLength: number): Promise<number> {
    // Uploaded fragments do not depend on the local segment any more (and its name may be reused).
    const sql = 'DELETE FROM fragments WHERE stream_id = ? AND segment = ? AND byte_offset + byte_length > ? AND object_key IS NULL';
    if (this.writer) return this.writer.run(sql, [streamId, segment, validLength]);
    return this.db.prepare(sql).run(streamId, segment, validLength).changes;
  }

  async localFragmentsInSegment(streamId: number, segment: string): Promise<FragmentRecord[]> {
    return (this.stmts.localInSegment.all(streamId, segment) as Row[]).map(toRecord);
  }

  async markSealed(streamId: number, sealed: ReadonlyArray<{ fragmentNumber: string; object: SealedLocation }>): Promise<void> {
    if (this.writer) {
      // The writer thread runs single statements; each update is idempotent, so a crash midway only
      // leaves some fragments read locally until the sealer retries.
      for (const s of sealed) {
        await this.writer.run('UPDATE fragments SET object_key = ?, object_offset = ? WHERE stream_id = ? AND fragment_number = ?', [s.object.key, s.object.offset, streamId, s.fragmentNumber]);
      }
      return;
    }
    this.db.transaction(() => {
      for (const s of sealed) this.stmts.markSealed.run(s.object.key, s.object.offset, streamId, s.fragmentNumber);
    })();
  }

  async close(): Promise<void> {
    if (this.pending.length) this.flush();
    await this.writer?.close();
  }
}
