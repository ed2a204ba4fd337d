import type { Statement } from 'better-sqlite3';
import { KvsError } from '../shared/errors.ts';
import type { SqliteDb } from './sqlite-db.ts';
import { StaleStreamError, type ListStreamsQuery, type NewStreamRecord, type StreamRecord, type StreamRepository, type StreamStatus } from './types.ts';

/**
 * Stream records in the embedded SQLite database. AUTOINCREMENT (not plain rowid) so that an id is
 * never handed out twice: media and index rows of a deleted stream can never be mistaken for a new one's.
 * Tags and the image/notification configurations are JSON columns: they are only ever read whole.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS streams (
  id                      INTEGER PRIMARY KEY AUTOINCREMENT,
  name                    TEXT    NOT NULL UNIQUE,
  arn                     TEXT    NOT NULL UNIQUE,
  version                 TEXT    NOT NULL,
  status                  TEXT    NOT NULL,
  creation_time_ms        INTEGER NOT NULL,
  data_retention_hours    INTEGER NOT NULL,
  media_type              TEXT,
  device_name             TEXT,
  kms_key_id              TEXT    NOT NULL,
  tags                    TEXT    NOT NULL DEFAULT '{}',
  storage_tier            TEXT    NOT NULL DEFAULT 'HOT',
  image_generation_config TEXT,
  notification_config     TEXT,
  revision                INTEGER NOT NULL DEFAULT 0
)`;

interface StreamRow {
  id: number;
  name: string;
  arn: string;
  version: string;
  status: string;
  creation_time_ms: number;
  data_retention_hours: number;
  media_type: string | null;
  device_name: string | null;
  kms_key_id: string;
  tags: string;
  storage_tier: string;
  image_generation_config: string | null;
  notification_config: string | null;
  revision: number;
}

type RowParams = Omit<StreamRow, 'id' | 'revision'>;

const COLUMNS = `name, arn, version, status, creation_time_ms, data_retention_hours, media_type, device_name,
  kms_key_id, tags, storage_tier, image_generation_config, notification_config`;

export class SqliteStreamRepository implements StreamRepository {
  private readonly insertStmt: Statement<[RowParams]>;
  private readonly updateStmt: Statement<[RowParams & { id: number; revision: number }]>;
  private readonly byIdStmt: Statement<[number], StreamRow>;
  private readonly byNameStmt: Statement<[string], StreamRow>;
  private readonly byArnStmt: Statement<[string], StreamRow>;
  private readonly listStmt: Statement<[{ prefix: string | null; after: string | null; limit: number }], StreamRow>;
  private readonly countStmt: Statement<[], { n: number }>;
  private readonly removeStmt: Statement<[number]>;

  constructor(db: SqliteDb) {
    db.exec(SCHEMA);
    // Databases made before optimistic concurrency lack the column; existing rows start at 0.
    if (!(db.prepare('PRAGMA table_info(streams)').all() as Array<{ name: string }>).some((c) => c.name === 'revision')) {
      db.exec('ALTER TABLE streams ADD COLUMN revision INTEGER NOT NULL DEFAULT 0');
    }
    this.insertStmt = db.prepare(
      `INSERT INTO streams (${COLUMNS}) VALUES (@name, @arn, @version, @status, @creation_time_ms,
        @data_retention_hours, @media_type, @device_name, @kms_key_id, @tags, @storage_tier,
        @image_generation_config, @notification_config)`,
    );
    this.updateStmt = db.prepare(
      `UPDATE streams SET name = @name, arn = @arn, version = @version, status = @status,
        creation_time_ms = @creation_time_ms, data_retention_hours = @data_retention_hours,
        media_type = @media_type, device_name = @device_name, kms_key_id = @kms_key_id, tags = @tags,
        storage_tier = @storage_tier, image_generation_config = @image_generation_config,
        notification_config = @notification_config, revision = revision + 1
       WHERE id = @id AND revision = @revision`,
    );
    this.byIdStmt = db.prepare('SELECT * FROM streams WHERE id = ?');
    this.byNameStmt = db.prepare('SELECT * FROM streams WHERE name = ?');
    this.byArnStmt = db.prepare('SELECT * FROM streams WHERE arn = ?');
    // `name >= prefix` lets the unique index on name do the range scan; substr() makes the match exact.
    this.listStmt = db.prepare(
      `SELECT * FROM streams
       WHERE (@prefix IS NULL OR (name >= @prefix AND substr(name, 1, length(@prefix)) = @prefix))
         AND (@after IS NULL OR name > @after)
       ORDER BY name LIMIT @limit`,
    );
    this.countStmt = db.prepare('SELECT COUNT(*) AS n FROM streams');
    this.removeStmt = db.prepare('DELETE FROM streams WHERE id = ?');
  }

  async create(rec: NewStreamRecord): Promise<StreamRecord> {
    try {
      const info = this.insertStmt.run(toRow(rec));
      return { ...rec, id: Number(info.lastInsertRowid), revision: 0 };
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new KvsError('ResourceInUseException', `The stream ${rec.name} already exists.`);
      }
      throw err;
    }
  }

  async getById(id: number): Promise<StreamRecord | undefined> {
    return fromRow(this.byIdStmt.get(id));
  }

  async getByName(name: string): Promise<StreamRecord | undefined> {
    return fromRow(this.byNameStmt.get(name));
  }

  async getByArn(arn: string): Promise<StreamRecord | undefined> {
    return fromRow(this.byArnStmt.get(arn));
  }

  async list(query: ListStreamsQuery): Promise<StreamRecord[]> {
    const rows = this.listStmt.all({ prefix: query.prefix ?? null, after: query.afterName ?? null, limit: query.limit });
    return rows.map((row) => fromRow(row) as StreamRecord);
  }

  async count(): Promise<number> {
    return this.countStmt.get()?.n ?? 0;
  }

  async save(rec: StreamRecord): Promise<StreamRecord> {
    const changes = this.updateStmt.run({ ...toRow(rec), id: rec.id, revision: rec.revision }).changes;
    if (changes === 0) throw new StaleStreamError(rec.id);
    return { ...rec, revision: rec.revision + 1 };
  }

  async remove(id: number): Promise<void> {
    this.removeStmt.run(id);
  }
}

function toRow(rec: NewStreamRecord): RowParams {
  return {
    name: rec.name,
    arn: rec.arn,
    version: rec.version,
    status: rec.status,
    creation_time_ms: rec.creationTimeMs,
    data_retention_hours: rec.dataRetentionInHours,
    media_type: rec.mediaType,
    device_name: rec.deviceName,
    kms_key_id: rec.kmsKeyId,
    tags: JSON.stringify(rec.tags),
    storage_tier: rec.storageTier,
    image_generation_config: jsonOrNull(rec.imageGenerationConfig),
    notification_config: jsonOrNull(rec.notificationConfig),
  };
}

function fromRow(row: StreamRow | undefined): StreamRecord | undefined {
  if (!row) return undefined;
  return {
    id: row.id,
    revision: row.revision,
    name: row.name,
    arn: row.arn,
    version: row.version,
    status: row.status as StreamStatus,
    creationTimeMs: row.creation_time_ms,
    dataRetentionInHours: row.data_retention_hours,
    mediaType: row.media_type,
    deviceName: row.device_name,
    kmsKeyId: row.kms_key_id,
    tags: JSON.parse(row.tags) as Record<string, string>,
    storageTier: row.storage_tier === 'WARM' ? 'WARM' : 'HOT',
    imageGenerationConfig: row.image_generation_config === null ? null : JSON.parse(row.image_generation_config),
    notificationConfig: row.notification_config === null ? null : JSON.parse(row.notification_config),
  };
}

const jsonOrNull = (value: unknown): string | null =>
  value === null || value === undefined ? null : JSON.stringify(value);
