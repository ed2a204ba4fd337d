// Index writer thread. Plain JavaScript on purpose: worker entry points are loaded by Node
// itself, outside the TypeScript loader. It owns every write to the fragment tables so that
// the fsync of each commit (synchronous=FULL) never blocks the main event loop.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const db = new Database(workerData.file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('busy_timeout = 5000');

const insert = db.prepare(`INSERT INTO fragments (stream_id, fragment_number, producer_ts, server_ts, duration_ms,
  size_bytes, header_id, segment, byte_offset, byte_length, tags, flags)
  VALUES (@stream_id, @fragment_number, @producer_ts, @server_ts, @duration_ms, @size_bytes, @header_id,
  @segment, @byte_offset, @byte_length, @tags, @flags)`);
const insertAll = db.transaction((rows) => {
  for (const r of rows) insert.run(r);
});
const findHeader = db.prepare('SELECT id FROM mkv_headers WHERE stream_id = ? AND sha256 = ?');
const insertHeader = db.prepare('INSERT INTO mkv_headers (stream_id, sha256, bytes) VALUES (?, ?, ?)');
const statements = new Map();

function putHeader(h) {
  const found = findHeader.get(h.streamId, h.sha);
  if (found) return found.id;
  return Number(insertHeader.run(h.streamId, h.sha, Buffer.from(h.bytes)).lastInsertRowid);
}

// Header rows first: a fragment row only ever refers to a header committed in an earlier batch.
const commitAll = db.transaction((headers, rows) => {
  const ids = headers.map(putHeader);
  for (const r of rows) insert.run(r);
  return ids;
});

function run(m) {
  switch (m.op) {
    case 'insert':
      insertAll(m.rows);
      return m.rows.length;
    case 'commit':
      return commitAll(m.headers, m.rows);
    case 'putHeader':
      return putHeader(m);
    case 'run': {
      let stmt = statements.get(m.sql);
      if (!stmt) statements.set(m.sql, (stmt = db.prepare(m.sql)));
      return stmt.run(...m.params).changes;
    }
    case 'close':
      db.close();
      return 0;
    default:
      throw new Error(`unknown op ${m.op}`);
  }
}

parentPort.on('message', (m) => {
  try {
    parentPort.postMessage({ id: m.id, result: run(m) });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
  if (m.op === 'close') parentPort.close();
});
