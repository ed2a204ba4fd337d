/**
 * Batch analysis jobs and their checkpoints, a port: SqliteJobStore (embedded, the server's index db)
 * and PgJobStore (`--index postgres://`, src/jobs/pg-job-store.ts); one contract suite
 * (test/support/job-store-contract.ts) runs against both.
 */
import type Database from 'better-sqlite3';
import type { DetectConfig } from '../detect/detect-config.ts';
import type { TrackedObject } from '../detect/lifecycle.ts';
import type { SqliteEventStore } from '../events/sqlite-event-store.ts';
import type { DetectionEvent } from '../events/types.ts';
import { percent, type FrameRecord, type Job, type JobRequest, type JobStatus } from './job-types.ts';

/** Everything the runner needs to (re)start a job. */
export interface JobState {
  job: Job;
  request: JobRequest;
  config: DetectConfig;
  /** Fragment numbers of the range, listed when the job first ran (null while queued). */
  fragments: string[] | null;
  /** Fragments fully processed and committed (index into `fragments`). */
  position: number;
  /** Objects with an open event at `position` (lifecycle checkpoint, as the live worker keeps). */
  open: TrackedObject[];
  /** A committed position where nothing was tracked: a fresh pipeline from there equals the original run. */
  replayFrom: number;
}

/** One fragment's worth of progress, committed atomically. */
export interface JobCheckpoint {
  position: number;
  open: TrackedObject[];
  replayFrom: number;
  frames: readonly FrameRecord[];
  /** The job's event messages held since the last commit (recorded in the event store, same transaction). */
  events?: readonly DetectionEvent[];
  /** Fence (several nodes): lands only while this owner holds the job's lease, else JobLeaseLostError and nothing is written. */
  owner?: string;
}

/** A commit from a node whose lease on the job was taken over: nothing was written. */
export class JobLeaseLostError extends Error {
  constructor(id: string, owner: string) {
    super(`job ${id}: ${owner} no longer holds its lease`);
    this.name = 'JobLeaseLostError';
  }
}

export interface NewJob {
  id: string;
  request: JobRequest;
  config: DetectConfig;
  createdAt: number;
}

export interface JobStore {
  create(o: NewJob): Promise<Job>;
  get(id: string): Promise<JobState | undefined>;
  /** Newest first. */
  list(limit?: number): Promise<Job[]>;
  /** Jobs to (re)start after a restart, oldest first. */
  unfinished(): Promise<JobState[]>;
  /** queued → running; the fragment list is fixed the first time only (a resumed job keeps its list). */
  markRunning(id: string, fragments: string[], at: number): Promise<JobState>;
  /**
   * One fragment done: its frames, the new position and open objects, plus the held event messages, in
   * one transaction, so a restart never repeats or loses any of them.
   */
  commit(id: string, c: JobCheckpoint): Promise<void>;
  /** Moves an unfinished job to a final status (false when it already had one); `last` is committed in the same transaction. */
  finish(id: string, status: JobStatus, at: number, error?: string, last?: JobCheckpoint): Promise<boolean>;
  frames(id: string): Promise<FrameRecord[]>;
  /**
   * Several nodes: takes the oldest unfinished job nobody holds (or whose lease expired) for `owner`
   * until `now + leaseMs`. PostgreSQL: `FOR UPDATE SKIP LOCKED`, so concurrent claimers never get the same job.
   */
  claimNext(owner: string, now: number, leaseMs: number): Promise<JobState | undefined>;
  /** Takes (or keeps) this unfinished job for `owner` when nobody else holds a live lease on it. */
  claim(id: string, owner: string, now: number, leaseMs: number): Promise<boolean>;
  /** Extends `owner`'s lease; false when the job is no longer held by `owner` (another node took it over). */
  renewLease(id: string, owner: string, now: number, leaseMs: number): Promise<boolean>;
}

