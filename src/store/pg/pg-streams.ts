/**
 * Stream records in the shared PostgreSQL index (table `streams`, migration 0002). Same contract as
 * SqliteStreamRepository (test/support/stream-repository-contract.ts). `save` is a compare-and-set
 * on `revision`, so several nodes can run the control plane without any lock between them.
 */
import type pg from 'pg';
import { KvsError } from '../../shared/errors.ts';
import { StaleStreamError, type ListStreamsQuery, type NewStreamRecord, type StreamRecord, type StreamRepository, type StreamStatus } from '../types.ts';

interface StreamRow {
  id: string;
  revision: string;
  name: string;
  arn: string;
  version: string;
  status: string;
  creation_time_ms: string;
  data_retention_hours: number;
  media_type: string | null;
  device_name: string | null;
  kms_key_id: string;
  tags: Record<string, string>;
  storage_tier: string;
  image_generation_config: unknown;
  notification_config: unknown;
}

const COLUMNS = `name, arn, version, status, creation_time_ms, data_retention_hours, media_type, device_name,
  kms_key_id, tags, storage_tier, image_generation_config, notification_config`;

const UNIQUE_VIOLATION = '23505';

export class PgStreamRepository implements StreamRepository {
  constructor(private readonly pool: pg.Pool) {}

  async create(rec: NewStreamRecord): Promise<StreamRecord> {
    try {
      const { rows } = await this.pool.query<{ id: string }>(
        `INSERT INTO streams (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
        params(rec),
      );
      return { ...rec, id: Number(rows[0]!.id), revision: 0 };
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) {
        throw new KvsError('ResourceInUseException', `The stream ${rec.name} already exists.`);
      }
      throw err;
    }
  }

  getById(id: number): Promise<StreamRecord | undefined> {
    return this.one('SELECT * FROM streams WHERE id = $1', [id]);
  }

  getByName(name: string): Promise<StreamRecord | undefined> {
    return this.one('SELECT * FROM streams WHERE name = $1', [name]);
  }

  getByArn(arn: string): Promise<StreamRecord | undefined> {
    return this.one('SELECT * FROM streams WHERE arn = $1', [arn]);
  }

  async list(query: ListStreamsQuery): Promise<StreamRecord[]> {
    // `name >= prefix` lets the "C"-collated unique index do the range scan; starts_with makes it exact.
    const { rows } = await this.pool.query<StreamRow>(
      `SELECT * FROM streams
       WHERE ($1::text IS NULL OR (name >= $1 AND starts_with(name, $1)))
         AND ($2::text IS NULL OR name > $2)
       ORDER BY name LIMIT $3`,
      [query.prefix ?? null, query.afterName ?? null, Math.min(query.limit, 1_000_000)],
    );
    return rows.map(fromRow);
  }

  async count(): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>('SELECT COUNT(*) AS n FROM streams');
    return Number(rows[0]!.n);
  }

  async save(rec: StreamRecord): Promise<StreamRecord> {
    const { rows } = await this.pool.query<{ revision: string }>(
      `UPDATE streams SET name = $1, arn = $2, version = $3, status = $4, creation_time_ms = $5,
         data_retention_hours = $6, media_type = $7, device_name = $8, kms_key_id = $9, tags = $10,
         storage_tier = $11, image_generation_config = $12, notification_config = $13, revision = revision + 1
       WHERE id = $14 AND revision = $15 RETURNING revision`,
      [...params(rec), rec.id, rec.revision],
    );
    if (rows.length === 0) throw new StaleStreamError(rec.id);
    return { ...rec, revision: Number(rows[0]!.revision) };
  }

  async remove(id: number): Promise<void> {
    await this.pool.query('DELETE FROM streams WHERE id = $1', [id]);
  }

  private async one(sql: string, values: unknown[]): Promise<StreamRecord | undefined> {
    const { rows } = await this.pool.query<StreamRow>(sql, values);
    return rows[0] && fromRow(rows[0]);
  }
}

function params(rec: NewStreamRecord): unknown[] {
  return [
    rec.name,
    rec.arn,
    rec.version,
    rec.status,
    rec.creationTimeMs,
    rec.dataRetentionInHours,
    rec.mediaType,
    rec.deviceName,
    rec.kmsKeyId,
    JSON.stringify(rec.tags),
    rec.storageTier,
    jsonOrNull(rec.imageGenerationConfig),
    jsonOrNull(rec.notificationConfig),
  ];
}

function fromRow(row: StreamRow): StreamRecord {
  return {
    id: Number(row.id),
    revision: Number(row.revision),
    name: row.name,
    arn: row.arn,
    version: row.version,
    status: row.status as StreamStatus,
    creationTimeMs: Number(row.creation_time_ms),
    dataRetentionInHours: row.data_retention_hours,
    mediaType: row.media_type,
    deviceName: row.device_name,
    kmsKeyId: row.kms_key_id,
    tags: row.tags,
    storageTier: row.storage_tier === 'WARM' ? 'WARM' : 'HOT',
    imageGenerationConfig: row.image_generation_config ?? null,
    notificationConfig: row.notification_config ?? null,
  };
}

/** jsonb parameters go as JSON text: node-postgres would send a JS array as a PostgreSQL array. */
const jsonOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));
