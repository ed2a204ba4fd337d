/** Detection checkpoints on the PostgreSQL index (table `kestrel_detect_checkpoints`, migration 0004_work.sql). */
import type pg from 'pg';
import { parseCheckpoint, type Checkpoint, type CheckpointStore } from './checkpoints.ts';

export class PgCheckpointStore implements CheckpointStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly onLog?: (line: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  async load(stream: string): Promise<Checkpoint | undefined> {
    const row = (await this.pool.query<{ doc: string }>('SELECT doc FROM kestrel_detect_checkpoints WHERE stream = $1', [stream])).rows[0];
    return row ? parseCheckpoint(row.doc, (why) => this.onLog?.(`${stream}: stored checkpoint unreadable (${why}); starting from the live edge`)) : undefined;
  }

  async save(stream: string, checkpoint: Checkpoint): Promise<void> {
    await this.pool.query(
      `INSERT INTO kestrel_detect_checkpoints (stream, doc, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (stream) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`,
      [stream, JSON.stringify(checkpoint), this.now()],
    );
  }
}
