import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryCheckpointStore, SqliteCheckpointStore } from '../../../src/detect/checkpoints.ts';
import { checkpointStoreContract } from '../../support/checkpoint-store-contract.ts';

checkpointStoreContract('sqlite', async () => {
  const db = new Database(':memory:');
  return { store: new SqliteCheckpointStore(db), close: () => void db.close() };
});

checkpointStoreContract('memory', async () => ({ store: new MemoryCheckpointStore(), close: () => {} }));

describe('SqliteCheckpointStore', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-cp-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('imports the JSON file of older versions once, without overwriting newer rows', async () => {
    const dir = tmp();
    const file = path.join(dir, 'detect-checkpoints.json');
    fs.writeFileSync(file, JSON.stringify({ cam: { token: 'old-cam', open: [] }, yard: { token: 'old-yard', open: [] }, junk: 42 }));
    const db = new Database(path.join(dir, 'index.sqlite'));
    db.exec("CREATE TABLE kestrel_detect_checkpoints (stream TEXT PRIMARY KEY, doc TEXT NOT NULL, updated_at INTEGER NOT NULL); INSERT INTO kestrel_detect_checkpoints VALUES ('yard', '{\"token\":\"new-yard\",\"open\":[]}', 1)");
    const lines: string[] = [];
    const store = new SqliteCheckpointStore(db, { legacyFile: file, onLog: (l) => lines.push(l) });
    expect(await store.load('cam')).toEqual({ token: 'old-cam', open: [] });
    expect((await store.load('yard'))?.token).toBe('new-yard');
    expect(await store.load('junk')).toBeUndefined();
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.existsSync(`${file}.imported`)).toBe(true);
    expect(lines.join('\n')).toMatch(/imported 1 detection checkpoint/);
    // A second start finds nothing to import and keeps what it has.
    await store.save('cam', { token: 'newer', open: [] });
    expect((await new SqliteCheckpointStore(db, { legacyFile: file }).load('cam'))?.token).toBe('newer');
    db.close();
  });

  it('sets a corrupt JSON file aside instead of failing every stream', async () => {
    const dir = tmp();
    const file = path.join(dir, 'detect-checkpoints.json');
    fs.writeFileSync(file, '{"cam": {"token": "x", "op');
    const db = new Database(':memory:');
    const lines: string[] = [];
    const store = new SqliteCheckpointStore(db, { legacyFile: file, onLog: (l) => lines.push(l) });
    expect(await store.load('cam')).toBeUndefined();
    expect(fs.readFileSync(`${file}.corrupt`, 'utf8')).toContain('"cam"');
    expect(lines.join('\n')).toMatch(/corrupt/);
    await store.save('cam', { token: 'fresh', open: [] });
    expect((await store.load('cam'))?.token).toBe('fresh');
  });

  it('an unreadable row affects its own stream only, and the next save repairs it', async () => {
    const db = new Database(':memory:');
    const lines: string[] = [];
    const store = new SqliteCheckpointStore(db, { onLog: (l) => lines.push(l) });
    await store.save('good', { token: 'g', open: [] });
    db.prepare("INSERT INTO kestrel_detect_checkpoints VALUES ('bad', 'not json', 1)").run();
    expect(await store.load('bad')).toBeUndefined();
    expect(lines.join('\n')).toMatch(/bad: stored checkpoint unreadable/);
    expect((await store.load('good'))?.token).toBe('g');
    await store.save('bad', { token: 'b', open: [] });
    expect((await store.load('bad'))?.token).toBe('b');
  });

  it('a failed save fails that save only; later saves land', async () => {
    const db = new Database(':memory:');
    const store = new SqliteCheckpointStore(db);
    db.exec("CREATE TRIGGER refuse BEFORE INSERT ON kestrel_detect_checkpoints WHEN NEW.stream = 'cam' BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    await expect(store.save('cam', { token: 'a', open: [] })).rejects.toThrow(/disk full/);
    db.exec('DROP TRIGGER refuse');
    await store.save('cam', { token: 'b', open: [] });
    expect((await store.load('cam'))?.token).toBe('b');
  });
});
