/** Detection config overrides on the PostgreSQL index (table `kestrel_detect_config`, migration 0004_work.sql). */
import type pg from 'pg';
import type { DetectConfig } from './detect-config.ts';
import type { DetectConfigOverrides } from './detect-config-store.ts';

export class PgDetectConfigStore implements DetectConfigOverrides {
  constructor(private readonly pool: pg.Pool, private readonly now: () => number = Date.now) {}

  async get(stream: string): Promise<Partial<DetectConfig> | undefined> {
    const row = (await this.pool.query<{ config: string }>('SELECT config FROM kestrel_detect_config WHERE stream = $1', [stream])).rows[0];
    return row ? (JSON.parse(row.config) as Partial<DetectConfig>) : undefined;
  }

  async set(stream: string, config: Partial<DetectConfig>): Promise<void> {
    await this.pool.query(
      `INSERT INTO kestrel_detect_config (stream, config, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (stream) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at`,
      [stream, JSON.stringify(config), this.now()],
    );
  }

  async delete(stream: string): Promise<boolean> {
    const r = await this.pool.query('DELETE FROM kestrel_detect_config WHERE stream = $1', [stream]);
    return (r.rowCount ?? 0) > 0;
  }
}
