import path from 'node:path';
import { KestrelServer } from '../app.ts';
import { defaultConfig } from '../config.ts';
import { createLogger } from '../shared/logger.ts';
import { UsageError, parseArgs, stringFlag } from './args.ts';

export const SERVE_USAGE = `kestrel serve [--host 127.0.0.1] [--port 8080] [--data ./data] [--public-url URL]
  Runs the server with embedded storage (SQLite index, media on local disk under --data).
  Env: KESTREL_HOST, KESTREL_PORT, KESTREL_DATA_DIR, KESTREL_PUBLIC_URL, KESTREL_LOG_LEVEL.`;

export async function serve(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv);
  const port = Number(stringFlag(args, 'port', 'KESTREL_PORT', '8080'));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be 0-65535');
  const publicUrl = stringFlag(args, 'public-url', 'KESTREL_PUBLIC_URL');
  const config = defaultConfig({
    host: stringFlag(args, 'host', 'KESTREL_HOST', '127.0.0.1')!,
    port,
    dataDir: path.resolve(stringFlag(args, 'data', 'KESTREL_DATA_DIR', './data')!),
    ...(publicUrl ? { publicUrl } : {}),
  });
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
