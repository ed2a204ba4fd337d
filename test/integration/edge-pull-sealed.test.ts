/**
 * The sealed path across nodes: two `kestrel serve` processes on one fresh PostgreSQL database,
 * NATS and a Ceph RGW bucket (`--media s3://…`). A producer on node A; once A has sealed every
 * fragment into the bucket, A dies (kill -9) and node B — which never held the bytes and cannot
 * pull them — still serves every fragment byte-identical from the object store, without a pull.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedFetch } from '../support/auth.ts';
import { createStream, listAll } from '../support/live-push.ts';
import { NATS_URL } from '../support/nats.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { createTestBucket, rgwChildEnv, type TestBucket } from '../support/s3.ts';
import { spawnServer, type ServerProcess } from '../support/server-process.ts';
import { mkvCluster, mkvHeader } from '../support/synthetic-mkv.ts';
import { eventually } from '../support/wait.ts';

const METRICS_TOKEN = 'edge-sealed-metrics';
let db: TestDatabase;
let bucket: TestBucket;
const dirs: string[] = [];
const servers: ServerProcess[] = [];

async function startNode(nodeId: string, serverKey: string): Promise<ServerProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `kestrel-edge-sealed-${nodeId}-`));
  dirs.push(dataDir);
  const args = ['--port', '0', '--host', '127.0.0.1', '--data', dataDir, '--index', db.url, '--bus', NATS_URL, '--node-id', nodeId,
    '--media', `s3://${bucket.name}/cluster`, '--s3-endpoint', bucket.settings.endpoint, '--seal-interval', '200ms'];
  const server = await spawnServer(args, { ...rgwChildEnv(bucket.settings), KESTREL_SERVER_KEY: serverKey, KESTREL_METRICS_TOKEN: METRICS_TOKEN });
  servers.push(server);
  return server;
}

async function mediaTierStat(url: string, stat: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  return Number(new RegExp(`kestrel_media_tier\\{stat="${stat}"\\} (\\d+)`).exec(text)?.[1] ?? NaN);
}

async function fragmentList(url: string, stream: string, numbers: string[]): Promise<{ status: number; body: Buffer }> {
  const res = await signedFetch(`${url}/getMediaForFragmentList`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ StreamName: stream, Fragments: numbers }) });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

beforeAll(async () => {
  db = await createTestDatabase({ migrated: false });
  bucket = await createTestBucket('edge-sealed');
});
afterAll(async () => {
  for (const s of servers) {
    if (s.child.exitCode === null && s.child.signalCode === null) {
      s.child.kill('SIGTERM');
      await s.exited;
    }
  }
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  await bucket?.remove();
  await db?.drop();
});

describe('edge-pull with media on S3 (Ceph RGW)', () => {
  it('B serves fragments A sealed, byte-identical, from the bucket after A is gone', async () => {
    const serverKey = randomBytes(32).toString('hex');
    const a = await startNode('node-a', serverKey);
    const b = await startNode('node-b', serverKey);
    const stream = `sealed-${randomUUID().slice(0, 8)}`;
    await createStream(a.url, stream);
    const t0 = Date.now() - 60_000;
    const put = await rawPutMedia(a.url, stream, [mkvHeader(), ...Array.from({ length: 5 }, (_, i) => mkvCluster({ timecode: t0 + i * 1000, frameBytes: 3000, seed: i + 1 }))]);
    expect(put.acks.filter((x) => x.EventType === 'PERSISTED')).toHaveLength(5);
    const numbers = (await listAll(a.url, stream)).map((f) => f.FragmentNumber).sort();
    expect(numbers).toHaveLength(5);
    const fromA = await fragmentList(a.url, stream, numbers);
    expect(fromA.status).toBe(200);

    await eventually(() => mediaTierStat(a.url, 'fragments_sealed'), (n) => n >= 5, 'all five fragments sealed on A', 20_000);
    a.child.kill('SIGKILL');
    await a.exited;

    const fromB = await fragmentList(b.url, stream, numbers);
    expect(fromB.status).toBe(200);
    expect(fromB.body.equals(fromA.body)).toBe(true);
    expect(await mediaTierStat(b.url, 'edge_pulls')).toBe(0);
    expect(await mediaTierStat(b.url, 'cache_misses')).toBeGreaterThanOrEqual(1);
  });
});
