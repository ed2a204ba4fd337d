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
// Fenced rows commit only while their epoch is the stream's current lease (sqlite-leases.ts);
// the check runs inside the commit's transaction. Returns the indexes of refused rows.
let fenceCheck;
function insertFenced(rows, fences) {
  const refused = [];
  rows.forEach((r, i) => {
    const fence = fences?.[i];
    if (fence) {
      fenceCheck ??= db.prepare('SELECT 1 FROM stream_leases WHERE stream_id = ? AND node_id = ? AND epoch = ?');
      if (!fenceCheck.get(r.stream_id, fence.nodeId, fence.epoch)) {
        refused.push(i);
        return;
      }
    }
    insert.run(r);
  });
  return refused;
}
const insertAll = db.transaction(insertFenced);
const findHeader = db.prepare('SELECT id FROM mkv_headers WHERE stream_id = ? AND sha256 = ?');
const insertHeader = db.prepare('INSERT INTO mkv_headers (stream_id, sha256, bytes) VALUES (?, ?, ?)');
const statements = new Map();

function putHeader(h) {
  const found = findHeader.get(h.streamId, h.sha);
  if (found) return found.id;
  return Number(insertHeader.run(h.streamId, h.sha, Buffer.from(h.bytes)).lastInsertRowid);
}

// Header rows first: a fragment row only ever refers to a header committed in an earlier batch.
// Returns the new header ids and the indexes of fragment rows refused by their fence.
const commitAll = db.transaction((headers, rows, fences) => {
  const ids = headers.map(putHeader);
  const refused = insertFenced(rows, fences);
  return { ids, refused };
});

function run(m) {
  switch (m.op) {
    case 'insert':
      return insertAll(m.rows, m.fences);
    case 'commit':
      return commitAll(m.headers, m.rows, m.fences);
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
