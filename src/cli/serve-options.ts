/**
 * `kestrel serve`'s option table: every flag, env variable and config-file key of the server is one
 * row here (README.md in this folder says how to add one). serve.ts maps the resolved values onto
 * KestrelConfig.
 */
import { DESTINATION_OPTIONS } from './destinations.ts';
import { types, type OptionSpec } from './options.ts';

export const SERVE_OPTIONS: readonly OptionSpec[] = [
  { name: 'config', env: 'KESTREL_CONFIG', key: false, arg: 'FILE', help: 'read options from a YAML or JSON file (keys: the camelCase option names);\nflags and env variables override it' },
  { name: 'host', env: 'KESTREL_HOST', arg: 'ADDR', default: '127.0.0.1', help: 'address to listen on (default 127.0.0.1: loopback only)' },
  { name: 'port', env: 'KESTREL_PORT', arg: 'N', type: types.int(0, 65535), default: 8080, help: 'port (default 8080; 0 picks a free one)' },
  { name: 'data', env: 'KESTREL_DATA_DIR', arg: 'DIR', default: './data', help: 'data folder: SQLite index and media segments (default ./data)' },
  { name: 'public-url', env: 'KESTREL_PUBLIC_URL', arg: 'URL', type: types.url(), help: 'base URL clients use to reach this node (GetDataEndpoint answers it)' },
  { name: 'log-level', env: 'KESTREL_LOG_LEVEL', arg: 'LEVEL', type: types.oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), default: 'info', help: 'fatal, error, warn, info (default), debug, trace or silent' },
  { name: 'clip-max-fragments', env: 'KESTREL_CLIP_MAX_FRAGMENTS', arg: 'N', type: types.int(1), default: 200, help: 'GetClip stops after this many fragments (KVS: 200)' },
  { name: 'clip-max-bytes', env: 'KESTREL_CLIP_MAX_BYTES', arg: 'N', type: types.int(1), default: 100 * 1024 * 1024, help: 'GetClip stops after this many bytes (KVS: 100 MB)' },
  { name: 'll-part-target-ms', env: 'KESTREL_LL_PART_TARGET_MS', arg: 'MS', type: types.int(100, 2000), default: 333, help: 'LL-HLS part length, 100-2000 ms (default 333); players hold back three parts' },
  { name: 'metrics-token', env: 'KESTREL_METRICS_TOKEN', arg: 'TOKEN', help: 'bearer token for GET /metrics (Authorization: Bearer TOKEN);\nwithout one /metrics answers 403' },
  { name: 'metrics-max-streams', env: 'KESTREL_METRICS_MAX_STREAMS', arg: 'N', type: types.int(1), help: 'streams with their own metrics series (default 200); more share stream="_other"' },
  { name: 'detect', env: 'KESTREL_DETECT', kind: 'switch', help: 'run person detection in-process on every stream' },
  ...DESTINATION_OPTIONS,
];
