import type Database from 'better-sqlite3';
import type { DetectConfig } from '../detect/detect-config.ts';
import type { TrackedObject } from '../detect/lifecycle.ts';
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

interface Row {
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
 * `kestrel_job_frames` (per-frame detections, committed together with the checkpoint).
 */
export class SqliteJobStore {
  private readonly stmts;

  constructor(private readonly db: Database.Database) {
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
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO kestrel_jobs (id, status, stream, start_ms, end_ms, created_at, request, config)
         VALUES (@id, 'queued', @stream, @startMs, @endMs, @createdAt, @request, @config)`,
      ),
      get: db.prepare<[string], Row>('SELECT * FROM kestrel_jobs WHERE id = ?'),
      list: db.prepare<[number], Row>('SELECT * FROM kestrel_jobs ORDER BY created_at DESC, id DESC LIMIT ?'),
      unfinished: db.prepare<[], Row>(`SELECT * FROM kestrel_jobs WHERE status IN ('queued', 'running') ORDER BY created_at, id`),
      start: db.prepare('UPDATE kestrel_jobs SET status = \'running\', started_at = COALESCE(started_at, @at), fragments = COALESCE(fragments, @fragments) WHERE id = @id'),
      checkpoint: db.prepare(
        'UPDATE kestrel_jobs SET position = @position, open = @open, replay_from = @replayFrom, frames_done = frames_done + @frames, events = events + @events WHERE id = @id',
      ),
      finish: db.prepare('UPDATE kestrel_jobs SET status = @status, finished_at = @at, error = @error WHERE id = @id AND status IN (\'queued\', \'running\')'),
      addFrame: db.prepare('INSERT INTO kestrel_job_frames (job_id, frame_time, doc) VALUES (?, ?, ?)'),
      frames: db.prepare<[string], { doc: string }>('SELECT doc FROM kestrel_job_frames WHERE job_id = ? ORDER BY seq'),
    };
  }

  create(o: { id: string; request: JobRequest; config: DetectConfig; createdAt: number }): Job {
    this.stmts.insert.run({
      id: o.id,
      stream: o.request.stream,
      startMs: o.request.startMs,
      endMs: o.request.endMs,
      createdAt: o.createdAt,
      request: JSON.stringify(o.request),
      config: JSON.stringify(o.config),
    });
    return this.get(o.id)!.job;
  }

  get(id: string): JobState | undefined {
    const row = this.stmts.get.get(id);
    return row ? toState(row) : undefined;
  }

  /** Newest first. */
  list(limit = 100): Job[] {
    return this.stmts.list.all(Math.min(1000, Math.max(1, limit))).map((r) => toState(r).job);
  }

  /** Jobs to (re)start after a restart, oldest first. */
  unfinished(): JobState[] {
    return this.stmts.unfinished.all().map(toState);
  }

  /** queued → running; the fragment list is fixed the first time only (a resumed job keeps its list). */
  markRunning(id: string, fragments: string[], at: number): JobState {
    this.stmts.start.run({ id, at, fragments: JSON.stringify(fragments) });
    return this.get(id)!;
  }

  /**
   * One fragment done: its frames, the new position and open objects, plus `recordEvents` (records the
   * events in the same database, returns how many are new) in one transaction, so a restart never
   * repeats or loses any of them.
   */
  commit(id: string, c: { position: number; open: TrackedObject[]; replayFrom: number; frames: readonly FrameRecord[] }, recordEvents?: () => number): void {
    this.db.transaction(() => {
      const events = recordEvents?.() ?? 0;
      for (const f of c.frames) this.stmts.addFrame.run(id, f.timestampMs, JSON.stringify(f));
      this.stmts.checkpoint.run({ id, position: c.position, open: JSON.stringify(c.open), replayFrom: c.replayFrom, frames: c.frames.length, events });
    })();
  }

  /** Moves an unfinished job to a final status (no-op when it already has one); `inside` runs in the same transaction. */
  finish(id: string, status: JobStatus, at: number, error?: string, inside?: () => void): boolean {
    return this.db.transaction(() => {
      inside?.();
      return this.stmts.finish.run({ id, status, at, error: error ?? null }).changes > 0;
    })();
  }

  frames(id: string): FrameRecord[] {
    return this.stmts.frames.all(id).map((r) => JSON.parse(r.doc) as FrameRecord);
  }
}

function toState(r: Row): JobState {
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
