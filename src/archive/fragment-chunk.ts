/**
 * GetMedia / GetMediaForFragmentList packaging (kvs-api.md §4.3): every fragment becomes a
 * self-contained MKV file — the producer's header, KVS tags, the cluster, the producer's tags,
 * and (GetMedia only) the trailing tags with MILLIS_BEHIND_NOW and CONTINUATION_TOKEN.
 */
import { KVS_TAG, tagsElement } from '../mkv/index.ts';
import type { FragmentRecord } from '../store/types.ts';

export function epochSecondsString(ms: number): string {
  return (ms / 1000).toFixed(3);
}

export function fragmentChunk(
  record: FragmentRecord,
  header: Buffer,
  body: Buffer,
  trailer: { millisBehindNow: number } | undefined,
): Buffer[] {
  const before = tagsElement([
    { name: KVS_TAG.FRAGMENT_NUMBER, value: record.fragmentNumber },
    { name: KVS_TAG.SERVER_TIMESTAMP, value: epochSecondsString(record.serverTimestampMs) },
    { name: KVS_TAG.PRODUCER_TIMESTAMP, value: epochSecondsString(record.producerTimestampMs) },
  ]);
  const parts = [header, before, body];
  if (trailer) {
    parts.push(
      tagsElement([
        { name: KVS_TAG.MILLIS_BEHIND_NOW, value: String(Math.max(0, Math.round(trailer.millisBehindNow))) },
        { name: KVS_TAG.CONTINUATION_TOKEN, value: record.fragmentNumber },
      ]),
    );
  }
  return parts;
}

/** KVS's in-stream error id for a reader the server could not write to fast enough (kvs-api.md §4.3). */
export const GET_MEDIA_WRITE_ERROR = { id: 3002, code: 'WRITE_ERROR' } as const;

/**
 * An in-stream GetMedia error (kvs-api.md §4.3): FRAGMENT_NUMBER + ERROR_ID + ERROR_CODE and no
 * SERVER_TIMESTAMP, which is how parser-library tells an error chunk from a fragment. The stream's
 * header goes first when known, so the chunk is a self-contained MKV file like the others.
 */
export function errorChunk(fragmentNumber: string, error: { id: number; code: string }, header?: Buffer): Buffer[] {
  const tags = tagsElement([
    { name: KVS_TAG.FRAGMENT_NUMBER, value: fragmentNumber },
    { name: KVS_TAG.ERROR_ID, value: String(error.id) },
    { name: KVS_TAG.ERROR_CODE, value: error.code },
  ]);
  return header ? [header, tags] : [tags];
}
