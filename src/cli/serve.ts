import path from 'node:path';
import { KestrelServer } from '../app.ts';
import { defaultConfig, type KestrelConfig } from '../config.ts';
import { checkMediaTools } from '../media-tools/preflight.ts';
import { createLogger } from '../shared/logger.ts';
import { UsageError, parseArgs, type ParsedArgs } from './args.ts';
import { destinationFlags, DESTINATION_USAGE, detectConfigFlag, flagOrEnv, switchFlag } from './destinations.ts';

export const SERVE_USAGE = `kestrel serve [--host 127.0.0.1] [--port 8080] [--data ./data] [--public-url URL]
             [--clip-max-fragments 200] [--clip-max-bytes 104857600] [--ll-part-target-ms 333]
             [--get-media-end-wait-ms 3000]
             [--detect [--webhook-url URL] [--mqtt-url URL] [--snapshots s3://bucket/prefix --s3-endpoint URL]
                       [--detect-config FILE]]
  Runs the server with embedded storage (SQLite index, media on local disk under --data).
  --detect runs person detection in-process on every stream (env KESTREL_DETECT=1) and sends every
  event to the event store (GET /api/v1/events, SSE /api/v1/events/stream) and the destinations:
${DESTINATION_USAGE}
  Per-stream detection config: GET/PUT/PATCH/DELETE /api/v1/streams/<name>/detection (docs/DETECTION.md).
  GetClip stops at --clip-max-fragments fragments or --clip-max-bytes bytes (KVS: 200 / 100 MB).
  --ll-part-target-ms sets the LL-HLS part length (100-2000 ms); players hold back three parts.
  --get-media-end-wait-ms: GetMedia ends this long after the end of stored data when the stream has
  no producer (0-300000; per request: header x-kestrel-get-media-end-wait-ms).
  Env: KESTREL_HOST, KESTREL_PORT, KESTREL_DATA_DIR, KESTREL_PUBLIC_URL, KESTREL_LOG_LEVEL,
  KESTREL_CLIP_MAX_FRAGMENTS, KESTREL_CLIP_MAX_BYTES, KESTREL_LL_PART_TARGET_MS, KESTREL_GET_MEDIA_END_WAIT_MS.`;

/** The server config from flags and env (flags win); throws UsageError on bad values. */
export function parseServeArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): KestrelConfig {
  const args = parseArgs(argv, ['detect']);
  const port = Number(flagOrEnv(args, 'port', env, 'KESTREL_PORT', '8080'));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be 0-65535');
  const publicUrl = flagOrEnv(args, 'public-url', env, 'KESTREL_PUBLIC_URL');
  if (publicUrl !== undefined && !URL.canParse(publicUrl)) throw new UsageError('--public-url must be a URL');
  const config = defaultConfig({
    host: flagOrEnv(args, 'host', env, 'KESTREL_HOST', '127.0.0.1')!,
    port,
    dataDir: path.resolve(flagOrEnv(args, 'data', env, 'KESTREL_DATA_DIR', './data')!),
    ...(publicUrl ? { publicUrl } : {}),
    clipMaxFragments: positiveInt(args, env, 'clip-max-fragments', 'KESTREL_CLIP_MAX_FRAGMENTS', 200),
    clipMaxBytes: positiveInt(args, env, 'clip-max-bytes', 'KESTREL_CLIP_MAX_BYTES', 100 * 1024 * 1024),
    llPartTargetMs: partTarget(positiveInt(args, env, 'll-part-target-ms', 'KESTREL_LL_PART_TARGET_MS', 333)),
    getMediaEndOfDataWaitMs: endWait(flagOrEnv(args, 'get-media-end-wait-ms', env, 'KESTREL_GET_MEDIA_END_WAIT_MS', '3000')!),
  });
  if (switchFlag(args, 'detect', env, 'KESTREL_DETECT')) {
    const configFile = detectConfigFlag(args, env);
    config.detection = { enabled: true, ...destinationFlags(args, env), ...(configFile ? { configFile: path.resolve(configFile) } : {}) };
  }
  return config;
}

export async function serve(argv: readonly string[]): Promise<void> {
  const config = parseServeArgs(argv);
  // Detection decodes frames with ffmpeg: fail before listening rather than on the first fragment.
  if (config.detection?.enabled) await checkMediaTools(['ffmpeg']);
  const log = createLogger();
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

function positiveInt(args: ParsedArgs, env: NodeJS.ProcessEnv, flag: string, envName: string, fallback: number): number {
  const n = Number(flagOrEnv(args, flag, env, envName, String(fallback)));
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${flag} must be a positive integer`);
  return n;
}

function endWait(value: string): number {
  const ms = Number(value);
  if (!/^\d{1,6}$/.test(value) || ms > 300_000) throw new UsageError('--get-media-end-wait-ms must be 0-300000');
  return ms;
}

function partTarget(ms: number): number {
  if (ms < 100 || ms > 2000) throw new UsageError('--ll-part-target-ms must be 100-2000');
  return ms;
}
