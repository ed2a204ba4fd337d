/**
 * `kestrel serve`'s option table: every flag, env variable and config-file key of the server is one
 * row here (README.md in this folder says how to add one). serve.ts maps the resolved values onto
 * KestrelConfig.
 */
import { DESTINATION_OPTIONS } from './destinations.ts';
import { LIMIT_OPTIONS } from './limit-flags.ts';
import { parseByteSize, parseFreeSpaceFloor } from '../shared/byte-size.ts';
import { parseDestinationPatterns } from '../outbound/destination-patterns.ts';
import { convert, invalid, types, type OptionSpec } from './options.ts';
import { parseMediaUrl } from '../store/objects/object-store.ts';
import { DEFAULT_MEDIA_READ_CACHE_BYTES, DEFAULT_SEAL_INTERVAL_MS } from '../app-media.ts';

const freeSpaceFloor = convert((v) => parseFreeSpaceFloor(String(v)) ?? invalid('must be a percentage (5%) or a size (2GiB, 500MB, bytes)'));
const byteSize = convert((v) => parseByteSize(String(v)) || invalid('must be a positive size (2GiB, 500MB, bytes)'));
/** One NATS URL, or several comma-separated (the servers of one NATS cluster). */
const natsUrls = convert((v) => {
  const items = typeof v === 'string' ? v.split(',').map((s) => s.trim()) : [];
  const ok = items.length > 0 && items.every((u) => URL.canParse(u) && ['nats:', 'tls:'].includes(new URL(u).protocol));
  return ok ? items.join(',') : invalid('must be nats://host:port (or several, comma-separated)');
});
const destinationPatterns = convert((v) => {
  const items = (typeof v === 'string' ? v.split(',') : Array.isArray(v) ? v.map(String) : []).map((s) => s.trim()).filter((s) => s !== '');
  try {
    parseDestinationPatterns(items);
  } catch (err) {
    return invalid((err as Error).message);
  }
  return items;
});

/** `--index postgres://…`: shared by `serve` and `migrate`. */
export const INDEX_OPTION: OptionSpec = { name: 'index', env: 'KESTREL_INDEX_URL', arg: 'URL', type: types.url(['postgres:', 'postgresql:']),
    help: 'keep streams, fragments, users and sessions in this PostgreSQL database (postgres://…),\nshared by every node; migrated at start (default: SQLite under --data)' };
const nodeId = convert((v) => (typeof v === 'string' && /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(v) ? v : invalid('must be 1-128 letters, digits, ".", "_", ":" or "-"')));
const mediaUrl = convert((v) => {
  try {
    parseMediaUrl(String(v));
    return String(v);
  } catch (err) {
    return invalid((err as Error).message);
  }
});
/** `5s`, `500ms`, `2m`, or a number of seconds. */
const interval = convert((v) => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(String(v));
  const ms = m ? Math.round(Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000)) : NaN;
  return ms >= 100 && ms <= 3_600_000 ? ms : invalid('must be a duration from 100ms to 1h (5s, 500ms, 2m; a bare number is seconds)');
});

