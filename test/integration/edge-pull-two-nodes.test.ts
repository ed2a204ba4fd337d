/**
 * Edge-pull: two `kestrel serve` processes on one fresh PostgreSQL database and NATS, each with
 * its own data folder and no object store. A producer on node A; node B never has the bytes on
 * disk, so GetMedia NOW, GetMediaForFragmentList, ListFragments, GetClip and HLS segments on B can
 * only work by pulling the unsealed fragments from A over the internal endpoint. Then A dies (kill -9) while it still
 * holds the stream's lease: B answers a clear KVS error naming the unreachable node.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedFetch, signedHeaders } from '../support/auth.ts';
import { GetMediaCollector } from '../support/get-media-reader.ts';
import { createStream, hlsUrl, listAll } from '../support/live-push.ts';
import { mediaPlaylistUrl, text } from '../support/playlists.ts';
import { NATS_URL } from '../support/nats.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';
import { rawPutMedia, type Ack } from '../support/raw-put-media.ts';
import { spawnServer, type ServerProcess } from '../support/server-process.ts';
import { mkvCluster, mkvHeader } from '../support/synthetic-mkv.ts';
import { until } from '../support/wait.ts';

const METRICS_TOKEN = 'edge-pull-metrics';
let db: TestDatabase;
const dirs: string[] = [];
const servers: ServerProcess[] = [];

async function startNode(nodeId: string, serverKey: string): Promise<ServerProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `kestrel-edge-${nodeId}-`));
  dirs.push(dataDir);
  const server = await spawnServer(['--port', '0', '--host', '127.0.0.1', '--data', dataDir, '--index', db.url, '--bus', NATS_URL, '--node-id', nodeId], { KESTREL_SERVER_KEY: serverKey, KESTREL_METRICS_TOKEN: METRICS_TOKEN });
  servers.push(server);
  return server;
}

function getMediaNow(url: string, stream: string): Promise<http.IncomingMessage> {
  const target = `${url}/getMedia`;
  const body = Buffer.from(JSON.stringify({ StreamName: stream, StartSelector: { StartSelectorType: 'NOW' } }));
  const headers = signedHeaders('POST', target, { 'content-type': 'application/json' }, body);
  return new Promise((resolve, reject) => {
    const req = http.request(target, { method: 'POST', headers }, resolve);
    req.on('error', reject);
    req.end(body);
  });
}

async function fragmentList(url: string, stream: string, numbers: string[]): Promise<{ status: number; body: Buffer }> {
  const res = await signedFetch(`${url}/getMediaForFragmentList`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ StreamName: stream, Fragments: numbers }) });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
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

describe('edge-pull between two nodes without an object store', () => {
  it('B serves every fragment A stored, byte-identical; with A dead, B answers a clear error', async () => {
    const serverKey = randomBytes(32).toString('hex');
    const a = await startNode('node-a', serverKey);
    const b = await startNode('node-b', serverKey);
    const stream = `edge-${randomUUID().slice(0, 8)}`; // NATS subjects are shared with other suites
    await createStream(a.url, stream);

    const collector = new GetMediaCollector();
    const live = await getMediaNow(b.url, stream);
    expect(live.statusCode).toBe(200);
    live.on('data', (c: Buffer) => collector.push(c));

    // The producer stays connected after its fragments (A keeps the lease) until the test ends it.
    let persisted = 0;
    let finish: (() => void) | undefined;
    const finished = new Promise<void>((r) => (finish = r));
    const t0 = Date.now() - 60_000;
    async function* producer(): AsyncGenerator<Buffer> {
      yield mkvHeader();
      for (let i = 0; i < 6; i++) yield mkvCluster({ timecode: t0 + i * 1000 });
      await finished;
    }
    const putting = rawPutMedia(a.url, stream, producer(), {}, (ack: Ack) => {
      if (ack.EventType === 'PERSISTED') persisted++;
    }).catch(() => undefined);
    await until(() => persisted === 6, 'six fragments persisted on A', 20_000);

    // GetMedia NOW on B: every fragment, in order, complete.
    await until(() => collector.complete.length === 6, 'six fragments at the GetMedia NOW reader on B', 20_000);
    live.destroy();
    const listedOnA = (await listAll(a.url, stream)).map((f) => f.FragmentNumber).sort();
    const listedOnB = (await listAll(b.url, stream)).map((f) => f.FragmentNumber).sort();
    expect(listedOnB).toEqual(listedOnA);
    expect(listedOnA).toHaveLength(6);
    expect(collector.numbers).toEqual(listedOnA);
    expect(collector.fragments.every((f) => f.blocks === 25)).toBe(true);

    // GetMediaForFragmentList: B's answer is A's, byte for byte.
    const fromA = await fragmentList(a.url, stream, listedOnA);
    const fromB = await fragmentList(b.url, stream, listedOnA);
    expect(fromA.status).toBe(200);
    expect(fromB.status).toBe(200);
    expect(fromB.body.length).toBeGreaterThan(6 * 1000);
    expect(fromB.body.equals(fromA.body)).toBe(true);

    // GetClip (MP4 packaged from the fragments): B's is A's, byte for byte.
    const clip = async (url: string) => {
      const res = await signedFetch(`${url}/getClip`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ StreamName: stream, ClipFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: Date.now() / 1000 - 3600, EndTimestamp: Date.now() / 1000 + 60 } } }) });
      return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
    };
    const clipA = await clip(a.url);
    const clipB = await clip(b.url);
    expect(clipA.status, clipA.body.toString().slice(0, 200)).toBe(200);
    expect(clipB.status).toBe(200);
    expect(clipA.body.length).toBeGreaterThan(1000);
    expect(clipB.body.equals(clipA.body)).toBe(true);

    // HLS ON_DEMAND: every segment B packages is the one A packages.
    const segments = async (url: string) => {
      const session = await hlsUrl(url, { StreamName: stream, PlaybackMode: 'ON_DEMAND', HLSFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: Date.now() / 1000 - 3600, EndTimestamp: Date.now() / 1000 - 0.001 } } });
      const mediaUrl = mediaPlaylistUrl(await text(session), session);
      const lines = (await text(mediaUrl)).split('\n').filter((l) => l.startsWith('get'));
      return Promise.all(
        lines.map(async (l) => {
          const res = await fetch(new URL(l, mediaUrl));
          expect(res.status).toBe(200);
          return Buffer.from(await res.arrayBuffer());
        }),
      );
    };
    const [segA, segB] = [await segments(a.url), await segments(b.url)];
    expect(segA.length).toBeGreaterThanOrEqual(6);
    expect(segB.map((x) => x.toString('base64'))).toEqual(segA.map((x) => x.toString('base64')));

    // B's metrics count the pulls (one per fragment at most: the list was served from B's cache).
    const metrics = await (await fetch(`${b.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    const pulls = Number(/kestrel_media_tier\{stat="edge_pulls"\} (\d+)/.exec(metrics)?.[1]);
    expect(pulls).toBeGreaterThanOrEqual(1);
    expect(pulls).toBeLessThanOrEqual(6);

    // The internal endpoint is not open: without a node token it refuses.
    const open = await fetch(`${a.url}/internal/v1/streams/1/fragments/${listedOnA[0]}`);
    expect(open.status).toBe(403);

    // A dies while it still holds the lease: B cannot have the bytes and says why.
    a.child.kill('SIGKILL');
    await a.exited;
    finish?.();
    await putting;
    const restarted = await startNode('node-c', serverKey); // a fresh node: nothing cached
    const afterDeath = await fragmentList(restarted.url, stream, listedOnA.slice(0, 1));
    expect(afterDeath.status).toBe(500);
    const err = JSON.parse(afterDeath.body.toString()) as { message?: string; Message?: string };
    expect(err.message ?? err.Message).toMatch(/node-a/);
  });
});
