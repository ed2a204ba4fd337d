/** Where snapshot JPEGs go. Implementations: LocalSnapshotStore (default), S3SnapshotStore. */
export interface SnapshotStore {
  put(key: string, jpeg: Buffer, contentType: string, metadata: Record<string, string>): Promise<{ url: string }>;
  /** A time-limited GET URL for the key (S3 only). */
  presign?(key: string, expiresInSec?: number): Promise<string>;
}

export type SnapshotDestination =
  | { kind: 'local'; dir?: string }
  | { kind: 's3'; bucket: string; prefix: string; endpoint?: string; region?: string; forcePathStyle?: boolean };

/**
 * Parses a `--snapshots` value: `s3://bucket/prefix[?endpoint=http://host:9000&region=eu-west-1&pathStyle=true]`,
 * `file:///abs/dir`, a plain path, or `local`/empty (the data-dir default).
 */
export function parseSnapshotDestination(value: string | undefined): SnapshotDestination {
  const v = (value ?? '').trim();
  if (v === '' || v === 'local') return { kind: 'local' };
  if (v.startsWith('file://')) return { kind: 'local', dir: decodeURIComponent(new URL(v).pathname) };
  if (!/^s3:\/\//i.test(v)) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) throw new Error(`unsupported snapshot destination: ${v}`);
    return { kind: 'local', dir: v };
  }
  const rest = v.slice(5);
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : rest.slice(q + 1));
  const slash = path.indexOf('/');
  const bucket = slash < 0 ? path : path.slice(0, slash);
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new Error(`invalid S3 bucket name in ${v}`);
  const prefix = (slash < 0 ? '' : path.slice(slash + 1)).replace(/^\/+|\/+$/g, '');
  const dest: SnapshotDestination = { kind: 's3', bucket, prefix };
  const endpoint = params.get('endpoint');
  const region = params.get('region');
  const pathStyle = params.get('pathStyle') ?? params.get('forcePathStyle');
  if (endpoint) dest.endpoint = endpoint;
  if (region) dest.region = region;
  if (pathStyle !== null) dest.forcePathStyle = pathStyle !== 'false' && pathStyle !== '0';
  return dest;
}

export interface SnapshotKeyParts {
  /** `AWS_KINESISVIDEO_IMAGE_PREFIX` tag value, if any. */
  imagePrefix?: string;
  accountId: string;
  stream: string;
  /** Image timecode (ms epoch). */
  timestampMs: number;
  guid: string;
  ext?: 'jpg' | 'png';
  /** `annotated` adds a `-annotated` suffix before the extension. */
  variant?: 'clean' | 'annotated';
}

/** KVS image-generation key: `{ImagePrefix}_{AccountID}_{StreamName}_{ms}_{GUID}.jpg` (prefix part absent without the tag). */
export function snapshotKey(p: SnapshotKeyParts): string {
  const parts = [p.imagePrefix, p.accountId, p.stream, String(Math.round(p.timestampMs)), p.guid].filter((x) => x !== undefined && x !== '');
  return `${parts.join('_')}${p.variant === 'annotated' ? '-annotated' : ''}.${p.ext ?? 'jpg'}`;
}

/** The S3 user metadata KVS sets on generated images, plus custom fragment tags. */
export function kvsImageMetadata(m: {
  producerTimestamp: number;
  serverTimestamp: number;
  fragmentNumber: string;
  tags?: Record<string, string>;
}): Record<string, string> {
  return {
    ...m.tags,
    aws_kinesisvideo_producer_timestamp: String(m.producerTimestamp),
    aws_kinesisvideo_server_timestamp: String(m.serverTimestamp),
    aws_kinesisvideo_fragment_number: m.fragmentNumber,
  };
}

/** Rejects keys that could escape a folder or are not plain object keys. */
export function assertSafeKey(key: string): void {
  if (key === '' || key.length > 1024 || key.startsWith('/') || key.includes('\\') || key.includes('\0') || key.split('/').some((s) => s === '..' || s === '.' || s === '')) {
    throw new Error(`invalid snapshot key: ${JSON.stringify(key)}`);
  }
}

/** Joins a prefix and a key with one slash. */
export function joinKey(prefix: string | undefined, key: string): string {
  const p = (prefix ?? '').replace(/^\/+|\/+$/g, '');
  return p ? `${p}/${key}` : key;
}