export const SERVE_OPTIONS: readonly OptionSpec[] = [
  { name: 'config', env: 'KESTREL_CONFIG', key: false, arg: 'FILE', help: 'read options from a YAML or JSON file (keys: the camelCase option names);\nflags and env variables override it' },
  { name: 'host', env: 'KESTREL_HOST', arg: 'ADDR', default: '127.0.0.1', help: 'address to listen on (default 127.0.0.1: loopback only)' },
  { name: 'port', env: 'KESTREL_PORT', arg: 'N', type: types.int(0, 65535), default: 8080, help: 'port (default 8080; 0 picks a free one)' },
  { name: 'data', env: 'KESTREL_DATA_DIR', arg: 'DIR', default: './data', help: 'data folder: SQLite index and media segments (default ./data)' },
  INDEX_OPTION,
  { name: 'public-url', env: 'KESTREL_PUBLIC_URL', arg: 'URL', type: types.url(), help: 'base URL clients use to reach this node (GetDataEndpoint answers it)' },
  { name: 'node-id', env: 'KESTREL_NODE_ID', arg: 'ID', type: nodeId,
    help: 'this node\'s name in a cluster: stream leases and the node list use it (default the host name)' },
  { name: 'lease-ttl', env: 'KESTREL_LEASE_TTL', arg: 'DURATION', type: interval,
    help: 'how long a stream\'s ownership lease lasts without renewal (default 10s): a crashed node\'s\nstreams move to another node after about this long' },
  { name: 'log-level', env: 'KESTREL_LOG_LEVEL', arg: 'LEVEL', type: types.oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), default: 'info', help: 'fatal, error, warn, info (default), debug, trace or silent' },
  { name: 'clip-max-fragments', env: 'KESTREL_CLIP_MAX_FRAGMENTS', arg: 'N', type: types.int(1), default: 200, help: 'GetClip stops after this many fragments (KVS: 200)' },
  { name: 'clip-max-bytes', env: 'KESTREL_CLIP_MAX_BYTES', arg: 'N', type: types.int(1), default: 100 * 1024 * 1024, help: 'GetClip stops after this many bytes (KVS: 100 MB)' },
  { name: 'll-part-target-ms', env: 'KESTREL_LL_PART_TARGET_MS', arg: 'MS', type: types.int(100, 2000), default: 333, help: 'LL-HLS part length, 100-2000 ms (default 333); players hold back three parts' },
  { name: 'get-media-end-wait-ms', env: 'KESTREL_GET_MEDIA_END_WAIT_MS', arg: 'MS', type: types.int(0, 300_000), default: 3000,
    help: 'GetMedia ends this long after the end of stored data when the stream has no producer\n(0-300000, default 3000; per request: header x-kestrel-get-media-end-wait-ms)' },
  { name: 'metrics-token', env: 'KESTREL_METRICS_TOKEN', arg: 'TOKEN', help: 'bearer token for GET /metrics (Authorization: Bearer TOKEN);\nwithout one /metrics answers 403' },
  { name: 'metrics-max-streams', env: 'KESTREL_METRICS_MAX_STREAMS', arg: 'N', type: types.int(1), help: 'streams with their own metrics series (default 200); more share stream="_other"' },
  { name: 'min-free-space', env: 'KESTREL_MIN_FREE_SPACE', arg: 'SIZE', type: freeSpaceFloor, default: { percent: 5 },
    help: 'keep this much of the data disk free: a percentage or a size (5%, 2GiB, 500MB, bytes; default 5%);\nbelow it the oldest media is evicted (docs/SECURITY.md, Disk pressure)' },
  { name: 'max-bytes', env: 'KESTREL_MAX_BYTES', arg: 'SIZE', type: byteSize, help: 'cap every stream\'s media at this size, oldest evicted first (no cap by default)' },
  { name: 'allow-destination', env: 'KESTREL_ALLOW_DESTINATIONS', kind: 'list', arg: 'PATTERN', type: destinationPatterns,
    help: 'repeatable; destinations a client may set through the API (notification and image generation\nDestinationConfig.Uri) must match one, e.g. "https://hooks.example.com/*" (env: comma-separated).\nPrivate, loopback and metadata addresses are refused unless a pattern names the address' },
  { name: 'sns-endpoint', env: 'KESTREL_SNS_ENDPOINT', arg: 'URL', type: types.url(['http:', 'https:']), help: 'SNS endpoint for KVS notification topic ARNs (default AWS)' },
  { name: 'access-key-id', env: 'KESTREL_ACCESS_KEY_ID', key: false, arg: 'ID', help: 'with --secret-access-key: create or update the root admin key at start (docs/SECURITY.md)' },
  { name: 'secret-access-key', env: 'KESTREL_SECRET_ACCESS_KEY', key: false, arg: 'SECRET', help: 'the root admin key\'s secret (prefer the env variable: flags show in `ps`)' },
  { name: 'admin-password', env: 'KESTREL_ADMIN_PASSWORD', key: false, cli: false, help: 'sets the password of the viewer user "admin" (at least 8 characters); without it and\nthe root key, the first start writes generated ones to <data>/credentials (mode 0600)' },
  { name: 'server-key', env: 'KESTREL_SERVER_KEY', key: false, cli: false, help: 'encrypts access-key secrets at rest (64 hex characters), else <data>/server.key' },
  { name: 'insecure-no-auth', env: 'KESTREL_INSECURE_NO_AUTH', kind: 'switch', key: false,
    help: 'development only: no authentication at all (logged loudly); refused unless --host is loopback' },
  { name: 'bus', env: 'KESTREL_BUS_URL', arg: 'URL', type: natsUrls,
    help: 'NATS server for live fan-out between nodes (nats://host:4222): GetMedia and HLS readers on\nevery node hear of fragments stored on any node; default: this node only' },
  { name: 'reader-queue-size', env: 'KESTREL_READER_QUEUE_SIZE', arg: 'SIZE', type: byteSize, default: 32 * 1024 * 1024,
    help: 'bytes a live GetMedia reader may fall behind before it is ended with a WRITE_ERROR chunk\n(default 32MiB)' },
  { name: 'media', env: 'KESTREL_MEDIA_URL', arg: 'URL', type: mediaUrl,
    help: 's3://bucket/prefix: sealed media goes to this S3-compatible bucket (it must exist;\n--s3-endpoint, credentials from AWS_*); the data folder keeps the unsealed tail' },
  { name: 'durability', env: 'KESTREL_DURABILITY', arg: 'MODE', type: types.oneOf(['local', 'replicated']), default: 'local',
    help: 'with --media: local (PERSISTED after local fsync; a lost node loses at most its unsealed\ntail, --seal-interval) or replicated (PERSISTED once the fragment is in the bucket)' },
  { name: 'seal-interval', env: 'KESTREL_SEAL_INTERVAL', arg: 'DURATION', type: interval, default: DEFAULT_SEAL_INTERVAL_MS,
    help: 'with --media: local segments are closed and uploaded this often (default 5s)' },
  { name: 'media-read-cache', env: 'KESTREL_MEDIA_READ_CACHE', arg: 'SIZE', type: byteSize, default: DEFAULT_MEDIA_READ_CACHE_BYTES,
    help: 'with --media: memory for fragments read back from the bucket (default 64MiB)' },
  { name: 'detect', env: 'KESTREL_DETECT', kind: 'switch', help: 'run person detection in-process on every stream' },
  ...DESTINATION_OPTIONS,
  ...LIMIT_OPTIONS,
];
