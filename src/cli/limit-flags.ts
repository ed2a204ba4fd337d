/** `kestrel serve` flags for request limits and timeouts (docs/SECURITY.md); flags win over env. */
import { defaultServerLimits, type IngestLimits, type ServerLimits } from '../config.ts';
import { UsageError, type ParsedArgs } from './args.ts';
import { flagOrEnv } from './destinations.ts';

export const LIMIT_USAGE = `  Request limits (docs/SECURITY.md "Request limits and timeouts"; env in brackets; 0 disables a rate rule):
    --allowed-host HOST (repeatable) [KESTREL_ALLOWED_HOSTS, comma-separated]  extra Host/Origin names ('*' = any)
    --max-connections 4096 [KESTREL_MAX_CONNECTIONS]  --max-connections-per-address 256 [KESTREL_MAX_CONNECTIONS_PER_ADDRESS]
    --headers-timeout-ms 10000  --request-timeout-ms 30000  --keep-alive-timeout-ms 65000  --idle-timeout-ms 120000
    --put-media-min-bytes-per-sec 1024 [KESTREL_PUT_MEDIA_MIN_BYTES_PER_SEC] (over --put-media-min-rate-window-ms 30000)
    --put-media-max-fragments-per-sec 5  --put-media-max-bytes-per-sec 12500000  --max-get-media-per-stream 3
    --max-calls-per-second-per-stream 5  --max-concurrent-clips 8  --max-concurrent-images 4
    --max-pending-jobs 16  --max-ffmpeg-children 8  --ffmpeg-timeout-ms 60000`;

/** Every `--name value` / `--name=value` occurrence (parseArgs keeps only the last). */
export function repeatedFlag(argv: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === `--${name}` && argv[i + 1] !== undefined) out.push(argv[++i]!);
    else if (a.startsWith(`--${name}=`)) out.push(a.slice(name.length + 3));
  }
  return out;
}

/** Env names follow the flags: --max-connections → KESTREL_MAX_CONNECTIONS. */
const envOf = (flag: string) => `KESTREL_${flag.toUpperCase().replace(/-/g, '_')}`;

function count(args: ParsedArgs, env: NodeJS.ProcessEnv, flag: string, fallback: number, min: number): number {
  const n = Number(flagOrEnv(args, flag, env, envOf(flag), String(fallback)));
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${flag} must be an integer >= ${min}`);
  return n;
}

export function serverLimitFlags(argv: readonly string[], args: ParsedArgs, env: NodeJS.ProcessEnv): ServerLimits {
  const d = defaultServerLimits();
  const fromEnv = (env.KESTREL_ALLOWED_HOSTS ?? '').split(',').map((h) => h.trim()).filter((h) => h !== '');
  const fromFlags = repeatedFlag(argv, 'allowed-host');
  return defaultServerLimits({
    allowedHosts: fromFlags.length > 0 ? fromFlags : fromEnv,
    maxConnections: count(args, env, 'max-connections', d.maxConnections, 1),
    maxConnectionsPerAddress: count(args, env, 'max-connections-per-address', d.maxConnectionsPerAddress, 1),
    headersTimeoutMs: count(args, env, 'headers-timeout-ms', d.headersTimeoutMs, 1000),
    requestTimeoutMs: count(args, env, 'request-timeout-ms', d.requestTimeoutMs, 1000),
    keepAliveTimeoutMs: count(args, env, 'keep-alive-timeout-ms', d.keepAliveTimeoutMs, 1000),
    socketIdleTimeoutMs: count(args, env, 'idle-timeout-ms', d.socketIdleTimeoutMs, 1000),
    maxGetMediaPerStream: count(args, env, 'max-get-media-per-stream', d.maxGetMediaPerStream, 1),
    apiCallsPerSecondPerStream: count(args, env, 'max-calls-per-second-per-stream', d.apiCallsPerSecondPerStream, 0),
    maxConcurrentClips: count(args, env, 'max-concurrent-clips', d.maxConcurrentClips, 1),
    maxConcurrentImages: count(args, env, 'max-concurrent-images', d.maxConcurrentImages, 1),
    maxPendingJobs: count(args, env, 'max-pending-jobs', d.maxPendingJobs, 1),
    maxFfmpegChildren: count(args, env, 'max-ffmpeg-children', d.maxFfmpegChildren, 1),
    ffmpegTimeoutMs: count(args, env, 'ffmpeg-timeout-ms', d.ffmpegTimeoutMs, 1000),
  });
}

export function ingestLimitFlags(args: ParsedArgs, env: NodeJS.ProcessEnv, d: IngestLimits): IngestLimits {
  return {
    ...d,
    minBytesPerSec: count(args, env, 'put-media-min-bytes-per-sec', d.minBytesPerSec, 0),
    minRateWindowMs: count(args, env, 'put-media-min-rate-window-ms', d.minRateWindowMs, 1000),
    maxFragmentsPerSec: count(args, env, 'put-media-max-fragments-per-sec', d.maxFragmentsPerSec, 0),
    maxBytesPerSec: count(args, env, 'put-media-max-bytes-per-sec', d.maxBytesPerSec, 0),
  };
}
