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

/** Durable queue of pending webhook deliveries; one ordered lane per (target, stream). */
export interface Outbox {
  enqueue(e: { target: string; stream: string; eventId: string; body: string; now: number }): number;
  /** The oldest entry of every stream lane of `target` (due or not). */
  heads(target: string): OutboxEntry[];
  delivered(seq: number): void;
  failed(seq: number, attempts: number, nextAttemptAt: number, error: string): void;
  /** Moves the entry to the dead-letter table, unblocking its lane. */
  deadLetter(seq: number, attempts: number, error: string, now: number): void;
  pendingCount(target: string): number;
  deadLetters(target: string, limit?: number): DeadLetter[];
  /** Puts a dead letter back at the end of its lane with attempts reset. Returns the new seq. */
  requeue(deadSeq: number, now: number): number | undefined;
}

interface Row {
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
}

const toEntry = (r: Row): OutboxEntry => ({
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
    this.s = {
      insert: db.prepare(
        `INSERT INTO kestrel_webhook_outbox (target, stream, event_id, body, attempts, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, 0, ?, ?)`,
      ),
      heads: db.prepare<[string], Row>(
        `SELECT o.* FROM kestrel_webhook_outbox o
         WHERE o.target = ? AND o.seq = (SELECT MIN(i.seq) FROM kestrel_webhook_outbox i WHERE i.target = o.target AND i.stream = o.stream)
         ORDER BY o.seq`,
      ),
      del: db.prepare('DELETE FROM kestrel_webhook_outbox WHERE seq = ?'),
      get: db.prepare<[number], Row>('SELECT * FROM kestrel_webhook_outbox WHERE seq = ?'),
      fail: db.prepare('UPDATE kestrel_webhook_outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE seq = ?'),
      toDead: db.prepare(
        `INSERT INTO kestrel_webhook_dead_letters (seq, target, stream, event_id, body, attempts, next_attempt_at, last_error, created_at, dead_at)
         VALUES (@seq, @target, @stream, @event_id, @body, @attempts, @next_attempt_at, @last_error, @created_at, @dead_at)`,
      ),
      count: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM kestrel_webhook_outbox WHERE target = ?'),
      dead: db.prepare<[string, number], Row>('SELECT * FROM kestrel_webhook_dead_letters WHERE target = ? ORDER BY seq LIMIT ?'),
      getDead: db.prepare<[number], Row>('SELECT * FROM kestrel_webhook_dead_letters WHERE seq = ?'),
      delDead: db.prepare('DELETE FROM kestrel_webhook_dead_letters WHERE seq = ?'),
    };
  }

  enqueue(e: { target: string; stream: string; eventId: string; body: string; now: number }): number {
    return Number(this.s.insert.run(e.target, e.stream, e.eventId, e.body, e.now, e.now).lastInsertRowid);
  }

  heads(target: string): OutboxEntry[] {
    return this.s.heads.all(target).map(toEntry);
  }

  delivered(seq: number): void {
    this.s.del.run(seq);
  }

  failed(seq: number, attempts: number, nextAttemptAt: number, error: string): void {
    this.s.fail.run(attempts, nextAttemptAt, error, seq);
  }

  deadLetter(seq: number, attempts: number, error: string, now: number): void {
    this.db.transaction(() => {
      const row = this.s.get.get(seq);
      if (!row) return;
      this.s.toDead.run({ ...row, attempts, last_error: error, dead_at: now });
      this.s.del.run(seq);
    })();
  }

  pendingCount(target: string): number {
    return this.s.count.get(target)?.n ?? 0;
  }

  /** Deliveries waiting over all targets (metrics). */
  pendingTotal(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM kestrel_webhook_outbox').get() as { n: number }).n;
  }

  deadLetters(target: string, limit = 100): DeadLetter[] {
    return this.s.dead.all(target, limit).map((r) => ({ ...toEntry(r), deadAt: r.dead_at ?? 0 }));
  }

  requeue(deadSeq: number, now: number): number | undefined {
    return this.db.transaction(() => {
      const row = this.s.getDead.get(deadSeq);
      if (!row) return undefined;
      this.s.delDead.run(deadSeq);
      return this.enqueue({ target: row.target, stream: row.stream, eventId: row.event_id, body: row.body, now });
    })();
  }
}
