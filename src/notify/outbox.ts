import type Database from 'better-sqlite3';

export interface OutboxEntry {
  seq: number;
  /** Which notifier owns it (several webhook targets may share one database). */
  target: string;
  stream: string;
  eventId: string;
  body: string;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: number;
}

export interface DeadLetter extends OutboxEntry {
  deadAt: number;
}

/**
 * Durable queue of pending webhook deliveries; one ordered lane per (target, stream). A port:
 * SqliteOutbox (embedded) and PgOutbox (src/notify/pg-outbox.ts); test/support/outbox-contract.ts
 * runs against both.
 */
export interface Outbox {
  enqueue(e: { target: string; stream: string; eventId: string; body: string; now: number }): Promise<number>;
  /** The oldest entry of every stream lane of `target` (due or not). */
  heads(target: string): Promise<OutboxEntry[]>;
  delivered(seq: number): Promise<void>;
  failed(seq: number, attempts: number, nextAttemptAt: number, error: string): Promise<void>;
  /** Moves the entry to the dead-letter table, unblocking its lane. */
  deadLetter(seq: number, attempts: number, error: string, now: number): Promise<void>;
  pendingCount(target: string): Promise<number>;
  /** Deliveries waiting over all targets (metrics). */
  pendingTotal(): Promise<number>;
  deadLetters(target: string, limit?: number): Promise<DeadLetter[]>;
  /** Puts a dead letter back at the end of its lane with attempts reset. Returns the new seq. */
  requeue(deadSeq: number, now: number): Promise<number | undefined>;
  /**
   * Several nodes delivering one target: the due heads of its lanes that no other owner holds (or whose
   * lease expired), now leased to `owner` until `now + leaseMs`. A lane is held by at most one owner, so
   * its order holds. PostgreSQL: `FOR UPDATE SKIP LOCKED`. `delivered`/`failed`/`deadLetter` end the lease.
   */
  claimHeads(target: string, owner: string, now: number, leaseMs: number): Promise<OutboxEntry[]>;
}

export interface OutboxRow {
  seq: number;
  target: string;
  stream: string;
  event_id: string;
  body: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  dead_at?: number;
  claimed_by?: string | null;
  lease_until?: number | null;
}

export const toEntry = (r: OutboxRow): OutboxEntry => ({
  seq: r.seq,
  target: r.target,
  stream: r.stream,
  eventId: r.event_id,
  body: r.body,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastError: r.last_error,
  createdAt: r.created_at,
});

/** Outbox in the caller's SQLite database (tables `kestrel_webhook_outbox`, `kestrel_webhook_dead_letters`). */
export class SqliteOutbox implements Outbox {
  private readonly db: Database.Database;
  private readonly s;

