import { Worker } from 'node:worker_threads';
import { StaleFenceError, type LeaseFence } from './leases.ts';

/** Row shape of the `fragments` table, as the writer thread inserts it. */
export interface FragmentRow {
  stream_id: number;
  fragment_number: string;
  producer_ts: number;
  server_ts: number;
  duration_ms: number;
  size_bytes: number;
  header_id: number;
  segment: string;
  byte_offset: number;
  byte_length: number;
  tags: string | null;
  flags: number;
}

/**
 * Sends index writes to a worker thread holding its own connection. Inserts are group-committed:
 * rows that arrive while a commit (and its fsync) is in flight go out together in the next one.
 */
export class SqliteWriter {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private queued: Array<{ row: FragmentRow; fence: LeaseFence | undefined; resolve: () => void; reject: (e: unknown) => void }> = [];
  private committing = false;
  private closed = false;

  constructor(file: string) {
    this.worker = new Worker(new URL('./sqlite-writer.worker.js', import.meta.url), { workerData: { file } });
    this.worker.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const call = this.calls.get(m.id);
      this.calls.delete(m.id);
      if (m.error !== undefined) call?.reject(new Error(m.error));
      else call?.resolve(m.result ?? 0);
    });
    this.worker.on('error', (err) => this.failAll(err));
    this.worker.on('exit', () => this.failAll(new Error('index writer thread exited')));
  }

  private failAll(err: Error): void {
    for (const c of this.calls.values()) c.reject(err);
    this.calls.clear();
    for (const q of this.queued) q.reject(err);
    this.queued = [];
  }

  private call<T = number>(msg: Record<string, unknown>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('index writer is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...msg, id });
    });
  }

  /** With a fence, the worker checks the stream's lease row in the commit's transaction and skips a stale row. */
  insert(row: FragmentRow, fence?: LeaseFence): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queued.push({ row, fence, resolve, reject });
      if (!this.committing) void this.commitQueued();
    });
  }

  private async commitQueued(): Promise<void> {
    this.committing = true;
    while (this.queued.length > 0) {
      const batch = this.queued;
      this.queued = [];
      try {
        const refused = new Set(await this.call<number[]>({ op: 'insert', rows: batch.map((b) => b.row), fences: batch.map((b) => b.fence ?? null) }));
        batch.forEach((b, i) => (refused.has(i) ? b.reject(new StaleFenceError(b.row.stream_id, b.fence!.epoch)) : b.resolve()));
      } catch (err) {
        if (batch.length === 1) batch[0]!.reject(err);
        // One refused row (a duplicate number) must not fail the others committed with it: one by one.
        else for (const b of batch) await this.call({ op: 'insert', rows: [b.row] }).then(() => b.resolve(), b.reject);
      }
    }
    this.committing = false;
  }

  putHeader(streamId: number, sha: string, bytes: Buffer): Promise<number> {
    return this.call({ op: 'putHeader', streamId, sha, bytes });
  }

  /** Any other write statement; resolves with the number of changed rows. */
  run(sql: string, params: unknown[]): Promise<number> {
    return this.call({ op: 'run', sql, params });
  }

  async close(): Promise<void> {
    while (this.committing) await new Promise((r) => setTimeout(r, 5));
    await this.call({ op: 'close' }).catch(() => undefined);
    this.closed = true;
    await this.worker.terminate();
  }
}
