/**
 * `kestrel reindex`: rebuilds the fragment index from the sealed objects in the bucket alone
 * (src/sealing/reindex.ts), e.g. after losing the index or to serve a bucket from a new node.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createLogger } from '../shared/logger.ts';
import { openSqlite } from '../store/sqlite-db.ts';
import { SqliteStreamRepository } from '../store/sqlite-streams.ts';
import { SqliteFragmentIndex } from '../store/sqlite-fragments.ts';
import { parseMediaUrl } from '../store/objects/object-store.ts';
import { S3ObjectStore } from '../store/objects/s3-object-store.ts';
import { reindexFromObjects } from '../sealing/reindex.ts';
import { optionsUsage, resolveOptions, types, type OptionSpec } from './options.ts';
import { UsageError } from './usage-error.ts';

const REINDEX_OPTIONS: readonly OptionSpec[] = [
  { name: 'media', env: 'KESTREL_MEDIA_URL', arg: 'URL', help: 's3://bucket/prefix the sealed objects are under (required)' },
  { name: 's3-endpoint', env: 'KESTREL_S3_ENDPOINT', arg: 'URL', type: types.url(), help: 'S3-compatible endpoint (default AWS); credentials from AWS_*' },
  { name: 'index', env: 'KESTREL_INDEX_URL', arg: 'DIR', help: 'the data folder whose SQLite index (index.sqlite) receives the rows (required)' },
];

export const REINDEX_USAGE = `reindex --media s3://bucket/prefix [--s3-endpoint URL] --index DIR
  Rebuilds the fragment index (and missing streams) from the sealed objects alone: per object it reads
  the footer, the index trailer and the MKV header, never the media. Safe to run again.
${optionsUsage(REINDEX_OPTIONS, '  ')}`;

export async function reindex(argv: readonly string[]): Promise<void> {
  const opts = resolveOptions(REINDEX_OPTIONS, argv, process.env);
  if (opts.positionals.length) throw new UsageError(`unexpected argument "${opts.positionals[0]}"`);
  const media = opts.string('media');
  const indexTarget = opts.string('index');
  if (!media || !indexTarget) throw new UsageError('--media s3://bucket/prefix and --index DIR are required');
  let url: ReturnType<typeof parseMediaUrl>;
  try {
    url = parseMediaUrl(media);
  } catch (err) {
    throw new UsageError(`--media: ${(err as Error).message}`);
  }
  if (/^postgres(ql)?:\/\//.test(indexTarget)) throw new UsageError('--index: this build rebuilds the embedded SQLite index (a data folder)');
  fs.mkdirSync(indexTarget, { recursive: true });
  const endpoint = opts.string('s3-endpoint');
  const objects = new S3ObjectStore({ bucket: url.bucket, ...(endpoint ? { endpoint } : {}) });
  const dbFile = path.join(indexTarget, 'index.sqlite');
  const db = openSqlite(dbFile);
  const streams = new SqliteStreamRepository(db);
  const index = new SqliteFragmentIndex(db, dbFile);
  const log = createLogger(process.env.KESTREL_LOG_LEVEL ?? 'warn');
  try {
    const report = await reindexFromObjects({ objects, prefix: url.prefix, streams, index, log });
    process.stdout.write(`${JSON.stringify(report)}\n`);
    if (report.skipped.length > 0) process.exitCode = 1;
  } finally {
    await index.close();
    db.close();
    await objects.close();
  }
}
