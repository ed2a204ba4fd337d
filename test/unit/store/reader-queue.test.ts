import { describe, expect, it } from 'vitest';
import { ReaderQueue, ReaderQueueStats } from '../../../src/store/reader-queue.ts';
import type { Logger } from '../../../src/shared/logger.ts';

function capturingLog(lines: string[]): Logger {
  const log = { warn: (_o: unknown, msg: string) => void lines.push(msg), child: () => log } as unknown as Logger;
  return log;
}

describe('ReaderQueue', () => {
  it('keeps items in order within its byte bound and discards (counts, logs) what does not fit', () => {
    const stats = new ReaderQueueStats();
    const lines: string[] = [];
    const q = new ReaderQueue<number>({ maxBytes: 10, sizeOf: (n) => n, stats, log: capturingLog(lines), label: 'reader r1' });
    expect(q.push(4)).toBe(true);
    expect(q.push(5)).toBe(true);
    expect(q.push(2)).toBe(false); // 11 > 10
    expect(q.push(3)).toBe(false);
    expect(q.push(1)).toBe(true); // 10 fits exactly
    expect(q.bytes).toBe(10);
    expect(stats.queuedBytes).toBe(10);
    expect(q.discarded).toBe(2);
    expect(stats).toMatchObject({ discardedItems: 2, discardedBytes: 5, overflowedReaders: 1 });
    expect(lines).toEqual(['reader r1 is too slow, discarding 1 item(s)']); // rate-limited
    expect(q.shift()).toBe(4);
    expect(q.drain()).toEqual([5, 1]);
    expect(q.length).toBe(0);
    expect(stats.queuedBytes).toBe(0);
  });

  it('accepts one oversized item when empty, so a reader always makes progress', () => {
    const q = new ReaderQueue<number>({ maxBytes: 10, sizeOf: (n) => n });
    expect(q.push(50)).toBe(true);
    expect(q.push(1)).toBe(false);
    expect(q.shift()).toBe(50);
    expect(q.push(1)).toBe(true);
  });

  it('stays bounded over a long run of pushes and shifts (ring reuse)', () => {
    const stats = new ReaderQueueStats();
    const q = new ReaderQueue<number>({ maxBytes: 100, sizeOf: () => 10, stats });
    for (let i = 0; i < 10_000; i++) {
      q.push(i);
      q.push(i);
      q.shift();
      expect(q.bytes).toBeLessThanOrEqual(100);
    }
    expect(stats.queuedBytes).toBe(q.bytes);
    expect(stats.overflowedReaders).toBe(1);
  });
});
