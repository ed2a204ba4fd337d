/**
 * Shared secrets on the PostgreSQL index (table `kestrel_secrets`, migration 0005_secrets.sql).
 * Create-if-absent is atomic across nodes: INSERT … ON CONFLICT DO NOTHING, then SELECT — every node
 * reads the one value that won.
 */
import type pg from 'pg';
import { checkSecretName, type SecretStore } from '../secret-store.ts';

export class PgSecretStore implements SecretStore {
  constructor(private readonly pool: pg.Pool) {}

  where(name: string): string {
    checkSecretName(name);
    return `the index (kestrel_secrets.${name})`;
  }

  async getOrCreate(name: string, generate: () => string, valid: (value: string) => boolean = (v) => v.length > 0): Promise<string> {
    checkSecretName(name);
    const existing = await this.read(name);
    if (existing !== undefined && valid(existing)) return existing;
    if (existing === undefined) {
      await this.pool.query('INSERT INTO kestrel_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, generate()]);
    } else {
      // Not written by Kestrel (or damaged): replace it, but only if nobody else replaced it first.
      await this.pool.query('UPDATE kestrel_secrets SET value = $3 WHERE name = $1 AND value = $2', [name, existing, generate()]);
    }
    const value = await this.read(name);
    if (value === undefined || !valid(value)) throw new Error(`secret ${name} could not be stored in the index`);
    return value;
  }

  private async read(name: string): Promise<string | undefined> {
    return (await this.pool.query<{ value: string }>('SELECT value FROM kestrel_secrets WHERE name = $1', [name])).rows[0]?.value;
  }
}