  constructor(db: Database.Database) {
    this.db = db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS kestrel_webhook_outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        target TEXT NOT NULL, stream TEXT NOT NULL, event_id TEXT NOT NULL, body TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL,
        last_error TEXT, created_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS kestrel_webhook_outbox_lane ON kestrel_webhook_outbox (target, stream, seq);
      CREATE TABLE IF NOT EXISTS kestrel_webhook_dead_letters (
        seq INTEGER PRIMARY KEY,
        target TEXT NOT NULL, stream TEXT NOT NULL, event_id TEXT NOT NULL, body TEXT NOT NULL,
        attempts INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL, last_error TEXT,
        created_at INTEGER NOT NULL, dead_at INTEGER NOT NULL
      );
    `);
    // Lease columns (claimHeads); older databases get them added.
    const cols = db.prepare<[], { name: string }>('PRAGMA table_info(kestrel_webhook_outbox)').all();
    if (!cols.some((c) => c.name === 'claimed_by')) {
      db.exec('ALTER TABLE kestrel_webhook_outbox ADD COLUMN claimed_by TEXT; ALTER TABLE kestrel_webhook_outbox ADD COLUMN lease_until INTEGER');
    }
    this.s = {
      insert: db.prepare(
        `INSERT INTO kestrel_webhook_outbox (target, stream, event_id, body, attempts, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, 0, ?, ?)`,
      ),
      heads: db.prepare<[string], OutboxRow>(
        `SELECT o.* FROM kestrel_webhook_outbox o
         WHERE o.target = ? AND o.seq = (SELECT MIN(i.seq) FROM kestrel_webhook_outbox i WHERE i.target = o.target AND i.stream = o.stream)
         ORDER BY o.seq`,
      ),
      del: db.prepare('DELETE FROM kestrel_webhook_outbox WHERE seq = ?'),
      get: db.prepare<[number], OutboxRow>('SELECT * FROM kestrel_webhook_outbox WHERE seq = ?'),
      fail: db.prepare('UPDATE kestrel_webhook_outbox SET attempts = ?, next_attempt_at = ?, last_error = ?, claimed_by = NULL, lease_until = NULL WHERE seq = ?'),
      lease: db.prepare('UPDATE kestrel_webhook_outbox SET claimed_by = ?, lease_until = ? WHERE seq = ?'),
      total: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM kestrel_webhook_outbox'),
      toDead: db.prepare(
        `INSERT INTO kestrel_webhook_dead_letters (seq, target, stream, event_id, body, attempts, next_attempt_at, last_error, created_at, dead_at)
         VALUES (@seq, @target, @stream, @event_id, @body, @attempts, @next_attempt_at, @last_error, @created_at, @dead_at)`,
      ),
      count: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM kestrel_webhook_outbox WHERE target = ?'),
      dead: db.prepare<[string, number], OutboxRow>('SELECT * FROM kestrel_webhook_dead_letters WHERE target = ? ORDER BY seq LIMIT ?'),
      getDead: db.prepare<[number], OutboxRow>('SELECT * FROM kestrel_webhook_dead_letters WHERE seq = ?'),
      delDead: db.prepare('DELETE FROM kestrel_webhook_dead_letters WHERE seq = ?'),
    };
  }

  async enqueue(e: { target: string; stream: string; eventId: string; body: string; now: number }): Promise<number> {
    return this.enqueueSync(e);
  }

  private enqueueSync(e: { target: string; stream: string; eventId: string; body: string; now: number }): number {
    return Number(this.s.insert.run(e.target, e.stream, e.eventId, e.body, e.now, e.now).lastInsertRowid);
  }

  async heads(target: string): Promise<OutboxEntry[]> {
    return this.s.heads.all(target).map(toEntry);
  }

  async delivered(seq: number): Promise<void> {
    this.s.del.run(seq);
  }

  async failed(seq: number, attempts: number, nextAttemptAt: number, error: string): Promise<void> {
    this.s.fail.run(attempts, nextAttemptAt, error, seq);
  }

  async deadLetter(seq: number, attempts: number, error: string, now: number): Promise<void> {
    this.db.transaction(() => {
      const row = this.s.get.get(seq);
      if (!row) return;
      this.s.toDead.run({ seq: row.seq, target: row.target, stream: row.stream, event_id: row.event_id, body: row.body, attempts, next_attempt_at: row.next_attempt_at, last_error: error, created_at: row.created_at, dead_at: now });
      this.s.del.run(seq);
    })();
  }

  async pendingCount(target: string): Promise<number> {
    return this.s.count.get(target)?.n ?? 0;
  }

  async pendingTotal(): Promise<number> {
    return this.s.total.get()?.n ?? 0;
  }

  async deadLetters(target: string, limit = 100): Promise<DeadLetter[]> {
    return this.s.dead.all(target, limit).map((r) => ({ ...toEntry(r), deadAt: r.dead_at ?? 0 }));
  }

  async requeue(deadSeq: number, now: number): Promise<number | undefined> {
    return this.db.transaction(() => {
      const row = this.s.getDead.get(deadSeq);
      if (!row) return undefined;
      this.s.delDead.run(deadSeq);
      return this.enqueueSync({ target: row.target, stream: row.stream, eventId: row.event_id, body: row.body, now });
    })();
  }

  async claimHeads(target: string, owner: string, now: number, leaseMs: number): Promise<OutboxEntry[]> {
    return this.db.transaction(() => {
      const due = this.s.heads.all(target).filter((r) => r.next_attempt_at <= now && (r.claimed_by === null || r.claimed_by === owner || (r.lease_until ?? 0) < now));
      for (const r of due) this.s.lease.run(owner, now + leaseMs, r.seq);
      return due.map(toEntry);
    })();
  }
}
