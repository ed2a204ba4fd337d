/**
 * Per-stream detection overrides set through the API (`PUT /api/v1/streams/:name/detection`), keyed by
 * stream name. A port: SqliteDetectConfigStore (table `kestrel_detect_config` in the server's db),
 * PgDetectConfigStore (pg-detect-config-store.ts) and MemoryDetectConfigStore (tests); one contract
 * suite (test/support/detect-config-store-contract.ts) runs against each.
 */
import type Database from 'better-sqlite3';
import type { DetectConfig } from './detect-config.ts';

export interface DetectConfigOverrides {
  get(stream: string): Promise<Partial<DetectConfig> | undefined>;
  set(stream: string, config: Partial<DetectConfig>): Promise<void>;
  /** Returns whether there was one. */
  delete(stream: string): Promise<boolean>;
}

export class SqliteDetectConfigStore implements DetectConfigOverrides {
  private readonly stmts;

  constructor(db: Database.Database, private readonly now: () => number = Date.now) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS kestrel_detect_config (
        stream TEXT PRIMARY KEY,
        config TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
    `);
    this.stmts = {
      get: db.prepare<[string], { config: string }>('SELECT config FROM kestrel_detect_config WHERE stream = ?'),
      set: db.prepare(`INSERT INTO kestrel_detect_config (stream, config, updated_at) VALUES (?, ?, ?)
        ON CONFLICT(stream) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at`),
      delete: db.prepare('DELETE FROM kestrel_detect_config WHERE stream = ?'),
    };
  }

  async get(stream: string): Promise<Partial<DetectConfig> | undefined> {
    const row = this.stmts.get.get(stream);
    return row ? (JSON.parse(row.config) as Partial<DetectConfig>) : undefined;
  }

  async set(stream: string, config: Partial<DetectConfig>): Promise<void> {
    this.stmts.set.run(stream, JSON.stringify(config), this.now());
  }

  async delete(stream: string): Promise<boolean> {
    return this.stmts.delete.run(stream).changes > 0;
  }
}

export class MemoryDetectConfigStore implements DetectConfigOverrides {
  readonly map = new Map<string, Partial<DetectConfig>>();
  async get(stream: string) {
    const c = this.map.get(stream);
    return c ? structuredClone(c) : undefined;
  }
  async set(stream: string, config: Partial<DetectConfig>) {
    this.map.set(stream, structuredClone(config));
  }
  async delete(stream: string) {
    return this.map.delete(stream);
  }
}
