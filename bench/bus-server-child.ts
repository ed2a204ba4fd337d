/**
 * Benchmark child: one Kestrel node with a live bus (env BENCH_BUS_URL, BENCH_BUS_PREFIX) on an
 * ephemeral loopback port. Two of them on one data folder stand for two nodes sharing their index
 * and media. Prints {"url","pid"} when listening.
 */
import { KestrelServer } from '../src/app.ts';
import { defaultConfig } from '../src/config.ts';
import { silentLogger } from '../src/shared/logger.ts';
import { benchAuth } from './lib/auth.ts';
import { serveUntilTerminated } from './lib/child-server.ts';

const dataDir = process.argv[2];
const url = process.env.BENCH_BUS_URL;
if (!dataDir || !url) throw new Error('usage: BENCH_BUS_URL=nats://… bus-server-child.ts <dataDir>');

const config = defaultConfig({ port: 0, host: '127.0.0.1', dataDir, auth: benchAuth() });
config.bus = { url, ...(process.env.BENCH_BUS_PREFIX ? { subjectPrefix: process.env.BENCH_BUS_PREFIX } : {}) };
// edge-tail: separate data folders on one PostgreSQL index (BENCH_INDEX_URL), so node B pulls the bytes from A.
if (process.env.BENCH_INDEX_URL) config.indexUrl = process.env.BENCH_INDEX_URL;
if (process.env.BENCH_NODE_ID) config.cluster = { ...config.cluster, nodeId: process.env.BENCH_NODE_ID };
if (process.env.BENCH_SERVER_KEY) config.auth = { ...config.auth, serverKey: process.env.BENCH_SERVER_KEY };
const server = await KestrelServer.start(config, silentLogger());
serveUntilTerminated(server);
