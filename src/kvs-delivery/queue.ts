/**
 * A bounded in-memory work queue: `push` never blocks and never throws (the ingest path calls it);
 * when full the item is dropped and reported. Work runs on later turns of the event loop, at most
 * `concurrency` items at once, each failure isolated.
 */
export interface BoundedQueueOptions<T> {
  capacity: number;
  concurrency: number;
  run: (item: T) => Promise<void>;
  onDrop: (item: T, reason: 'full' | 'closed') => void;
  onError: (err: unknown, item: T) => void;
}

export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private active = 0;
  private closed = false;
  private scheduled = false;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly o: BoundedQueueOptions<T>) {}

  get size(): number {
    return this.items.length + this.active;
  }

  /** Enqueues; false when the item was dropped (queue full or closed). */
  push(item: T): boolean {
    if (this.closed) {
      this.o.onDrop(item, 'closed');
      return false;
    }
    if (this.items.length >= this.o.capacity) {
      this.o.onDrop(item, 'full');
      return false;
    }
    this.items.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      // Never start work inside the caller's turn: the producer's ACK goes out first.
      setImmediate(() => {
        this.scheduled = false;
        this.pump();
      });
    }
    return true;
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.size === 0 && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops what is still queued (returns how many) and waits for the items in progress. */
  async close(): Promise<number> {
    this.closed = true;
    const dropped = this.items.splice(0);
    for (const item of dropped) this.o.onDrop(item, 'closed');
    await Promise.allSettled([...this.running]);
    this.notifyIdle();
    return dropped.length;
  }

  private pump(): void {
    while (!this.closed && this.active < this.o.concurrency && this.items.length > 0) {
      const item = this.items.shift() as T;
      this.active++;
      const p: Promise<void> = this.o
        .run(item)
        .catch((err: unknown) => this.o.onError(err, item))
        .finally(() => {
          this.active--;
          this.running.delete(p);
          this.pump();
          this.notifyIdle();
        });
      this.running.add(p);
    }
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.size === 0 && !this.scheduled) for (const w of this.idleWaiters.splice(0)) w();
  }
}
