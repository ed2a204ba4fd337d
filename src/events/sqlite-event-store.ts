import type Database from 'better-sqlite3';
import { decodeCursor, encodeCursor, foldEvent, pageLimit } from './event-store.ts';
import type { EventPage, EventStore, ListEventsQuery, RecordOutcome, StoredEvent, StoredEventWithHistory } from './event-store.ts';
import type { DetectionEvent } from './types.ts';

interface EventRow {
  id: string;
  doc: string;
}

/**
 * EventStore on the caller's SQLite database. Tables: `kestrel_events` (one row per tracked
 * person, the folded StoredEvent as JSON plus indexed columns) and `kestrel_event_messages`
 * (every distinct start/update/end message). The async methods wrap synchronous statements; the job
 * store (same database) calls `recordSync` inside its checkpoint transaction.
 */
export class SqliteEventStore implements EventStore {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(db: Database.Database) {
    this.db = db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS kestrel_events (
        id TEXT PRIMARY KEY,
        stream TEXT NOT NULL,
        start_time INTEGER NOT NULL,
        end_time INTEGER,
        state TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        doc TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS kestrel_events_stream_time ON kestrel_events (stream, start_time, id);
      CREATE TABLE IF NOT EXISTS kestrel_event_messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL,
        type TEXT NOT NULL,
        server_ts INTEGER NOT NULL,
        frame_time INTEGER NOT NULL,
        doc TEXT NOT NULL,
        UNIQUE (event_id, type, server_ts, frame_time)
      );
    `);
    // Batch analysis jobs (src/jobs) mark their events; live detection leaves job_id NULL.
    const cols = db.prepare<[], { name: string }>('PRAGMA table_info(kestrel_events)').all();
    if (!cols.some((c) => c.name === 'job_id')) db.exec('ALTER TABLE kestrel_events ADD COLUMN job_id TEXT');
    db.exec('CREATE INDEX IF NOT EXISTS kestrel_events_job_time ON kestrel_events (job_id, start_time, id)');
    this.stmts = {
      getDoc: db.prepare<[string], EventRow>('SELECT id, doc FROM kestrel_events WHERE id = ?'),
      upsert: db.prepare(
        `INSERT INTO kestrel_events (id, stream, start_time, end_time, state, updated_at, doc, job_id)
         VALUES (@id, @stream, @startTime, @endTime, @state, @updatedAt, @doc, @jobId)
         ON CONFLICT(id) DO UPDATE SET stream = excluded.stream, start_time = excluded.start_time,
           end_time = excluded.end_time, state = excluded.state, updated_at = excluded.updated_at, doc = excluded.doc`,
      ),
      addMessage: db.prepare(
        `INSERT OR IGNORE INTO kestrel_event_messages (event_id, type, server_ts, frame_time, doc)
         VALUES (?, ?, ?, ?, ?)`,
      ),
      hasMessage: db.prepare<[string, string, number, number], { one: number }>(
        'SELECT 1 AS one FROM kestrel_event_messages WHERE event_id = ? AND type = ? AND server_ts = ? AND frame_time = ?',
      ),
      history: db.prepare<[string], { doc: string }>('SELECT doc FROM kestrel_event_messages WHERE event_id = ? ORDER BY seq'),
    };
  }

  async record(event: DetectionEvent): Promise<StoredEvent> {
    return this.recordSync(event).event;
  }

  /** `record` as one synchronous transaction (nests inside a caller's transaction on the same db). */
  recordSync(event: DetectionEvent): RecordOutcome {
    return this.db.transaction((ev: DetectionEvent): RecordOutcome => {
      const row = this.stmts.getDoc.get(ev.id);
      const prev = row ? (JSON.parse(row.doc) as StoredEvent) : undefined;
      const added = this.stmts.addMessage.run(ev.id, ev.type, ev.serverTimestamp, ev.frameTime, JSON.stringify(ev));
      if (prev && added.changes === 0) return { event: prev, created: false }; // exact duplicate (e.g. a retried message)
      const next = foldEvent(prev, ev);
      this.stmts.upsert.run({
        id: next.id,
        stream: next.stream.name,
        startTime: next.startTime,
        endTime: next.endTime,
        state: next.state,
        updatedAt: next.updatedAt,
        doc: JSON.stringify(next),
        jobId: next.jobId ?? null,
      });
      return { event: next, created: !prev };
    })(event);
  }

  async hasMessage(ev: DetectionEvent): Promise<boolean> {
    return this.stmts.hasMessage.get(ev.id, ev.type, ev.serverTimestamp, ev.frameTime) !== undefined;
  }

  async get(id: string): Promise<StoredEventWithHistory | undefined> {
    const row = this.stmts.getDoc.get(id);
    if (!row) return undefined;
    const history = this.stmts.history.all(id).map((r) => JSON.parse(r.doc) as DetectionEvent);
    return { ...(JSON.parse(row.doc) as StoredEvent), history };
  }

  async list(query: ListEventsQuery): Promise<EventPage> {
    const limit = pageLimit(query);
    const desc = query.order === 'desc';
    const where: string[] = [];
    const params: Record<string, string | number> = { limit: limit + 1 };
    if (query.stream !== undefined) {
      where.push('stream = @stream');
      params.stream = query.stream;
    }
    if (query.job !== undefined) {
      where.push('job_id = @job');
      params.job = query.job;
    } else {
      where.push('job_id IS NULL');
    }
    if (query.from !== undefined) {
      where.push('start_time >= @from');
      params.from = query.from;
    }
    if (query.to !== undefined) {
      where.push('start_time < @to');
      params.to = query.to;
    }
    if (query.nextToken) {
      const c = decodeCursor(query.nextToken);
      where.push(desc ? '(start_time, id) < (@cStart, @cId)' : '(start_time, id) > (@cStart, @cId)');
      params.cStart = c.startTime;
      params.cId = c.id;
    }
    const dir = desc ? 'DESC' : 'ASC';
    const rows = this.db
      .prepare<[Record<string, string | number>], EventRow>(
        `SELECT id, doc FROM kestrel_events WHERE ${where.join(' AND ')} ORDER BY start_time ${dir}, id ${dir} LIMIT @limit`,
      )
      .all(params);
    const events = rows.slice(0, limit).map((r) => JSON.parse(r.doc) as StoredEvent);
    const last = events.at(-1);
    return rows.length > limit && last ? { events, nextToken: encodeCursor(last.startTime, last.id) } : { events };
  }
}
