/**
 * The Outbox contract, run against every implementation (SQLite in test/unit/notify, PostgreSQL in
 * test/integration/pg-work-stores.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Outbox } from '../../src/notify/outbox.ts';

export interface OutboxSubject {
  outbox: Outbox;
  close(): Promise<void> | void;
}

export function outboxContract(name: string, open: () => Promise<OutboxSubject>): void {
  describe(`Outbox contract: ${name}`, () => {
    let subject: OutboxSubject;
    let ob: Outbox;
    beforeEach(async () => {
      subject = await open();
      ob = subject.outbox;
    });
    afterEach(async () => {
      await subject.close();
    });

    it('keeps one ordered lane per stream, dead-letters and requeues', async () => {
      const a1 = await ob.enqueue({ target: 'w', stream: 'a', eventId: 'e1', body: '1', now: 1 });
      const a2 = await ob.enqueue({ target: 'w', stream: 'a', eventId: 'e2', body: '2', now: 2 });
      const b1 = await ob.enqueue({ target: 'w', stream: 'b', eventId: 'e3', body: '3', now: 3 });
      await ob.enqueue({ target: 'other', stream: 'a', eventId: 'e4', body: '4', now: 4 });
      expect(typeof a1).toBe('number');
      expect((await ob.heads('w')).map((h) => h.seq)).toEqual([a1, b1]);
      expect((await ob.heads('w'))[0]).toEqual({ seq: a1, target: 'w', stream: 'a', eventId: 'e1', body: '1', attempts: 0, nextAttemptAt: 1, lastError: null, createdAt: 1 });
      await ob.failed(a1, 1, 100, 'HTTP 503');
      expect((await ob.heads('w'))[0]).toMatchObject({ seq: a1, attempts: 1, nextAttemptAt: 100, lastError: 'HTTP 503' });
      await ob.deadLetter(a1, 10, 'ECONNREFUSED', 200);
      expect((await ob.heads('w')).map((h) => h.seq)).toEqual([a2, b1]);
      expect(await ob.deadLetters('w')).toEqual([
        { seq: a1, target: 'w', stream: 'a', eventId: 'e1', body: '1', attempts: 10, nextAttemptAt: 100, lastError: 'ECONNREFUSED', createdAt: 1, deadAt: 200 },
      ]);
      await ob.delivered(a2);
      const again = await ob.requeue(a1, 300);
      expect(again).toBeGreaterThan(a2);
      expect(await ob.deadLetters('w')).toEqual([]);
      expect((await ob.heads('w')).find((h) => h.stream === 'a')).toMatchObject({ seq: again, eventId: 'e1', attempts: 0, nextAttemptAt: 300 });
      expect(await ob.pendingCount('w')).toBe(2);
      expect(await ob.pendingCount('nobody')).toBe(0);
      expect(await ob.pendingTotal()).toBe(3);
      expect(await ob.requeue(12345, 1)).toBeUndefined();
      await ob.deadLetter(424242, 1, 'gone', 1); // unknown seq: nothing happens
      expect(await ob.deadLetters('w')).toEqual([]);
    });

    it('limits dead letters and keeps them per target', async () => {
      for (let i = 0; i < 5; i++) {
        const seq = await ob.enqueue({ target: 't', stream: `s${i}`, eventId: `e${i}`, body: '{}', now: i });
        await ob.deadLetter(seq, 3, 'refused', 10 + i);
      }
      await ob.deadLetter(await ob.enqueue({ target: 'u', stream: 's', eventId: 'x', body: '{}', now: 1 }), 1, 'no', 2);
      expect((await ob.deadLetters('t', 2)).map((d) => d.eventId)).toEqual(['e0', 'e1']);
      expect(await ob.deadLetters('t')).toHaveLength(5);
      expect((await ob.deadLetters('u')).map((d) => d.eventId)).toEqual(['x']);
      expect(await ob.pendingTotal()).toBe(0);
    });

    it('leases due lane heads to one claimer; failure or expiry hands them on', async () => {
      const a1 = await ob.enqueue({ target: 'w', stream: 'a', eventId: 'a1', body: '1', now: 10 });
      await ob.enqueue({ target: 'w', stream: 'a', eventId: 'a2', body: '2', now: 10 });
      const b1 = await ob.enqueue({ target: 'w', stream: 'b', eventId: 'b1', body: '3', now: 10 });
      const c1 = await ob.enqueue({ target: 'w', stream: 'c', eventId: 'c1', body: '4', now: 500 });
      await ob.enqueue({ target: 'x', stream: 'a', eventId: 'x1', body: '5', now: 10 });
      expect((await ob.claimHeads('w', 'node-a', 100, 1000)).map((e) => e.seq)).toEqual([a1, b1]); // c1 not due yet
      expect(await ob.claimHeads('w', 'node-b', 200, 1000)).toEqual([]);
      // Renewal by the holder; a failed attempt releases the entry (due again at its next attempt).
      expect((await ob.claimHeads('w', 'node-a', 600, 1000)).map((e) => e.seq)).toEqual([a1, b1, c1]);
      await ob.failed(b1, 1, 700, 'HTTP 500');
      expect((await ob.claimHeads('w', 'node-b', 800, 1000)).map((e) => e.seq)).toEqual([b1]);
      // node-a dies: its leases (until 1600) expire.
      expect((await ob.claimHeads('w', 'node-b', 1700, 1000)).map((e) => e.seq)).toEqual([a1, b1, c1]);
      await ob.delivered(a1);
      expect((await ob.claimHeads('w', 'node-c', 1800, 1000)).map((e) => e.eventId)).toEqual(['a2']);
    });

    it('never gives one lane head to two concurrent claimers', async () => {
      for (let i = 0; i < 8; i++) await ob.enqueue({ target: 'w', stream: `s${i}`, eventId: `e${i}`, body: '{}', now: 1 });
      const claims = await Promise.all(['a', 'b', 'c', 'd'].map((n) => ob.claimHeads('w', `node-${n}`, 10, 1000)));
      const seqs = claims.flat().map((e) => e.seq);
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(seqs.length).toBe(8);
    });
  });
}
