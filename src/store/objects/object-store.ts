/**
 * The object-store port: immutable media objects (sealed segments) in an S3-compatible store or a
 * local folder. Objects are written once (`putIfAbsent`, S3 `If-None-Match: *`), so two nodes can
 * never overwrite each other's media; reads are ranged.
 */

export interface ObjectInfo {
  key: string;
  size: number;
  /** When the object was written (ms since the epoch); retention deletes by it. */
  lastModifiedMs: number;
}

export interface ByteRange {
  offset: number;
  length: number;
}

export interface ObjectStore {
  /** Writes the object unless the key exists: 'created', or 'exists' (nothing written). */
  putIfAbsent(key: string, body: Buffer): Promise<'created' | 'exists'>;
  /** The whole object, or `range` of it; throws ObjectNotFoundError when the key is absent. */
  get(key: string, range?: ByteRange): Promise<Buffer>;
  /** Size of the object, or undefined when absent. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Removes the object; absent keys are not an error. */
  delete(key: string): Promise<void>;
  /** For logs and /readyz: `s3://bucket/prefix at endpoint` or the folder. */
  readonly description: string;
  close(): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  readonly code = 'not-found';
  constructor(readonly key: string) {
    super(`object ${key} does not exist`);
  }
}

/** A media URL `s3://bucket/prefix` split into bucket and key prefix (no leading or trailing slash). */
export interface MediaUrl {
  bucket: string;
  prefix: string;
}

export function parseMediaUrl(url: string): MediaUrl {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new Error(`media URL must look like s3://bucket/prefix, not "${url}"`);
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((part) => part === '..' || part === '.')) throw new Error(`media URL prefix must not contain "." or ".." parts: "${url}"`);
  return { bucket: m[1]!, prefix };
}

/** Joins key parts with single slashes (empty parts, e.g. an empty prefix, are skipped). */
export const joinKey = (...parts: string[]): string => parts.filter((p) => p !== '').join('/');
