/**
 * Upgrade path: a single-node data folder (SQLite index, local media) moves into a PostgreSQL index
 * with `kestrel migrate --from-data`; a node started with `--index … --data <same folder>` then
 * lists the same fragments and serves them byte-identical. A second migrate copies nothing.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedFetch, testAuthEnv } from '../support/auth.ts';
import { createStream, listAll } from '../support/live-push.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';
import { rawPutMedia, type Ack } from '../support/raw-put-media.ts';
import { spawnServer, type ServerProcess } from '../support/server-process.ts';
import { mkvCluster, mkvHeader } from '../support/synthetic-mkv.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/kestrel.js');
let db: TestDatabase;
let dataDir: string;

beforeAll(async () => {
  db = await createTestDatabase({ migrated: false });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-upgrade-'));
});
afterAll(async () => {
  fs.rmSync(dataDir, { recursive: true, force: true });
  await db.drop();
});

async function stop(server: ServerProcess): Promise<void> {
  server.child.kill('SIGTERM');
  await server.exited;
}

async function fragmentList(url: string, stream: string, numbers: string[]): Promise<Buffer> {
  const res = await signedFetch(`${url}/getMediaForFragmentList`, { method: 'POST', body: JSON.stringify({ StreamName: stream, Fragments: numbers }) });
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

function migrate(): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [BIN, 'migrate', '--index', db.url, '--from-data', dataDir], { env: { ...process.env, ...testAuthEnv }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('kestrel migrate --from-data', () => {
  it('moves a single-node data folder into the PostgreSQL index; the node serves the same fragments from it', async () => {
    const single = await spawnServer(['--port', '0', '--host', '127.0.0.1', '--data', dataDir]);
    await createStream(single.url, 'lobby');
    const t0 = Date.now() - 60_000;
    async function* producer(): AsyncGenerator<Buffer> {
      yield mkvHeader();
      for (let i = 0; i < 4; i++) yield mkvCluster({ timecode: t0 + i * 1000 });
    }
    const acks: Ack[] = [];
    await rawPutMedia(single.url, 'lobby', producer(), {}, (ack) => void acks.push(ack));
    expect(acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(4);
    const before = (await listAll(single.url, 'lobby')).map((f) => f.FragmentNumber).sort();
    const bytesBefore = await fragmentList(single.url, 'lobby', before);
    await stop(single);

    const first = migrate();
    expect(first.status, first.out).toBe(0);
    expect(first.out).toMatch(/streams 1, mkv_headers 1, fragments 4, kestrel_users [1-9]/);
    const again = migrate();
    expect(again.status, again.out).toBe(0);
    expect(again.out).toMatch(/streams 0, mkv_headers 0, fragments 0, kestrel_users 0/);

    const node = await spawnServer(['--port', '0', '--host', '127.0.0.1', '--data', dataDir, '--index', db.url, '--node-id', 'node-a']);
    try {
      const after = (await listAll(node.url, 'lobby')).map((f) => f.FragmentNumber).sort();
      expect(after).toEqual(before);
      expect((await fragmentList(node.url, 'lobby', after)).equals(bytesBefore)).toBe(true);
      // New streams get ids above the imported ones (the identity sequence moved past them).
      await createStream(node.url, 'yard');
      const ids = await db.pool.query<{ name: string; id: string }>('SELECT name, id FROM streams ORDER BY id');
      expect(ids.rows.map((r) => r.name)).toEqual(['lobby', 'yard']);
    } finally {
      await stop(node);
    }
  });
});
