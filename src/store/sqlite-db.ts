import Database from 'better-sqlite3';

export type SqliteDb = Database.Database;

/**
 * Opens the embedded index database. WAL lets readers run while ingest commits;
 * synchronous=FULL makes a committed row survive power loss, which PERSISTED promises.
 */
export function openSqlite(file: string): SqliteDb {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}
