/** `kestrel serve` options for request limits and timeouts (docs/SECURITY.md "Request limits and timeouts"). */
import { defaultServerLimits, type IngestLimits, type ServerLimits } from '../config.ts';
import { types, type OptionSpec, type ResolvedOptions } from './options.ts';

const serverDefaults = defaultServerLimits();

/** An integer row whose env name follows the flag: --max-connections → KESTREL_MAX_CONNECTIONS. */
const count = (name: string, min: number, help: string): OptionSpec => ({
  name,
  env: `KESTREL_${name.toUpperCase().replace(/-/g, '_')}`,
  arg: 'N',
  type: types.int(min),
  help,
});

export const LIMIT_OPTIONS: readonly OptionSpec[] = [
  { name: 'allowed-host', env: 'KESTREL_ALLOWED_HOSTS', kind: 'list', arg: 'HOST',
    help: "repeatable; extra Host/Origin names the server answers ('name', 'name:port' or '*'); loopback names,\nthe bound host and --public-url are always allowed" },
  count('max-connections', 1, `open connections in all (default ${serverDefaults.maxConnections})`),
  count('max-connections-per-address', 1, `open connections per client address (default ${serverDefaults.maxConnectionsPerAddress})`),
  count('headers-timeout-ms', 1000, `a request's headers must arrive within this (default ${serverDefaults.headersTimeoutMs})`),
  count('request-timeout-ms', 1000, `an ordinary request must arrive within this; PutMedia is exempt (default ${serverDefaults.requestTimeoutMs})`),
  count('keep-alive-timeout-ms', 1000, `idle keep-alive connections close after this (default ${serverDefaults.keepAliveTimeoutMs})`),
  count('idle-timeout-ms', 1000, `a socket with no traffic either way closes after this (default ${serverDefaults.socketIdleTimeoutMs})`),
  count('put-media-min-bytes-per-sec', 0, 'a PutMedia producer slower than this (averaged over the window) gets ERROR 4000 (default 1024; 0 off)'),
  count('put-media-min-rate-window-ms', 1000, 'the window of the minimum rate (default 30000)'),
  count('put-media-max-fragments-per-sec', 0, 'per-stream fragment rate; faster producers are read more slowly (KVS: 5; 0 off)'),
  count('put-media-max-bytes-per-sec', 0, 'per-stream byte rate, likewise (KVS: 12500000; 0 off)'),
  count('max-get-media-per-stream', 1, `concurrent GetMedia connections per stream (KVS: ${serverDefaults.maxGetMediaPerStream})`),
  count('max-calls-per-second-per-stream', 0, `PutMedia/GetMedia/GetDataEndpoint calls per second per stream (KVS: ${serverDefaults.apiCallsPerSecondPerStream}; 0 off)`),
  count('max-concurrent-clips', 1, `concurrent GetClip responses (default ${serverDefaults.maxConcurrentClips})`),
  count('max-concurrent-images', 1, `concurrent GetImages calls (default ${serverDefaults.maxConcurrentImages})`),
  count('max-pending-jobs', 1, `queued or running analysis jobs (default ${serverDefaults.maxPendingJobs})`),
  count('max-ffmpeg-children', 1, `on-demand ffmpeg decoders at once (default ${serverDefaults.maxFfmpegChildren})`),
  count('ffmpeg-timeout-ms', 1000, `an on-demand ffmpeg child is killed after this (default ${serverDefaults.ffmpegTimeoutMs})`),
];

export function serverLimitsFrom(opts: ResolvedOptions): ServerLimits {
  const n = (name: string, fallback: number) => opts.number(name) ?? fallback;
  const d = serverDefaults;
  return defaultServerLimits({
    allowedHosts: opts.list('allowed-host'),
    maxConnections: n('max-connections', d.maxConnections),
    maxConnectionsPerAddress: n('max-connections-per-address', d.maxConnectionsPerAddress),
    headersTimeoutMs: n('headers-timeout-ms', d.headersTimeoutMs),
    requestTimeoutMs: n('request-timeout-ms', d.requestTimeoutMs),
    keepAliveTimeoutMs: n('keep-alive-timeout-ms', d.keepAliveTimeoutMs),
    socketIdleTimeoutMs: n('idle-timeout-ms', d.socketIdleTimeoutMs),
    maxGetMediaPerStream: n('max-get-media-per-stream', d.maxGetMediaPerStream),
    apiCallsPerSecondPerStream: n('max-calls-per-second-per-stream', d.apiCallsPerSecondPerStream),
    maxConcurrentClips: n('max-concurrent-clips', d.maxConcurrentClips),
    maxConcurrentImages: n('max-concurrent-images', d.maxConcurrentImages),
    maxPendingJobs: n('max-pending-jobs', d.maxPendingJobs),
    maxFfmpegChildren: n('max-ffmpeg-children', d.maxFfmpegChildren),
    ffmpegTimeoutMs: n('ffmpeg-timeout-ms', d.ffmpegTimeoutMs),
  });
}

export function ingestLimitsFrom(opts: ResolvedOptions, d: IngestLimits): IngestLimits {
  const n = (name: string, fallback: number) => opts.number(name) ?? fallback;
  return {
    ...d,
    minBytesPerSec: n('put-media-min-bytes-per-sec', d.minBytesPerSec),
    minRateWindowMs: n('put-media-min-rate-window-ms', d.minRateWindowMs),
    maxFragmentsPerSec: n('put-media-max-fragments-per-sec', d.maxFragmentsPerSec),
    maxBytesPerSec: n('put-media-max-bytes-per-sec', d.maxBytesPerSec),
  };
}
