/**
 * Benchmark child: one Kestrel server with `--media` on an S3 endpoint (credentials from AWS_* in
 * its env). Args: <dataDir> <s3://bucket/prefix> <endpoint> <local|replicated> [sealIntervalMs].
 * Prints {"url","pid"} when listening.
 */
import { KestrelServer } from '../src/app.ts';
import { defaultConfig } from '../src/config.ts';
import { silentLogger } from '../src/shared/logger.ts';
import { DEFAULT_MEDIA_READ_CACHE_BYTES, DEFAULT_SEAL_INTERVAL_MS } from '../src/app-media.ts';
import { benchAuth } from './lib/auth.ts';
import { serveUntilTerminated } from './lib/child-server.ts';

const [dataDir, url, s3Endpoint, durability, interval] = process.argv.slice(2);
if (!dataDir || !url || !s3Endpoint || (durability !== 'local' && durability !== 'replicated')) {
  throw new Error('usage: media-child.ts <dataDir> <s3://bucket/prefix> <endpoint> <local|replicated> [sealIntervalMs]');
}
const media = { url, s3Endpoint, durability, sealIntervalMs: interval ? Number(interval) : DEFAULT_SEAL_INTERVAL_MS, readCacheBytes: DEFAULT_MEDIA_READ_CACHE_BYTES } as const;
const server = await KestrelServer.start(defaultConfig({ port: 0, host: '127.0.0.1', dataDir, auth: benchAuth(), media }), silentLogger());
serveUntilTerminated(server);
