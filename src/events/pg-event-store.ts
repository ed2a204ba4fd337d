import type pg from 'pg';
import { inTransaction } from '../store/pg/pg-pool.ts';
import { decodeCursor, encodeCursor, foldEvent, pageLimit } from './event-store.ts';
import type { EventPage, EventStore, ListEventsQuery, RecordOutcome, StoredEvent, StoredEventWithHistory } from './event-store.ts';
import type { DetectionEvent } from './types.ts';

/** Anything that runs a query: the pool, or a client inside a transaction. */
type Queryable = Pick<pg.PoolClient, 'query'>;

/**
 * EventStore on the PostgreSQL index (tables `kestrel_events`, `kestrel_event_messages` from
 * migration 0004_work.sql; same layout as SqliteEventStore). `record` folds under a transaction-scoped
 * advisory lock on the event id, so two nodes recording messages of one event never lose a fold.
 */
export class PgEventStore implements EventStore {
  constructor(private readonly pool: pg.Pool) {}

  async record(event: DetectionEvent): Promise<StoredEvent> {
    return (await inTransaction(this.pool, (c) => this.recordWith(c, event))).event;
  }

  /** `record` on a client already in a transaction (the job store's checkpoint commit). */
  async recordWith(c: Queryable, ev: DetectionEvent): Promise<RecordOutcome> {
    await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`kestrel_event:${ev.id}`]);
    const row = (await c.query<{ doc: string }>('SELECT doc FROM kestrel_events WHERE id = $1', [ev.id])).rows[0];
    const prev = row ? (JSON.parse(row.doc) as StoredEvent) : undefined;
    const added = await c.query(
      `INSERT INTO kestrel_event_messages (event_id, type, server_ts, frame_time, doc) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (event_id, type, server_ts, frame_time) DO NOTHING`,
      [ev.id, ev.type, ev.serverTimestamp, ev.frameTime, JSON.stringify(ev)],
    );
    if (prev && added.rowCount === 0) return { event: prev, created: false };
    const next = foldEvent(prev, ev);
    await c.query(
      `INSERT INTO kestrel_events (id, stream, start_time, end_time, state, updated_at, doc, job_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (id) DO UPDATE SET stream = excluded.stream, start_time = excluded.start_time,
         end_time = excluded.end_time, state = excluded.state, updated_at = excluded.updated_at, doc = excluded.doc`,
      [next.id, next.stream.name, next.startTime, next.endTime, next.state, next.updatedAt, JSON.stringify(next), next.jobId ?? null],
    );
    return { event: next, created: !prev };
  }

  async hasMessage(ev: DetectionEvent): Promise<boolean> {
    const r = await this.pool.query(
      'SELECT 1 FROM kestrel_event_messages WHERE event_id = $1 AND type = $2 AND server_ts = $3 AND frame_time = $4',
      [ev.id, ev.type, ev.serverTimestamp, ev.frameTime],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async get(id: string): Promise<StoredEventWithHistory | undefined> {
    const row = (await this.pool.query<{ doc: string }>('SELECT doc FROM kestrel_events WHERE id = $1', [id])).rows[0];
    if (!row) return undefined;
    const history = (await this.pool.query<{ doc: string }>('SELECT doc FROM kestrel_event_messages WHERE event_id = $1 ORDER BY seq', [id])).rows;
    return { ...(JSON.parse(row.doc) as StoredEvent), history: history.map((r) => JSON.parse(r.doc) as DetectionEvent) };
  }

  async list(query: ListEventsQuery): Promise<EventPage> {
    const limit = pageLimit(query);
    const desc = query.order === 'desc';
    const where: string[] = [];
    const params: Array<string | number> = [];
    const param = (v: string | number): string => `$${params.push(v)}`;
    if (query.stream !== undefined) where.push(`stream = ${param(query.stream)}`);
    if (query.job !== undefined) where.push(`job_id = ${param(query.job)}`);
    else where.push('job_id IS NULL');
    if (query.from !== undefined) where.push(`start_time >= ${param(query.from)}`);
    if (query.to !== undefined) where.push(`start_time < ${param(query.to)}`);
    if (query.nextToken) {
      const cur = decodeCursor(query.nextToken);
      where.push(`(start_time, id) ${desc ? '<' : '>'} (${param(cur.startTime)}, ${param(cur.id)})`);
    }
    const dir = desc ? 'DESC' : 'ASC';
    const rows = (
      await this.pool.query<{ doc: string }>(
        `SELECT doc FROM kestrel_events WHERE ${where.join(' AND ')} ORDER BY start_time ${dir}, id ${dir} LIMIT ${param(limit + 1)}`,
        params,
      )
    ).rows;
    const events = rows.slice(0, limit).map((r) => JSON.parse(r.doc) as StoredEvent);
    const last = events.at(-1);
    return rows.length > limit && last ? { events, nextToken: encodeCursor(last.startTime, last.id) } : { events };
  }
}
