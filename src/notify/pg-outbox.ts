/**
 * Outbox on the PostgreSQL index (tables `kestrel_webhook_outbox`, `kestrel_webhook_dead_letters`
 * from migration 0004_work.sql). Several nodes can deliver one target: `claimHeads` locks the due lane
 * heads with `FOR UPDATE SKIP LOCKED` and leases them (claimed_by, lease_until), so a lane is sent by
 * one node at a time and in order; a node that dies loses its leases when they expire.
 */
import type pg from 'pg';
import { inTransaction } from '../store/pg/pg-pool.ts';
import { toEntry, type DeadLetter, type Outbox, type OutboxEntry, type OutboxRow } from './outbox.ts';

// seq is bigserial: returned as a string by pg, read as a number (fits a double for 2^53 deliveries).
const COLUMNS = 'seq::float8 AS seq, target, stream, event_id, body, attempts, next_attempt_at, last_error, created_at';

export class PgOutbox implements Outbox {
  constructor(private readonly pool: pg.Pool) {}

  async enqueue(e: { target: string; stream: string; eventId: string; body: string; now: number }): Promise<number> {
    const r = await this.pool.query<{ seq: number }>(
      `INSERT INTO kestrel_webhook_outbox (target, stream, event_id, body, attempts, next_attempt_at, created_at)
       VALUES ($1, $2, $3, $4, 0, $5, $5) RETURNING seq::float8 AS seq`,
      [e.target, e.stream, e.eventId, e.body, e.now],
    );
    return r.rows[0]!.seq;
  }

  async heads(target: string): Promise<OutboxEntry[]> {
    const r = await this.pool.query<OutboxRow>(
      `SELECT * FROM (SELECT DISTINCT ON (stream) ${COLUMNS} FROM kestrel_webhook_outbox WHERE target = $1 ORDER BY stream, seq) h ORDER BY seq`,
      [target],
    );
    return r.rows.map(toEntry);
  }

  async delivered(seq: number): Promise<void> {
    await this.pool.query('DELETE FROM kestrel_webhook_outbox WHERE seq = $1', [seq]);
  }

  async failed(seq: number, attempts: number, nextAttemptAt: number, error: string): Promise<void> {
    await this.pool.query(
      'UPDATE kestrel_webhook_outbox SET attempts = $2, next_attempt_at = $3, last_error = $4, claimed_by = NULL, lease_until = NULL WHERE seq = $1',
      [seq, attempts, nextAttemptAt, error],
    );
  }

  async deadLetter(seq: number, attempts: number, error: string, now: number): Promise<void> {
    await this.pool.query(
      `WITH gone AS (DELETE FROM kestrel_webhook_outbox WHERE seq = $1 RETURNING *)
       INSERT INTO kestrel_webhook_dead_letters (seq, target, stream, event_id, body, attempts, next_attempt_at, last_error, created_at, dead_at)
       SELECT seq, target, stream, event_id, body, $2, next_attempt_at, $3, created_at, $4 FROM gone`,
      [seq, attempts, error, now],
    );
  }

  async pendingCount(target: string): Promise<number> {
    const r = await this.pool.query<{ n: number }>('SELECT COUNT(*)::float8 AS n FROM kestrel_webhook_outbox WHERE target = $1', [target]);
    return r.rows[0]?.n ?? 0;
  }

  async pendingTotal(): Promise<number> {
    const r = await this.pool.query<{ n: number }>('SELECT COUNT(*)::float8 AS n FROM kestrel_webhook_outbox');
    return r.rows[0]?.n ?? 0;
  }

  async deadLetters(target: string, limit = 100): Promise<DeadLetter[]> {
    const r = await this.pool.query<OutboxRow & { dead_at: number }>(
      `SELECT ${COLUMNS}, dead_at FROM kestrel_webhook_dead_letters WHERE target = $1 ORDER BY seq LIMIT $2`,
      [target, limit],
    );
    return r.rows.map((row) => ({ ...toEntry(row), deadAt: row.dead_at }));
  }

  async requeue(deadSeq: number, now: number): Promise<number | undefined> {
    return inTransaction(this.pool, async (c) => {
      const r = await c.query<{ seq: number }>(
        `WITH back AS (DELETE FROM kestrel_webhook_dead_letters WHERE seq = $1 RETURNING target, stream, event_id, body)
         INSERT INTO kestrel_webhook_outbox (target, stream, event_id, body, attempts, next_attempt_at, created_at)
         SELECT target, stream, event_id, body, 0, $2, $2 FROM back RETURNING seq::float8 AS seq`,
        [deadSeq, now],
      );
      return r.rows[0]?.seq;
    });
  }

  async claimHeads(target: string, owner: string, now: number, leaseMs: number): Promise<OutboxEntry[]> {
    // A head seen in this snapshot that a concurrent node deleted is skipped by FOR UPDATE; one that
    // still exists is still its lane's head (entries are only ever appended behind it).
    const r = await this.pool.query<OutboxRow>(
      `WITH heads AS (
         SELECT DISTINCT ON (stream) seq AS head FROM kestrel_webhook_outbox WHERE target = $1 ORDER BY stream, seq
       ), due AS (
         SELECT o.seq AS due_seq FROM kestrel_webhook_outbox o JOIN heads ON heads.head = o.seq
         WHERE o.next_attempt_at <= $3 AND (o.claimed_by IS NULL OR o.claimed_by = $2 OR o.lease_until < $3)
         FOR UPDATE OF o SKIP LOCKED
       )
       UPDATE kestrel_webhook_outbox o SET claimed_by = $2, lease_until = $3::float8 + $4::float8 FROM due WHERE o.seq = due.due_seq
       RETURNING o.seq::float8 AS seq, o.target, o.stream, o.event_id, o.body, o.attempts, o.next_attempt_at, o.last_error, o.created_at`,
      [target, owner, now, leaseMs],
    );
    return r.rows.map(toEntry).sort((a, b) => a.seq - b.seq);
  }
}
