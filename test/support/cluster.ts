/**
 * A cluster of real `kestrel serve` processes on one machine: one fresh PostgreSQL database, the
 * shared NATS, optionally one fresh Ceph RGW bucket (`--media s3://…`); each node has its own data
 * folder, and all share the server key, the test credentials and the metrics token. A node can be
 * killed (-9) and restarted with the same node id and data folder.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { GET_MEDIA_END_WAIT_HEADER } from '../../src/api/data-routes.ts';
import { signedFetch, signedHeaders } from './auth.ts';
import { hlsUrl } from './live-push.ts';
import { NATS_URL } from './nats.ts';
import { mediaPlaylistUrl, text } from './playlists.ts';
import { createTestDatabase, type TestDatabase } from './pg.ts';
import { createTestBucket, rgwChildEnv, type TestBucket } from './s3.ts';
import { spawnServer, type ServerProcess } from './server-process.ts';

export const CLUSTER_METRICS_TOKEN = 'cluster-metrics';

export interface ClusterOptions {
  /** Data folder prefix and bucket label. */
  label: string;
  /** Media in a fresh RGW bucket (`--media s3://bucket/cluster`). */
  s3?: boolean;
  /** Extra `kestrel serve` arguments for every node (e.g. `--durability replicated`). */
  args?: string[];
}

export interface ClusterNode extends ServerProcess {
  nodeId: string;
  dataDir: string;
  alive(): boolean;
}

export interface TestCluster {
  db: TestDatabase;
  bucket: TestBucket | undefined;
  nodes: Map<string, ClusterNode>;
  /** Starts (or restarts, same data folder) the node `nodeId`. */
  start(nodeId: string): Promise<ClusterNode>;
  /** kill -9, waiting for the process to be gone. */
  kill(nodeId: string): Promise<void>;
  /** Stops every node, removes the data folders, the bucket and the database. */
  close(): Promise<void>;
}

const alive = (s: ServerProcess) => s.child.exitCode === null && s.child.signalCode === null;

export async function startCluster(options: ClusterOptions): Promise<TestCluster> {
  const db = await createTestDatabase({ migrated: false });
  const bucket = options.s3 ? await createTestBucket(options.label) : undefined;
  const serverKey = randomBytes(32).toString('hex');
  const nodes = new Map<string, ClusterNode>();
  const dirs = new Map<string, string>();

  async function start(nodeId: string): Promise<ClusterNode> {
    const running = nodes.get(nodeId);
    if (running?.alive()) throw new Error(`${nodeId} is already running`);
    let dataDir = dirs.get(nodeId);
    if (!dataDir) {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `kestrel-${options.label}-${nodeId}-`));
      dirs.set(nodeId, dataDir);
    }
    const media = bucket ? ['--media', `s3://${bucket.name}/cluster`, '--s3-endpoint', bucket.settings.endpoint] : [];
    const args = ['--port', '0', '--host', '127.0.0.1', '--data', dataDir, '--index', db.url, '--bus', NATS_URL, '--node-id', nodeId, ...media, ...(options.args ?? [])];
    const env = { ...(bucket ? rgwChildEnv(bucket.settings) : {}), KESTREL_SERVER_KEY: serverKey, KESTREL_METRICS_TOKEN: CLUSTER_METRICS_TOKEN };
    const server = await spawnServer(args, env);
    const node: ClusterNode = { ...server, nodeId, dataDir, alive: () => alive(server) };
    nodes.set(nodeId, node);
    return node;
  }

  async function kill(nodeId: string): Promise<void> {
    const node = nodes.get(nodeId);
    if (!node?.alive()) return;
    node.child.kill('SIGKILL');
    await node.exited;
  }

  async function close(): Promise<void> {
    for (const node of nodes.values()) {
      if (!node.alive()) continue;
      node.child.kill('SIGTERM');
      const timer = setTimeout(() => node.child.kill('SIGKILL'), 10_000);
      await node.exited;
      clearTimeout(timer);
    }
    for (const d of dirs.values()) fs.rmSync(d, { recursive: true, force: true });
    await bucket?.remove();
    await db.drop();
  }

  return { db, bucket, nodes, start, kill, close };
}

/** One counter of GET /metrics (`kestrel_media_tier{stat="…"}` and the like), NaN when absent. */
export async function metricValue(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${CLUSTER_METRICS_TOKEN}` } })).text();
  const escaped = series.replace(/[{}"\\]/g, (c) => `\\${c}`);
  return Number(new RegExp(`^${escaped} (\\d+(?:\\.\\d+)?)`, 'm').exec(text)?.[1] ?? NaN);
}

/**
 * GetMedia from NOW as a raw signed request (the response streams until destroyed). It may be
 * opened before the producer connects: a node that has not yet heard of a producer would end the
 * response after the end-of-data wait (3 s), too short on a loaded machine, so it asks for 60 s.
 */
export function getMediaNow(url: string, stream: string): Promise<http.IncomingMessage> {
  const target = `${url}/getMedia`;
  const body = Buffer.from(JSON.stringify({ StreamName: stream, StartSelector: { StartSelectorType: 'NOW' } }));
  const headers = signedHeaders('POST', target, { 'content-type': 'application/json', [GET_MEDIA_END_WAIT_HEADER]: '60000' }, body);
  return new Promise((resolve, reject) => {
    const req = http.request(target, { method: 'POST', headers }, resolve);
    req.setTimeout(60_000, () => req.destroy(new Error('GetMedia NOW: no traffic for 60 s')));
    req.on('error', reject);
    req.end(body);
  });
}

export interface Payload {
  status: number;
  body: Buffer;
}

async function post(url: string, op: string, request: unknown): Promise<Payload> {
  const res = await signedFetch(`${url}/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

export const fragmentList = (url: string, stream: string, numbers: string[]): Promise<Payload> =>
  post(url, 'getMediaForFragmentList', { StreamName: stream, Fragments: numbers });

/** GetClip over the last hour (MP4 packaged from the fragments). */
export const clipOfLastHour = (url: string, stream: string): Promise<Payload> =>
  post(url, 'getClip', { StreamName: stream, ClipFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: Date.now() / 1000 - 3600, EndTimestamp: Date.now() / 1000 + 60 } } });

/** Every segment of an HLS ON_DEMAND session over the last hour, in playlist order. */
export async function onDemandSegments(url: string, stream: string): Promise<Buffer[]> {
  const session = await hlsUrl(url, { StreamName: stream, PlaybackMode: 'ON_DEMAND', HLSFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: Date.now() / 1000 - 3600, EndTimestamp: Date.now() / 1000 - 0.001 } } });
  const mediaUrl = mediaPlaylistUrl(await text(session), session);
  const lines = (await text(mediaUrl)).split('\n').filter((l) => l.startsWith('get'));
  const out: Buffer[] = [];
  for (const l of lines) {
    const res = await fetch(new URL(l, mediaUrl));
    if (res.status !== 200) throw new Error(`HLS segment ${l} on ${url}: ${res.status} ${await res.text()}`);
    out.push(Buffer.from(await res.arrayBuffer()));
  }
  return out;
}
