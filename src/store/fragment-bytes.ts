/**
 * Where a reader gets a stored fragment's bytes once it knows the record (from the index, or from
 * a live-bus announcement). Today: the MKV header from the index and the body from the media
 * store. Cluster work plugs in here: sealed bytes from the object store, unsealed ones pulled from
 * the owning node (edge-pull), without readers changing.
 */
import type { FragmentIndex, FragmentRecord, MediaStore } from './types.ts';

export interface FragmentBytes {
  header: Buffer;
  body: Buffer;
}

export interface FragmentBytesSource {
  /** `into`: a reusable buffer the body may be read into (the result is then a view of it). */
  read(record: FragmentRecord, into?: Buffer): Promise<FragmentBytes>;
}

export function indexedMediaBytes(index: FragmentIndex, media: MediaStore): FragmentBytesSource {
  return {
    async read(record, into) {
      const [header, body] = await Promise.all([index.getHeader(record.headerId), media.read(record.streamId, record.location, into)]);
      return { header, body };
    },
  };
}
