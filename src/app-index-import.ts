/**
 * Upgrade path for the index (`kestrel migrate --from-data ./data`): copies a single-node data
 * folder's SQLite index — streams (with their ids: the folder's media segments are filed by stream
 * id), MKV headers, fragments, users, access keys and viewer sessions — into the PostgreSQL index.
 * Idempotent: rows already there are kept (ON CONFLICT DO NOTHING), so a second run copies nothing.
 * A stream whose name the cluster already uses under another id is reported, never merged.
 */
import type Database from 'better-sqlite3';
import type pg from 'pg';

/** SQLite table → PostgreSQL table, with the columns whose names differ. */
const TABLES: ReadonlyArray<{ name: string; identity?: string; renamed?: Record<string, string> }> = [
  { name: 'streams', identity: 'id' },
  { name: 'mkv_headers', identity: 'id' },
  { name: 'fragments' },
  { name: 'kestrel_users' },
  { name: 'kestrel_access_keys' },
  { name: 'kestrel_sessions', renamed: { user: 'user_name' } },
];

const BATCH = 500;

export interface IndexImportResult {
  /** Rows inserted per table (rows already present are not counted). */
  rows: Record<string, number>;
  /** Streams the cluster already has under the same name with another id: not imported. */
  conflicts: string[];
}

function sqliteHas(db: Database.Database, table: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
}

export async function importIndex(o: { db: Database.Database; pool: pg.Pool; onProgress?: (line: string) => void }): Promise<IndexImportResult> {
  const rows: Record<string, number> = {};
  const conflicts = await nameConflicts(o.db, o.pool);
  const skipped = new Set(conflicts.map((c) => c.id));
  const client = await o.pool.connect();
  try {
    await client.query('BEGIN');
    for (const t of TABLES) {
      if (!sqliteHas(o.db, t.name)) continue;
      const pgCols = (await client.query<{ column_name: string }>(
        'SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1', [t.name],
      )).rows.map((r) => r.column_name);
      const liteCols = o.db.prepare<[], { name: string }>(`PRAGMA table_info(${t.name})`).all().map((r) => r.name);
      const pairs = liteCols.map((c) => [c, t.renamed?.[c] ?? c] as const).filter(([, to]) => pgCols.includes(to));
      const streamCol = t.name === 'streams' ? 'id' : pairs.some(([c]) => c === 'stream_id') ? 'stream_id' : undefined;
      const streamIndex = streamCol ? pairs.findIndex(([c]) => c === streamCol) : -1;
      const all = o.db.prepare(`SELECT ${pairs.map(([c]) => c).join(', ')} FROM ${t.name}`).raw().iterate() as IterableIterator<unknown[]>;
      const overriding = t.identity ? ' OVERRIDING SYSTEM VALUE' : '';
      let inserted = 0;
      let read = 0;
      const flush = async (batch: unknown[][]) => {
        const params: unknown[] = [];
        const values = batch.map((row) => `(${row.map((v) => `$${params.push(v)}`).join(', ')})`);
        const r = await client.query(`INSERT INTO ${t.name} (${pairs.map(([, to]) => to).join(', ')})${overriding} VALUES ${values.join(', ')} ON CONFLICT DO NOTHING`, params);
        inserted += r.rowCount ?? 0;
      };
      let batch: unknown[][] = [];
      for (const row of all) {
        read++;
        if (streamIndex >= 0 && skipped.has(Number(row[streamIndex]))) continue;
        batch.push(row);
        if (batch.length === BATCH) {
          await flush(batch);
          batch = [];
          if (read % (BATCH * 20) === 0) o.onProgress?.(`${t.name}: ${read} rows read`);
        }
      }
      if (batch.length) await flush(batch);
      // Rows came with their ids: new rows the cluster makes must get ids above them.
      if (t.identity) {
        await client.query(`SELECT setval(pg_get_serial_sequence('${t.name}', '${t.identity}'), GREATEST((SELECT COALESCE(MAX(${t.identity}), 0) FROM ${t.name}), 1))`);
      }
      rows[t.name] = inserted;
      o.onProgress?.(`${t.name}: ${inserted} of ${read} rows imported`);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
  return { rows, conflicts: conflicts.map((c) => c.name) };
}

/** Streams the index already holds under the same name but another id (another node's stream). */
async function nameConflicts(db: Database.Database, pool: pg.Pool): Promise<Array<{ id: number; name: string }>> {
  if (!sqliteHas(db, 'streams')) return [];
  const local = db.prepare<[], { id: number; name: string }>('SELECT id, name FROM streams').all();
  if (local.length === 0) return [];
  const { rows } = await pool.query<{ id: string; name: string }>('SELECT id, name FROM streams WHERE name = ANY($1::text[])', [local.map((s) => s.name)]);
  const remote = new Map(rows.map((r) => [r.name, Number(r.id)]));
  return local.filter((s) => remote.has(s.name) && remote.get(s.name) !== s.id);
}
