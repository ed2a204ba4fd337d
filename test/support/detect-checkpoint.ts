/** The detection checkpoint a server keeps for a stream (table kestrel_detect_checkpoints of its index.sqlite), read-only. */
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Checkpoint } from '../../src/detect/checkpoints.ts';

export function storedCheckpoint(dataDir: string, stream: string): Checkpoint | undefined {
  let db: Database.Database | undefined;
  try {
    db = new Database(path.join(dataDir, 'index.sqlite'), { readonly: true, fileMustExist: true });
    const row = db.prepare<[string], { doc: string }>('SELECT doc FROM kestrel_detect_checkpoints WHERE stream = ?').get(stream);
    return row ? (JSON.parse(row.doc) as Checkpoint) : undefined;
  } catch {
    return undefined; // no database or table yet
  } finally {
    db?.close();
  }
}
