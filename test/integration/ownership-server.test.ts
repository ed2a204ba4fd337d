/**
 * Stream ownership end to end on one real server with the embedded lease store: a second "node"
 * (a lease store on the server's own index file, with a stub HTTP endpoint as its public URL) owns
 * a stream. PutMedia on the server is refused with InvalidEndpointException, GetDataEndpoint points
 * at the owner, and `kestrel push` re-resolves after the owner refuses and lets go, landing on the
 * server with fragment numbers of a higher epoch.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { KinesisVideoArchivedMediaClient, ListFragmentsCommand } from '@aws-sdk/client-kinesis-video-archived-media';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { epochOf } from '../../src/shared/fragment-number.ts';
import { openSqlite, type SqliteDb } from '../../src/store/sqlite-db.ts';
import { SqliteStreamLeaseStore } from '../../src/store/sqlite-leases.ts';
import { signedFetch, testAuthEnv } from '../support/auth.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';
import { mkvCluster, mkvHeader } from '../support/synthetic-mkv.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/kestrel.js');
const FIXTURE = path.resolve(import.meta.dirname, '../../fixtures/people_vtest_3s.mkv');

let srv: TestServer;
let db: SqliteDb;
let nodeB: SqliteStreamLeaseStore;
let stub: http.Server;
let stubUrl: string;
/** What node B's stub does when a PutMedia reaches it. */
let onStubPutMedia: () => Promise<void> = async () => {};
let stubHits = 0;

beforeAll(async () => {
  srv = await startTestServer({ cluster: { nodeId: 'node-a' } });
  db = openSqlite(path.join(srv.dataDir, 'index.sqlite'));
  nodeB = new SqliteStreamLeaseStore(db);
  stub = http.createServer((req, res) => {
    req.resume();
    stubHits++;
    void onStubPutMedia().then(() => {
      res.writeHead(400, { 'content-type': 'application/json', 'x-amzn-ErrorType': 'InvalidEndpointException:' });
      res.end(JSON.stringify({ Message: 'not the owner any more' }));
    });
  });
  await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
  stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
});
afterAll(async () => {
  stub.close();
  db.close();
  await srv.close();
});

async function createStream(name: string): Promise<number> {
  const r = await signedFetch(`${srv.url}/createStream`, { method: 'POST', body: JSON.stringify({ StreamName: name, DataRetentionInHours: 1 }) });
  expect(r.status).toBe(200);
  return (db.prepare('SELECT id FROM streams WHERE name = ?').get(name) as { id: number }).id;
}

async function dataEndpoint(name: string, apiName: string): Promise<string> {
  const r = await signedFetch(`${srv.url}/getDataEndpoint`, { method: 'POST', body: JSON.stringify({ StreamName: name, APIName: apiName }) });
  return ((await r.json()) as { DataEndpoint: string }).DataEndpoint;
}

describe('stream ownership on a real server', () => {
  it('refuses PutMedia for a stream another node owns with InvalidEndpointException and routes GetDataEndpoint to the owner', async () => {
    const id = await createStream('owned-by-b');
    await nodeB.heartbeat({ nodeId: 'node-b', publicUrl: stubUrl, ingestBytesPerSec: 0 });
    expect(await nodeB.acquire(id, 'node-b')).toMatchObject({ nodeId: 'node-b' });

    const refused = await rawPutMedia(srv.url, 'owned-by-b', [Buffer.concat([mkvHeader(), mkvCluster({ timecode: 0 })])]);
    expect(refused.status).toBe(400);
    expect(String(refused.headers['x-amzn-errortype'])).toMatch(/^InvalidEndpointException/);
    expect(refused.acks).toEqual([]);
    expect(await dataEndpoint('owned-by-b', 'PUT_MEDIA')).toBe(stubUrl);
    expect(await dataEndpoint('owned-by-b', 'GET_MEDIA')).toBe(stubUrl);

    await nodeB.leave('node-b');
    expect(await dataEndpoint('owned-by-b', 'PUT_MEDIA')).toBe(srv.url);
    const accepted = await rawPutMedia(srv.url, 'owned-by-b', [Buffer.concat([mkvHeader(), mkvCluster({ timecode: 0 })])]);
    expect(accepted.status).toBe(200);
    expect(accepted.acks.map((a) => a.EventType)).toContain('PERSISTED');
  });

  it('kestrel push asks GetDataEndpoint again after InvalidEndpointException and lands on the new owner at a higher epoch', async () => {
    const id = await createStream('moving');
    await nodeB.heartbeat({ nodeId: 'node-b', publicUrl: stubUrl, ingestBytesPerSec: 0 });
    const lease = (await nodeB.acquire(id, 'node-b'))!;
    stubHits = 0;
    // Node B refuses (it is going away) and lets go of the stream before answering.
    onStubPutMedia = async () => {
      await nodeB.release(id, 'node-b', lease.epoch);
      await nodeB.leave('node-b');
    };
    const env = { ...process.env, ...testAuthEnv };
    delete env.KESTREL_ENDPOINT;
    const child = spawn(process.execPath, [BIN, 'push', FIXTURE, '--stream', 'moving', '--endpoint', srv.url, '--quiet'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code, stderr).toBe(0);
    expect(stubHits).toBe(1);
    expect(stderr).toMatch(/served by another node/);

    const kvam = new KinesisVideoArchivedMediaClient(sdkConfig(srv.url));
    const out = await kvam.send(new ListFragmentsCommand({
      StreamName: 'moving', MaxResults: 1000,
      FragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: new Date(0), EndTimestamp: new Date(Date.now() + 3_600_000) } },
    }));
    kvam.destroy();
    const numbers = (out.Fragments ?? []).map((f) => f.FragmentNumber!).sort();
    expect(numbers.length).toBeGreaterThan(0);
    for (const n of numbers) expect(epochOf(n)).toBe(lease.epoch + 1);
  });
});
