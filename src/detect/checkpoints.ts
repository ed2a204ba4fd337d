/**
 * Where the worker remembers each stream's last fully processed continuation token. A port:
 * SqliteCheckpointStore (embedded: the server's index db, or the worker's events.sqlite),
 * PgCheckpointStore (pg-checkpoints.ts) and MemoryCheckpointStore (tests); one contract suite
 * (test/support/checkpoint-store-contract.ts) runs against each.
 *
 * Each stream is its own row, written on its own: a failed write fails that save only (the next one
 * starts afresh), and one unreadable row affects that stream only (it restarts from the live edge).
 */
import fs from 'node:fs';
import type Database from 'better-sqlite3';
import type { TrackedObject } from './lifecycle.ts';
import type { PipelineState } from './stream-pipeline.ts';

export interface Checkpoint {
  /** Continuation token of the last fully processed fragment. */
  token: string;
  /** Objects with an open event at that point, continued (or ended) after a restart. */
  open: TrackedObject[];
  /** Tracks and not-yet-started objects at that point (absent in checkpoints of older versions). */
  state?: PipelineState;
}

export interface CheckpointStore {
  load(stream: string): Promise<Checkpoint | undefined>;
  save(stream: string, checkpoint: Checkpoint): Promise<void>;
}

/** Parses a stored checkpoint; undefined (and `onBad` told) when it is not one. */
export function parseCheckpoint(doc: string, onBad?: (reason: string) => void): Checkpoint | undefined {
  try {
    const v = JSON.parse(doc) as Partial<Checkpoint> | null;
    if (v && typeof v.token === 'string' && Array.isArray(v.open)) return v as Checkpoint;
    onBad?.('not a checkpoint');
  } catch (err) {
    onBad?.((err as Error).message);
  }
  return undefined;
}

export interface SqliteCheckpointOptions {
  /**
   * The JSON file older versions kept (`{ [stream]: Checkpoint }`): imported once (streams without a
   * row only), then renamed to `<file>.imported`; a corrupt file is renamed to `<file>.corrupt`.
   */
  legacyFile?: string;
  onLog?: (line: string) => void;
  now?: () => number;
}

/** Table `kestrel_detect_checkpoints` (stream → checkpoint JSON) in the caller's SQLite database. */
export class SqliteCheckpointStore implements CheckpointStore {
  private readonly stmts;

  constructor(db: Database.Database, private readonly o: SqliteCheckpointOptions = {}) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS kestrel_detect_checkpoints (
        stream TEXT PRIMARY KEY,
        doc TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
    `);
    this.stmts = {
      get: db.prepare<[string], { doc: string }>('SELECT doc FROM kestrel_detect_checkpoints WHERE stream = ?'),
      put: db.prepare(`INSERT INTO kestrel_detect_checkpoints (stream, doc, updated_at) VALUES (?, ?, ?)
        ON CONFLICT(stream) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`),
      importOne: db.prepare('INSERT OR IGNORE INTO kestrel_detect_checkpoints (stream, doc, updated_at) VALUES (?, ?, ?)'),
    };
    if (o.legacyFile) db.transaction(() => this.importLegacy(o.legacyFile!))();
  }

  async load(stream: string): Promise<Checkpoint | undefined> {
    const row = this.stmts.get.get(stream);
    return row ? parseCheckpoint(row.doc, (why) => this.o.onLog?.(`${stream}: stored checkpoint unreadable (${why}); starting from the live edge`)) : undefined;
  }

  async save(stream: string, checkpoint: Checkpoint): Promise<void> {
    this.stmts.put.run(stream, JSON.stringify(checkpoint), (this.o.now ?? Date.now)());
  }

  private importLegacy(file: string): void {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    let all: Record<string, unknown> | undefined;
    try {
      const v: unknown = JSON.parse(text);
      if (v && typeof v === 'object' && !Array.isArray(v)) all = v as Record<string, unknown>;
    } catch {
      // corrupt: set aside below
    }
    if (!all) {
      fs.renameSync(file, `${file}.corrupt`);
      this.o.onLog?.(`${file} is not a checkpoint file; moved to ${file}.corrupt (streams start from the live edge)`);
      return;
    }
    const now = (this.o.now ?? Date.now)();
    let imported = 0;
    for (const [stream, cp] of Object.entries(all)) {
      if (parseCheckpoint(JSON.stringify(cp)) && this.stmts.importOne.run(stream, JSON.stringify(cp), now).changes > 0) imported++;
    }
    fs.renameSync(file, `${file}.imported`);
    this.o.onLog?.(`imported ${imported} detection checkpoint(s) from ${file} (kept as ${file}.imported)`);
  }
}

export class MemoryCheckpointStore implements CheckpointStore {
  readonly checkpoints = new Map<string, Checkpoint>();
  async load(stream: string): Promise<Checkpoint | undefined> {
    const c = this.checkpoints.get(stream);
    return c ? structuredClone(c) : undefined;
  }
  async save(stream: string, checkpoint: Checkpoint): Promise<void> {
    this.checkpoints.set(stream, structuredClone(checkpoint));
  }
}
