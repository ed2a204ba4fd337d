import path from 'node:path';
import { KestrelServer } from '../app.ts';
import { defaultConfig, type KestrelConfig } from '../config.ts';
import { checkMediaTools } from '../media-tools/preflight.ts';
import { createLogger } from '../shared/logger.ts';
import { UsageError } from './args.ts';
import { readConfigFile } from './config-file.ts';
import { destinationsFrom, detectConfigFrom } from './destinations.ts';
import { optionsUsage, parseFlags, resolveOptions, type ResolvedOptions } from './options.ts';
import { SERVE_OPTIONS } from './serve-options.ts';
import { ingestLimitsFrom, serverLimitsFrom } from './limit-flags.ts';
import { isLoopbackHost } from '../auth/bootstrap.ts';
import type { KvsDeliverySettings } from '../kvs-delivery/kvs-delivery.ts';

export const SERVE_USAGE = `kestrel serve [--config kestrel.yaml] [--host 127.0.0.1] [--port 8080] [--data ./data] [--detect …] [options]
  Runs the server with embedded storage (SQLite index, media on local disk under --data);
  --index postgres://… keeps the index in PostgreSQL instead, shared by every node (see kestrel migrate).
  --detect runs person detection in-process on every stream and sends every event to the event store
  (GET /api/v1/events, SSE /api/v1/events/stream) and the destinations (--webhook-url, --mqtt-url,
  --snapshots). Per-stream detection config: GET/PUT/PATCH/DELETE /api/v1/streams/<name>/detection.
  Health: GET /healthz, /readyz (no auth); Prometheus: GET /metrics (Authorization: Bearer --metrics-token).
  Options (precedence: config file < env variable < flag):
${optionsUsage(SERVE_OPTIONS, '    ')}`;

/** The server config from the config file, env and flags (in that order of precedence); throws UsageError on bad values. */
export function parseServeArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): KestrelConfig {
  return serveConfig(resolveServeOptions(argv, env), env);
}

/** Resolves the option table, reading --config / KESTREL_CONFIG first when given. */
export function resolveServeOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  const configPath = parseFlags(SERVE_OPTIONS, argv).flags.get('config') ?? (env.KESTREL_CONFIG || undefined);
  const file = typeof configPath === 'string' ? readConfigFile(configPath) : undefined;
  const opts = resolveOptions(SERVE_OPTIONS, argv, env, file);
  if (opts.positionals.length) throw new UsageError(`unexpected argument "${opts.positionals[0]}"`);
  return opts;
}

