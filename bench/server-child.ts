/**
 * Benchmark child: one Kestrel server on an ephemeral loopback port. Prints {"url","pid"} when listening.
 * `KESTREL_BENCH_NO_STREAM_QUOTA=1` turns off the per-stream PutMedia quota (KVS's 5 fragments/s,
 * 12.5 MB/s): the throughput bench measures the ingest path, not the quota (its baseline has none).
 * `KESTREL_BENCH_CONNECTIONS_PER_ADDRESS=N` raises the per-address connection cap (256): simulated
 * cameras all come from 127.0.0.1, real ones from an address each.
 */
import { KestrelServer } from '../src/app.ts';
import { defaultConfig } from '../src/config.ts';
import { silentLogger } from '../src/shared/logger.ts';
import { benchAuth } from './lib/auth.ts';
import { serveUntilTerminated } from './lib/child-server.ts';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: server-child.ts <dataDir>');

const noQuota = process.env.KESTREL_BENCH_NO_STREAM_QUOTA === '1';
const config = defaultConfig({ port: 0, host: '127.0.0.1', dataDir, auth: benchAuth() });
if (noQuota) config.ingest = { ...config.ingest, maxFragmentsPerSec: 0, maxBytesPerSec: 0 };
const perAddress = Number(process.env.KESTREL_BENCH_CONNECTIONS_PER_ADDRESS);
if (perAddress > 0) config.limits = { ...config.limits, maxConnectionsPerAddress: perAddress };
const server = await KestrelServer.start(config, silentLogger());
serveUntilTerminated(server);
