/** Where the worker remembers each stream's last fully processed continuation token. */
import fs from 'node:fs/promises';
import path from 'node:path';
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

/** One small JSON file `{ [stream]: Checkpoint }`, written atomically (temp file + rename). */
export class JsonFileCheckpointStore implements CheckpointStore {
  private cache: Record<string, Checkpoint> | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {}

  private async all(): Promise<Record<string, Checkpoint>> {
    if (!this.cache) {
      try {
        this.cache = JSON.parse(await fs.readFile(this.file, 'utf8')) as Record<string, Checkpoint>;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        this.cache = {};
      }
    }
    return this.cache;
  }

  async load(stream: string): Promise<Checkpoint | undefined> {
    return (await this.all())[stream];
  }

  async save(stream: string, checkpoint: Checkpoint): Promise<void> {
    const all = await this.all();
    all[stream] = checkpoint;
    const body = JSON.stringify(all, null, 2);
    this.writing = this.writing.then(async () => {
      await fs.mkdir(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      await fs.writeFile(tmp, body);
      await fs.rename(tmp, this.file);
    });
    await this.writing;
  }
}

export class MemoryCheckpointStore implements CheckpointStore {
  readonly checkpoints = new Map<string, Checkpoint>();
  async load(stream: string): Promise<Checkpoint | undefined> {
    return this.checkpoints.get(stream);
  }
  async save(stream: string, checkpoint: Checkpoint): Promise<void> {
    this.checkpoints.set(stream, structuredClone(checkpoint));
  }
}