export interface JobRow {
  id: string;
  status: JobStatus;
  stream: string;
  start_ms: number;
  end_ms: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  error: string | null;
  request: string;
  config: string;
  fragments: string | null;
  position: number;
  open: string;
  replay_from: number;
  frames_done: number;
  events: number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * Jobs on the caller's SQLite database (the server's index db, like the event store). Tables:
 * `kestrel_jobs` (one row per job with its checkpoint: fragment list, position, open objects) and
 * `kestrel_job_frames` (per-frame detections, committed together with the checkpoint). Events go
 * through the SqliteEventStore on the same database, inside the checkpoint transaction.
 */
export class SqliteJobStore implements JobStore {
  private readonly stmts;

  constructor(
    private readonly db: Database.Database,
    private readonly events: SqliteEventStore,
  ) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS kestrel_jobs (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        stream TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER,
        error TEXT,
        request TEXT NOT NULL,
        config TEXT NOT NULL,
        fragments TEXT,
        position INTEGER NOT NULL DEFAULT 0,
        open TEXT NOT NULL DEFAULT '[]',
        replay_from INTEGER NOT NULL DEFAULT 0,
        frames_done INTEGER NOT NULL DEFAULT 0,
        events INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX IF NOT EXISTS kestrel_jobs_created ON kestrel_jobs (created_at, id);
      CREATE TABLE IF NOT EXISTS kestrel_job_frames (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL,
        frame_time INTEGER NOT NULL,
        doc TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS kestrel_job_frames_job ON kestrel_job_frames (job_id, seq);
    `);
    // Lease columns (several claimers); older databases get them added.
    const cols = db.prepare<[], { name: string }>('PRAGMA table_info(kestrel_jobs)').all();
    if (!cols.some((c) => c.name === 'owner')) db.exec('ALTER TABLE kestrel_jobs ADD COLUMN owner TEXT; ALTER TABLE kestrel_jobs ADD COLUMN lease_until INTEGER');
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO kestrel_jobs (id, status, stream, start_ms, end_ms, created_at, request, config)
         VALUES (@id, 'queued', @stream, @startMs, @endMs, @createdAt, @request, @config)`,
      ),
      get: db.prepare<[string], JobRow>('SELECT * FROM kestrel_jobs WHERE id = ?'),
      list: db.prepare<[number], JobRow>('SELECT * FROM kestrel_jobs ORDER BY created_at DESC, id DESC LIMIT ?'),
      unfinished: db.prepare<[], JobRow>(`SELECT * FROM kestrel_jobs WHERE status IN ('queued', 'running') ORDER BY created_at, id`),
      start: db.prepare('UPDATE kestrel_jobs SET status = \'running\', started_at = COALESCE(started_at, @at), fragments = COALESCE(fragments, @fragments) WHERE id = @id'),
      checkpoint: db.prepare(
        'UPDATE kestrel_jobs SET position = @position, open = @open, replay_from = @replayFrom, frames_done = frames_done + @frames, events = events + @events WHERE id = @id',
      ),
      holds: db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM kestrel_jobs WHERE id = ? AND owner = ?'),
      finish: db.prepare('UPDATE kestrel_jobs SET status = @status, finished_at = @at, error = @error, owner = NULL, lease_until = NULL WHERE id = @id AND status IN (\'queued\', \'running\')'),
      addFrame: db.prepare('INSERT INTO kestrel_job_frames (job_id, frame_time, doc) VALUES (?, ?, ?)'),
      frames: db.prepare<[string], { doc: string }>('SELECT doc FROM kestrel_job_frames WHERE job_id = ? ORDER BY seq'),
      claimable: db.prepare<[string, number], JobRow>(
        `SELECT * FROM kestrel_jobs WHERE status IN ('queued', 'running') AND (owner IS NULL OR owner = ? OR lease_until < ?)
         ORDER BY created_at, id LIMIT 1`,
      ),
      lease: db.prepare('UPDATE kestrel_jobs SET owner = @owner, lease_until = @until WHERE id = @id'),
      claim: db.prepare(
        `UPDATE kestrel_jobs SET owner = @owner, lease_until = @until
         WHERE id = @id AND status IN ('queued', 'running') AND (owner IS NULL OR owner = @owner OR lease_until < @now)`,
      ),
      renew: db.prepare(`UPDATE kestrel_jobs SET lease_until = @until WHERE id = @id AND owner = @owner AND status IN ('queued', 'running')`),
    };
  }

  async create(o: NewJob): Promise<Job> {
    this.stmts.insert.run({
      id: o.id,
      stream: o.request.stream,
      startMs: o.request.startMs,
      endMs: o.request.endMs,
      createdAt: o.createdAt,
      request: JSON.stringify(o.request),
      config: JSON.stringify(o.config),
    });
    return (await this.get(o.id))!.job;
  }

  async get(id: string): Promise<JobState | undefined> {
    const row = this.stmts.get.get(id);
    return row ? jobStateFromRow(row) : undefined;
  }

  async list(limit = 100): Promise<Job[]> {
    return this.stmts.list.all(clampJobLimit(limit)).map((r) => jobStateFromRow(r).job);
  }

  async unfinished(): Promise<JobState[]> {
    return this.stmts.unfinished.all().map(jobStateFromRow);
  }

  async markRunning(id: string, fragments: string[], at: number): Promise<JobState> {
    this.stmts.start.run({ id, at, fragments: JSON.stringify(fragments) });
    return (await this.get(id))!;
  }

  async commit(id: string, c: JobCheckpoint): Promise<void> {
    this.db.transaction(() => this.commitSync(id, c))();
  }

  async finish(id: string, status: JobStatus, at: number, error?: string, last?: JobCheckpoint): Promise<boolean> {
    return this.db.transaction(() => {
      if (last) this.commitSync(id, last);
      return this.stmts.finish.run({ id, status, at, error: error ?? null }).changes > 0;
    })();
  }

  async frames(id: string): Promise<FrameRecord[]> {
    return this.stmts.frames.all(id).map((r) => JSON.parse(r.doc) as FrameRecord);
  }

  async claimNext(owner: string, now: number, leaseMs: number): Promise<JobState | undefined> {
    return this.db.transaction(() => {
      const row = this.stmts.claimable.get(owner, now);
      if (!row) return undefined;
      this.stmts.lease.run({ id: row.id, owner, until: now + leaseMs });
      return jobStateFromRow(row);
    })();
  }

  async claim(id: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
    return this.stmts.claim.run({ id, owner, now, until: now + leaseMs }).changes > 0;
  }

  async renewLease(id: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
    return this.stmts.renew.run({ id, owner, until: now + leaseMs }).changes > 0;
  }

  private commitSync(id: string, c: JobCheckpoint): void {
    if (c.owner !== undefined && !this.stmts.holds.get(id, c.owner)) throw new JobLeaseLostError(id, c.owner);
    let created = 0;
    for (const ev of c.events ?? []) if (this.events.recordSync(ev).created) created++;
    for (const f of c.frames) this.stmts.addFrame.run(id, f.timestampMs, JSON.stringify(f));
    this.stmts.checkpoint.run({ id, position: c.position, open: JSON.stringify(c.open), replayFrom: c.replayFrom, frames: c.frames.length, events: created });
  }
}

export function clampJobLimit(limit: number): number {
  return Math.min(1000, Math.max(1, limit));
}

/** Row (SQLite or PostgreSQL, numbers already numbers) → the runner's view of a job. */
export function jobStateFromRow(r: JobRow): JobState {
  const fragments = r.fragments === null ? null : (JSON.parse(r.fragments) as string[]);
  const total = fragments?.length ?? 0;
  const request = JSON.parse(r.request) as JobRequest;
  const config = JSON.parse(r.config) as DetectConfig;
  const job: Job = {
    id: r.id,
    status: r.status,
    progress: {
      fragmentsDone: r.position,
      fragmentsTotal: total,
      framesDone: r.frames_done,
      percent: r.status === 'succeeded' ? 100 : percent(r.position, total),
    },
    stream: r.stream,
    start: new Date(r.start_ms).toISOString(),
    end: new Date(r.end_ms).toISOString(),
    sampling: config.sampling,
    createdAt: iso(r.created_at)!,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    events: r.events,
  };
  if (r.error !== null) job.error = r.error;
  return { job, request, config, fragments, position: r.position, open: JSON.parse(r.open) as TrackedObject[], replayFrom: r.replay_from };
}
