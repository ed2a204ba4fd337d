/**
 * GET /api/v1/nodes and the viewer's owner label with two `kestrel serve` processes on one fresh
 * PostgreSQL index: both nodes list the same live nodes and which streams each owns; a node that
 * stops (SIGTERM) gives its leases up and leaves the list, so the other answers GetDataEndpoint for
 * the stream at once instead of after the lease time.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedFetch } from '../support/auth.ts';
import { createStream } from '../support/live-push.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';
import { rawPutMedia, type Ack } from '../support/raw-put-media.ts';
import { spawnServer, type ServerProcess } from '../support/server-process.ts';
import { mkvCluster, mkvHeader } from '../support/synthetic-mkv.ts';
import { until } from '../support/wait.ts';

let db: TestDatabase;
const dirs: string[] = [];
const servers: ServerProcess[] = [];

async function startNode(nodeId: string, serverKey: string): Promise<ServerProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `kestrel-nodes-${nodeId}-`));
  dirs.push(dataDir);
  const server = await spawnServer(['--port', '0', '--host', '127.0.0.1', '--data', dataDir, '--index', db.url, '--node-id', nodeId], { KESTREL_SERVER_KEY: serverKey });
  servers.push(server);
  return server;
}

interface NodeView {
  nodeId: string;
  publicUrl: string;
  self: boolean;
  streams: string[];
}

async function nodes(url: string): Promise<NodeView[]> {
  const res = await signedFetch(`${url}/api/v1/nodes`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { nodes: NodeView[] }).nodes;
}

async function dataEndpoint(url: string, stream: string): Promise<string> {
  const res = await signedFetch(`${url}/getDataEndpoint`, { method: 'POST', body: JSON.stringify({ StreamName: stream, APIName: 'PUT_MEDIA' }) });
  return ((await res.json()) as { DataEndpoint: string }).DataEndpoint;
}

beforeAll(async () => {
  db = await createTestDatabase({ migrated: false });
});
afterAll(async () => {
  for (const s of servers) {
    if (s.child.exitCode === null && s.child.signalCode === null) {
      s.child.kill('SIGTERM');
      await s.exited;
    }
  }
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  await db.drop();
});

describe('the nodes of a cluster', () => {
  it('every node lists the live nodes and the streams they own; a stopping node hands its streams over at once', async () => {
    const serverKey = randomBytes(32).toString('hex');
    const a = await startNode('node-a', serverKey);
    const b = await startNode('node-b', serverKey);
    const stream = `nodes-${randomUUID().slice(0, 8)}`;
    await createStream(a.url, stream);

    let persisted = 0;
    let finish: (() => void) | undefined;
    const finished = new Promise<void>((r) => (finish = r));
    async function* producer(): AsyncGenerator<Buffer> {
      yield mkvHeader();
      yield mkvCluster({ timecode: Date.now() - 10_000 });
      await finished;
    }
    const putting = rawPutMedia(a.url, stream, producer(), {}, (ack: Ack) => {
      if (ack.EventType === 'PERSISTED') persisted++;
    }).catch(() => undefined);
    await until(() => persisted === 1, 'a fragment persisted on node A', 20_000);

    for (const url of [a.url, b.url]) {
      const listed = await nodes(url);
      expect(listed.map((n) => n.nodeId).sort()).toEqual(['node-a', 'node-b']);
      expect(listed.find((n) => n.nodeId === 'node-a')).toMatchObject({ publicUrl: a.url, streams: [stream], self: url === a.url });
      expect(listed.find((n) => n.nodeId === 'node-b')).toMatchObject({ publicUrl: b.url, streams: [], self: url === b.url });
    }
    // The viewer's grid shows the owner.
    const grid = (await (await signedFetch(`${b.url}/api/v1/streams`)).json()) as { streams: Array<{ name: string; ownerNode: string | null }> };
    expect(grid.streams.find((s) => s.name === stream)?.ownerNode).toBe('node-a');
    expect(await dataEndpoint(b.url, stream)).toBe(a.url);

    // A stops: it ends its producer, gives the lease up and leaves the list; B takes new producers now.
    finish?.();
    await putting;
    a.child.kill('SIGTERM');
    await a.exited;
    expect((await nodes(b.url)).map((n) => n.nodeId)).toEqual(['node-b']);
    expect(await dataEndpoint(b.url, stream)).toBe(b.url);
  });
});
