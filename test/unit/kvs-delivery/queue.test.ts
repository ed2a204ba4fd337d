import { describe, expect, it } from 'vitest';
import { BoundedQueue } from '../../../src/kvs-delivery/queue.ts';

describe('BoundedQueue', () => {
  it('never runs work in the caller turn, drops beyond capacity, isolates failures, runs in order', async () => {
    const ran: number[] = [];
    const dropped: Array<[number, string]> = [];
    const errors: number[] = [];
    const q = new BoundedQueue<number>({
      capacity: 3,
      concurrency: 1,
      run: async (n) => {
        ran.push(n);
        if (n === 2) throw new Error('boom');
      },
      onDrop: (n, reason) => dropped.push([n, reason]),
      onError: (_err, n) => errors.push(n),
    });
    expect([1, 2, 3, 4].map((n) => q.push(n))).toEqual([true, true, true, false]);
    expect(ran).toEqual([]);
    await q.idle();
    expect(ran).toEqual([1, 2, 3]);
    expect(errors).toEqual([2]);
    expect(dropped).toEqual([[4, 'full']]);
    expect(q.push(5)).toBe(true);
    await q.idle();
    expect(ran).toEqual([1, 2, 3, 5]);
    await q.close();
    expect(q.push(6)).toBe(false);
    expect(dropped.at(-1)).toEqual([6, 'closed']);
  });

  it('close drops what is queued and waits for the running item', async () => {
    let release!: () => void;
    const done: number[] = [];
    const q = new BoundedQueue<number>({
      capacity: 10,
      concurrency: 1,
      run: async (n) => {
        if (n === 1) await new Promise<void>((r) => (release = r));
        done.push(n);
      },
      onDrop: () => undefined,
      onError: () => undefined,
    });
    q.push(1);
    q.push(2);
    await new Promise((r) => setImmediate(r));
    const closing = q.close();
    release();
    expect(await closing).toBe(1);
    expect(done).toEqual([1]);
  });
});
