import { KvsError } from './errors.ts';

/**
 * A write failed because the filesystem is full: ENOSPC from fs, SQLITE_FULL from better-sqlite3,
 * or the same message relayed as text from the index writer thread.
 */
export function isDiskFullError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  if (!e) return false;
  if (e.code === 'ENOSPC' || e.code === 'SQLITE_FULL') return true;
  return typeof e.message === 'string' && /database or disk is full|ENOSPC|no space left on device/i.test(e.message);
}

/** What a client gets when a write cannot be made for lack of disk space (retryable, not a raw 500). */
export function diskFullKvsError(): KvsError {
  return new KvsError('ServiceUnavailable', 'The server is out of disk space; free space (e.g. DeleteStream) and retry.');
}
