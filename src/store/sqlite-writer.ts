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

interface HeaderPut {
  streamId: number;
  sha: string;
  bytes: Buffer;
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
  private queuedHeaders: Array<{ header: HeaderPut; resolve: (id: number) => void; reject: (e: unknown) => void }> = [];
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
    for (const q of this.queuedHeaders) q.reject(err);
    this.queuedHeaders = [];
  }

  private call(msg: Record<string, unknown>): Promise<number>;
  private call<T>(msg: Record<string, unknown>): Promise<T>;
  private call(msg: Record<string, unknown>): Promise<unknown> {
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

  /** One transaction (one fsync) for everything queued: new streams' header rows, then fragment rows. */
  private async commitQueued(): Promise<void> {
    this.committing = true;
    while (this.queued.length > 0 || this.queuedHeaders.length > 0) {
      const batch = this.queued;
      const headers = this.queuedHeaders;
      this.queued = [];
      this.queuedHeaders = [];
      try {
        const { ids, refused } = await this.call<{ ids: number[]; refused: number[] }>({
          op: 'commit',
          headers: headers.map((h) => h.header),
          rows: batch.map((b) => b.row),
          fences: batch.map((b) => b.fence ?? null),
        });
        headers.forEach((h, i) => h.resolve(ids[i]!));
        const stale = new Set(refused);
        batch.forEach((b, i) => (stale.has(i) ? b.reject(new StaleFenceError(b.row.stream_id, b.fence!.epoch)) : b.resolve()));
      } catch (err) {
        for (const h of headers) h.reject(err);
        if (batch.length === 1) batch[0]!.reject(err);
        // One refused row (a duplicate number) must not fail the others committed with it: one by one.
        else for (const b of batch) await this.call({ op: 'insert', rows: [b.row], fences: [b.fence ?? null] }).then((r) => (Array.isArray(r) && r.length ? b.reject(new StaleFenceError(b.row.stream_id, b.fence!.epoch)) : b.resolve()), b.reject);
      }
    }
    this.committing = false;
  }

  /** Group-committed with the fragment rows: 200 cameras starting at once share a few commits. */
  putHeader(streamId: number, sha: string, bytes: Buffer): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queuedHeaders.push({ header: { streamId, sha, bytes }, resolve, reject });
      if (!this.committing) void this.commitQueued();
    });
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
