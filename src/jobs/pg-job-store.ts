/**
 * JobStore on the PostgreSQL index (tables `kestrel_jobs`, `kestrel_job_frames` from migration
 * 0004_work.sql). Checkpoint commits record the job's events through PgEventStore on the same
 * transaction. Jobs are claimable by several nodes: `claimNext` locks the oldest claimable row with
 * `FOR UPDATE SKIP LOCKED` and leases it to the caller until `now + leaseMs`.
 */
import type pg from 'pg';
import type { PgEventStore } from '../events/pg-event-store.ts';
import { inTransaction } from '../store/pg/pg-pool.ts';
import { JobLeaseLostError, clampJobLimit, jobStateFromRow, type JobCheckpoint, type JobRow, type JobState, type JobStore, type NewJob } from './job-store.ts';
import type { FrameRecord, Job, JobStatus } from './job-types.ts';

type Queryable = Pick<pg.PoolClient, 'query'>;

// Times are double precision columns (numbers in JS); no bigint column is read back.
const COLUMNS = `id, status, stream, start_ms, end_ms, created_at, started_at, finished_at, error, request, config, fragments,
  position, open, replay_from, frames_done, events`;

export class PgJobStore implements JobStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly events: PgEventStore,
  ) {}

  async create(o: NewJob): Promise<Job> {
    const r = await this.pool.query<JobRow>(
      `INSERT INTO kestrel_jobs (id, status, stream, start_ms, end_ms, created_at, request, config)
       VALUES ($1, 'queued', $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
      [o.id, o.request.stream, o.request.startMs, o.request.endMs, o.createdAt, JSON.stringify(o.request), JSON.stringify(o.config)],
    );
    return jobStateFromRow(r.rows[0]!).job;
  }

  async get(id: string): Promise<JobState | undefined> {
    const row = (await this.pool.query<JobRow>(`SELECT ${COLUMNS} FROM kestrel_jobs WHERE id = $1`, [id])).rows[0];
    return row ? jobStateFromRow(row) : undefined;
  }

  async list(limit = 100): Promise<Job[]> {
    const r = await this.pool.query<JobRow>(`SELECT ${COLUMNS} FROM kestrel_jobs ORDER BY created_at DESC, id DESC LIMIT $1`, [clampJobLimit(limit)]);
    return r.rows.map((row) => jobStateFromRow(row).job);
  }

  async unfinished(): Promise<JobState[]> {
    const r = await this.pool.query<JobRow>(`SELECT ${COLUMNS} FROM kestrel_jobs WHERE status IN ('queued', 'running') ORDER BY created_at, id`);
    return r.rows.map(jobStateFromRow);
  }

  async markRunning(id: string, fragments: string[], at: number): Promise<JobState> {
    const r = await this.pool.query<JobRow>(
      `UPDATE kestrel_jobs SET status = 'running', started_at = COALESCE(started_at, $2), fragments = COALESCE(fragments, $3)
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, at, JSON.stringify(fragments)],
    );
    return jobStateFromRow(r.rows[0]!);
  }

  async commit(id: string, c: JobCheckpoint): Promise<void> {
    await inTransaction(this.pool, (client) => this.commitWith(client, id, c));
  }

  async finish(id: string, status: JobStatus, at: number, error?: string, last?: JobCheckpoint): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      if (last) await this.commitWith(client, id, last);
      const r = await client.query(
        `UPDATE kestrel_jobs SET status = $2, finished_at = $3, error = $4, owner = NULL, lease_until = NULL
         WHERE id = $1 AND status IN ('queued', 'running')`,
        [id, status, at, error ?? null],
      );
      return (r.rowCount ?? 0) > 0;
    });
  }

  async frames(id: string): Promise<FrameRecord[]> {
    const r = await this.pool.query<{ doc: string }>('SELECT doc FROM kestrel_job_frames WHERE job_id = $1 ORDER BY seq', [id]);
    return r.rows.map((row) => JSON.parse(row.doc) as FrameRecord);
  }

  async claimNext(owner: string, now: number, leaseMs: number): Promise<JobState | undefined> {
    const r = await this.pool.query<JobRow>(
      `WITH next AS (
         SELECT id AS next_id FROM kestrel_jobs
         WHERE status IN ('queued', 'running') AND (owner IS NULL OR owner = $1 OR lease_until < $2)
         ORDER BY created_at, id LIMIT 1
         FOR UPDATE SKIP LOCKED
       )
       UPDATE kestrel_jobs j SET owner = $1, lease_until = $2::float8 + $3::float8 FROM next WHERE j.id = next.next_id
       RETURNING ${COLUMNS}`,
      [owner, now, leaseMs],
    );
    const row = r.rows[0];
    return row ? jobStateFromRow(row) : undefined;
  }

  async claim(id: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
    // The UPDATE locks the row: of two nodes claiming at once, the second sees the first's owner.
    const r = await this.pool.query(
      `UPDATE kestrel_jobs SET owner = $2, lease_until = $3::float8 + $4::float8
       WHERE id = $1 AND status IN ('queued', 'running') AND (owner IS NULL OR owner = $2 OR lease_until < $3)`,
      [id, owner, now, leaseMs],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async renewLease(id: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
    const r = await this.pool.query(
      `UPDATE kestrel_jobs SET lease_until = $3::float8 + $4::float8 WHERE id = $1 AND owner = $2 AND status IN ('queued', 'running')`,
      [id, owner, now, leaseMs],
    );
    return (r.rowCount ?? 0) > 0;
  }

  private async commitWith(c: Queryable, id: string, cp: JobCheckpoint): Promise<void> {
    if (cp.owner !== undefined) {
      // Row lock until commit: a takeover (claim) waits for this transaction, or this one sees it.
      const held = await c.query('SELECT 1 FROM kestrel_jobs WHERE id = $1 AND owner = $2 FOR UPDATE', [id, cp.owner]);
      if ((held.rowCount ?? 0) === 0) throw new JobLeaseLostError(id, cp.owner);
    }
    let created = 0;
    for (const ev of cp.events ?? []) if ((await this.events.recordWith(c, ev)).created) created++;
    if (cp.frames.length > 0) {
      // One statement per fragment; unnest keeps the frames' order (seq follows it).
      await c.query(
        'INSERT INTO kestrel_job_frames (job_id, frame_time, doc) SELECT $1, t, d FROM unnest($2::float8[], $3::text[]) WITH ORDINALITY AS f(t, d, n) ORDER BY n',
        [id, cp.frames.map((f) => f.timestampMs), cp.frames.map((f) => JSON.stringify(f))],
      );
    }
    await c.query(
      `UPDATE kestrel_jobs SET position = $2, open = $3, replay_from = $4, frames_done = frames_done + $5, events = events + $6 WHERE id = $1`,
      [id, cp.position, JSON.stringify(cp.open), cp.replayFrom, cp.frames.length, created],
    );
  }
}
