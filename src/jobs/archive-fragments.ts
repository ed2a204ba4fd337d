/**
 * Archived fragments of a time range, read straight from the store interfaces (what ListFragments +
 * GetMediaForFragmentList serve), as the detection pipeline's SourceFragment (header + cluster, the same
 * bytes the live worker's LiveFeedSource gives).
 */
import type { SourceFragment } from '../detect/fragment-source.ts';
import type { FragmentIndex, MediaStore } from '../store/types.ts';

export interface ArchiveFragments {
  /** Fragment numbers whose producer timestamp is in [startMs, endMs], in ingestion order. */
  list(streamId: number, startMs: number, endMs: number): Promise<string[]>;
  /** Undefined when the fragment is gone (retention). */
  load(streamId: number, stream: string, fragmentNumber: string): Promise<SourceFragment | undefined>;
}

const PAGE = 1000;

export class StoreArchiveFragments implements ArchiveFragments {
  constructor(private readonly deps: { index: FragmentIndex; media: MediaStore }) {}

  async list(streamId: number, startMs: number, endMs: number): Promise<string[]> {
    const out: string[] = [];
    let after: string | undefined;
    for (;;) {
      const rows = await this.deps.index.range({ streamId, kind: 'PRODUCER_TIMESTAMP', startMs, endMs, limit: PAGE, ...(after !== undefined ? { afterFragmentNumber: after } : {}) });
      for (const r of rows) out.push(r.fragmentNumber);
      if (rows.length < PAGE) return out;
      after = rows.at(-1)!.fragmentNumber;
    }
  }

  async load(streamId: number, stream: string, fragmentNumber: string): Promise<SourceFragment | undefined> {
    const rec = await this.deps.index.get(streamId, fragmentNumber);
    if (!rec) return undefined;
    let header: Buffer;
    let body: Buffer;
    try {
      [header, body] = await Promise.all([this.deps.index.getHeader(rec.headerId), this.deps.media.read(streamId, rec.location)]);
    } catch (err) {
      // Deleted by retention between the index read and the media read.
      if (!(await this.deps.index.get(streamId, fragmentNumber))) return undefined;
      throw err;
    }
    return {
      stream,
      fragmentNumber,
      producerTimestampMs: rec.producerTimestampMs,
      serverTimestampMs: rec.serverTimestampMs,
      mkv: Buffer.concat([header, body]),
      continuationToken: fragmentNumber,
    };
  }
}