function serveConfig(opts: ResolvedOptions, env: NodeJS.ProcessEnv): KestrelConfig {
  const publicUrl = opts.string('public-url');
  const indexUrl = opts.string('index');
  const nodeId = opts.string('node-id');
  const leaseTtlMs = opts.number('lease-ttl');
  const metricsToken = opts.string('metrics-token');
  const metricsMaxStreams = opts.number('metrics-max-streams');
  const config = defaultConfig({
    host: opts.string('host')!,
    port: opts.number('port')!,
    dataDir: path.resolve(opts.string('data')!),
    ...(publicUrl ? { publicUrl } : {}),
    ...(indexUrl ? { indexUrl } : {}),
    ...(nodeId || leaseTtlMs ? { cluster: { ...(nodeId ? { nodeId } : {}), ...(leaseTtlMs ? { leaseTtlMs } : {}) } } : {}),
    clipMaxFragments: opts.number('clip-max-fragments')!,
    clipMaxBytes: opts.number('clip-max-bytes')!,
    llPartTargetMs: opts.number('ll-part-target-ms')!,
    ops: { ...(metricsToken ? { metricsToken } : {}), ...(metricsMaxStreams ? { metricsMaxStreams } : {}) },
    getMediaEndOfDataWaitMs: opts.number('get-media-end-wait-ms')!,
  });
  config.auth = authSettings(opts, config.host);
  config.limits = serverLimitsFrom(opts);
  config.ingest = ingestLimitsFrom(opts, config.ingest);
  config.storage.minFreeSpace = opts.get('min-free-space')!;
  const maxBytes = opts.number('max-bytes');
  if (maxBytes !== undefined) config.storage.maxBytesPerStream = maxBytes;
  const busUrl = opts.string('bus');
  if (busUrl) config.bus = { url: busUrl };
  config.readerQueueBytes = opts.number('reader-queue-size')!;
  const allowDestinations = opts.list('allow-destination');
  if (allowDestinations.length > 0) config.outbound = { allowDestinations };
  const kvsDelivery = kvsDeliveryFrom(opts);
  if (kvsDelivery) config.kvsDelivery = kvsDelivery;
  const media = opts.string('media');
  if (media) {
    const s3Endpoint = opts.string('s3-endpoint');
    config.media = {
      url: media,
      ...(s3Endpoint ? { s3Endpoint } : {}),
      durability: opts.get<'local' | 'replicated'>('durability')!,
      sealIntervalMs: opts.number('seal-interval')!,
      readCacheBytes: opts.number('media-read-cache')!,
    };
  } else if (opts.sources.get('durability') !== 'default' && opts.get('durability') === 'replicated') {
    throw new UsageError('--durability replicated needs --media s3://bucket/prefix');
  }
  if (opts.flag('detect')) {
    const configFile = detectConfigFrom(opts);
    config.detection = { enabled: true, ...destinationsFrom(opts, env), ...(configFile ? { configFile: path.resolve(configFile) } : {}) };
  }
  return config;
}

export async function serve(argv: readonly string[]): Promise<void> {
  const opts = resolveServeOptions(argv);
  const config = serveConfig(opts, process.env);
  // Detection decodes frames with ffmpeg: fail before listening rather than on the first fragment.
  if (config.detection?.enabled) await checkMediaTools(['ffmpeg']);
  const log = createLogger(opts.string('log-level'));
  const server = await KestrelServer.start(config, log);
  log.info({ url: server.url, dataDir: config.dataDir }, `Kestrel listening on ${server.url}`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** Operator-set endpoints for KVS image generation and notifications (trusted: no allow-list). */
function kvsDeliveryFrom(opts: ResolvedOptions): KvsDeliverySettings | undefined {
  const settings: KvsDeliverySettings = {};
  const sns = opts.string('sns-endpoint');
  const s3 = opts.string('s3-endpoint');
  const mqtt = opts.string('mqtt-url');
  if (sns) settings.snsEndpoint = sns;
  if (s3) settings.s3Endpoint = s3;
  if (mqtt) settings.mqttUrl = mqtt;
  return Object.keys(settings).length > 0 ? settings : undefined;
}

function authSettings(opts: ResolvedOptions, host: string): NonNullable<KestrelConfig['auth']> {
  const insecureNoAuth = opts.flag('insecure-no-auth');
  if (insecureNoAuth && !isLoopbackHost(host)) throw new UsageError(`--insecure-no-auth is refused unless the server binds to a loopback address (--host 127.0.0.1), not ${host}`);
  const id = opts.string('access-key-id');
  const secret = opts.string('secret-access-key');
  if ((id === undefined) !== (secret === undefined)) throw new UsageError('give both --access-key-id and --secret-access-key (or KESTREL_ACCESS_KEY_ID and KESTREL_SECRET_ACCESS_KEY)');
  const adminPassword = opts.string('admin-password');
  if (adminPassword !== undefined && adminPassword.length < 8) throw new UsageError('KESTREL_ADMIN_PASSWORD must be at least 8 characters');
  const serverKey = opts.string('server-key');
  return {
    insecureNoAuth,
    ...(id !== undefined ? { rootAccessKeyId: id, rootSecretAccessKey: secret! } : {}),
    ...(adminPassword !== undefined ? { adminPassword } : {}),
    ...(serverKey !== undefined ? { serverKey } : {}),
  };
}
