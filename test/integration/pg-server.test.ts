/**
 * A real `kestrel serve --index postgres://…` process (media on local disk) driven through the AWS SDK:
 * CreateStream, PutMedia with ACKs, ListFragments, GetMedia and GetMediaForFragmentList; then a restart
 * on the same index and data folder, with every fragment and the stream still there.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetMediaCommand, KinesisVideoMediaClient } from '@aws-sdk/client-kinesis-video-media';
import { GetMediaForFragmentListCommand, KinesisVideoArchivedMediaClient, ListFragmentsCommand } from '@aws-sdk/client-kinesis-video-archived-media';
import { CreateStreamCommand, DescribeStreamCommand, GetDataEndpointCommand, KinesisVideoClient, UpdateStreamCommand } from '@aws-sdk/client-kinesis-video';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';
import { spawnServer, type ServerProcess } from '../support/server-process.ts';
import { sdkConfig } from '../support/server.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { mkvClusters, mkvHeader } from '../support/synthetic-mkv.ts';
import { collect } from '../support/get-media-reader.ts';
import { eventually } from '../support/wait.ts';
import pg from 'pg';

const T0 = 1_765_000_000_000;
let db: TestDatabase;
let dataDir: string;
let server: ServerProcess | undefined;

async function start(): Promise<ServerProcess> {
  server = await spawnServer(['--port', '0', '--data', dataDir, '--index', db.url]);
  return server;
}

async function stop(): Promise<void> {
  if (server && server.child.exitCode === null) {
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }
  server = undefined;
}

/** Every fragment of the stream, via GetDataEndpoint + ListFragments, in number order. */
async function listed(url: string): Promise<string[]> {
  const kv = new KinesisVideoClient(sdkConfig(url));
  const endpoint = (await kv.send(new GetDataEndpointCommand({ StreamName: 'cam', APIName: 'LIST_FRAGMENTS' }))).DataEndpoint!;
  const archive = new KinesisVideoArchivedMediaClient(sdkConfig(endpoint));
  const out = await archive.send(new ListFragmentsCommand({
    StreamName: 'cam',
    FragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: new Date(T0 - 1000), EndTimestamp: new Date(T0 + 60_000) } },
  }));
  return out.Fragments!.map((f) => f.FragmentNumber!).sort();
}

async function getMediaEarliest(url: string, n: number): Promise<string[]> {
  const media = new KinesisVideoMediaClient(sdkConfig(url));
  const out = await media.send(new GetMediaCommand({ StreamName: 'cam', StartSelector: { StartSelectorType: 'EARLIEST' } }));
  const c = await collect(out.Payload as never, (got) => got.complete.length >= n, 15_000);
  (out.Payload as unknown as { destroy(): void }).destroy();
  return c.numbers.slice(0, n);
}

async function fragmentBytes(url: string, numbers: string[]): Promise<Buffer> {
  const archive = new KinesisVideoArchivedMediaClient(sdkConfig(url));
  const out = await archive.send(new GetMediaForFragmentListCommand({ StreamName: 'cam', Fragments: numbers }));
  return Buffer.from(await out.Payload!.transformToByteArray());
}

beforeAll(async () => {
  db = await createTestDatabase({ migrated: false });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-pg-server-'));
});
afterAll(async () => {
  await stop();
  await db.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('kestrel serve --index postgres://…', () => {
  it('refuses to start, naming the index without its password, when PostgreSQL cannot be reached', async () => {
    const failed = await spawnServer(['--port', '0', '--data', dataDir, '--index', 'postgres://kestrel:s3cret@127.0.0.1:1/nowhere']).catch((e: Error) => e);
    expect(failed).toBeInstanceOf(Error);
    expect((failed as Error).message).toMatch(/server exited with 1[\s\S]*PostgreSQL index postgres:\/\/kestrel:\*\*\*@127\.0\.0\.1:1\/nowhere/);
    expect((failed as Error).message).not.toContain('s3cret');
  });

  let numbers: string[] = [];
  let bytes: Buffer;

  it('migrates the empty database at start, reports the index ready, and serves the control and data planes', async () => {
    const { url, logs } = await start();
    expect(logs.join('\n')).toContain('PostgreSQL index ready');
    const versions = await db.pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(versions.rows.map((r) => r.version)).toEqual(expect.arrayContaining([1, 2, 3]));
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);

    const kv = new KinesisVideoClient(sdkConfig(url));
    await kv.send(new CreateStreamCommand({ StreamName: 'cam', DataRetentionInHours: 24 }));
    const put = await rawPutMedia(url, 'cam', [Buffer.concat([mkvHeader(), ...mkvClusters(6, T0)])]);
    expect(put.status).toBe(200);
    numbers = put.acks.filter((a) => a.EventType === 'PERSISTED').map((a) => a.FragmentNumber!);
    expect(numbers).toHaveLength(6);
    expect(put.acks.filter((a) => a.EventType === 'ERROR')).toEqual([]);

    // The rows are in PostgreSQL (and not in the embedded index).
    const rows = await db.pool.query<{ fragment_number: string }>(
      'SELECT f.fragment_number FROM fragments f JOIN streams s ON s.id = f.stream_id WHERE s.name = $1 ORDER BY f.fragment_number',
      ['cam'],
    );
    expect(rows.rows.map((r) => r.fragment_number)).toEqual(numbers);

    expect(await listed(url)).toEqual(numbers);
    expect(await getMediaEarliest(url, 6)).toEqual(numbers);
    bytes = await fragmentBytes(url, numbers);
    expect(bytes.length).toBeGreaterThan(6 * 1000);

    // A stale CurrentVersion is refused as KVS refuses it.
    const version = (await kv.send(new DescribeStreamCommand({ StreamName: 'cam' }))).StreamInfo!.Version!;
    await kv.send(new UpdateStreamCommand({ StreamName: 'cam', CurrentVersion: version, DeviceName: 'gate' }));
    await expect(kv.send(new UpdateStreamCommand({ StreamName: 'cam', CurrentVersion: version, DeviceName: 'door' }))).rejects.toMatchObject({
      name: 'VersionMismatchException',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('comes back after a restart with the stream, every fragment and the same bytes', async () => {
    await stop();
    const { url, logs } = await start();
    expect(logs.join('\n')).not.toContain('index rows');
    const kv = new KinesisVideoClient(sdkConfig(url));
    expect((await kv.send(new DescribeStreamCommand({ StreamName: 'cam' }))).StreamInfo).toMatchObject({ Status: 'ACTIVE', DeviceName: 'gate' });
    expect(await listed(url)).toEqual(numbers);
    expect(await getMediaEarliest(url, 6)).toEqual(numbers);
    expect((await fragmentBytes(url, numbers)).equals(bytes)).toBe(true);

    // Ingest continues after the restart, with fragment numbers still increasing.
    const more = await rawPutMedia(url, 'cam', [Buffer.concat([mkvHeader(), ...mkvClusters(2, T0 + 6000)])]);
    const added = more.acks.filter((a) => a.EventType === 'PERSISTED').map((a) => a.FragmentNumber!);
    expect(added).toHaveLength(2);
    expect(added[0]! > numbers.at(-1)!).toBe(true);
    expect(await listed(url)).toEqual([...numbers, ...added]);
  });

  it('/readyz names the index while PostgreSQL refuses connections, and recovers by itself', async () => {
    const url = server!.url;
    const name = new URL(db.url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: db.url.replace(`/${name}`, '/postgres') });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
      const down = await eventually(() => fetch(`${url}/readyz`), (r) => r.status === 503, 'readyz 503');
      expect(await down.json()).toEqual({ status: 'not ready', failing: [expect.stringMatching(/^index: not writable/)] });
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await eventually(() => fetch(`${url}/readyz`), (r) => r.status === 200, 'readyz 200 again');
      expect(await listed(url)).toHaveLength(8);
    } finally {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`).catch(() => undefined);
      await admin.end();
    }
  });
});
