/**
 * Reads a GetMedia / GetMediaForFragmentList payload with our MKV parser and splits it into the
 * per-fragment chunks KVS sends (kvs-api.md §4.3), keeping the tags before and after each cluster.
 */
import { MkvStreamParser } from '../../src/mkv/index.ts';

export interface ReadFragment {
  tagsBefore: Record<string, string>;
  tagsAfter: Record<string, string>;
  blocks: number;
  clusterTimecode: number;
  ebmlHeaders: number;
  bytes: number;
}

export class GetMediaCollector {
  readonly fragments: ReadFragment[] = [];
  private readonly parser = new MkvStreamParser();
  private current: ReadFragment | undefined;
  private sawCluster = false;
  private headers = 0;
  private bytes = 0;

  push(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    for (const ev of this.parser.push(Buffer.from(chunk))) {
      if (ev.type === 'ebml-header') {
        this.headers++;
        this.current = undefined;
        this.sawCluster = false;
      } else if (ev.type === 'tags') {
        const tags = Object.fromEntries(ev.tags.map((t) => [t.name, t.value]));
        if (!this.sawCluster) {
          this.current = { tagsBefore: tags, tagsAfter: {}, blocks: 0, clusterTimecode: -1, ebmlHeaders: this.headers, bytes: this.bytes };
          this.fragments.push(this.current);
        } else if (this.current) {
          Object.assign(this.current.tagsAfter, tags);
        }
      } else if (ev.type === 'cluster-start') {
        this.sawCluster = true;
      } else if (ev.type === 'cluster-timecode' && this.current) {
        this.current.clusterTimecode = ev.timecode;
      } else if (ev.type === 'block' && this.current) {
        this.current.blocks++;
      }
    }
  }

  /** Fragment numbers in the order received. */
  get numbers(): string[] {
    return this.fragments.map((f) => f.tagsBefore.AWS_KINESISVIDEO_FRAGMENT_NUMBER!);
  }

  /** Fragments whose trailing tags (continuation token) have arrived. */
  get complete(): ReadFragment[] {
    return this.fragments.filter((f) => f.tagsAfter.AWS_KINESISVIDEO_CONTINUATION_TOKEN !== undefined);
  }
}

/** Consumes an SDK payload stream until `until` says stop or it ends or times out. */
export async function collect(
  payload: AsyncIterable<Uint8Array> & { destroy?: () => void },
  until: (c: GetMediaCollector) => boolean,
  timeoutMs = 10_000,
): Promise<GetMediaCollector> {
  const c = new GetMediaCollector();
  const timer = setTimeout(() => payload.destroy?.(), timeoutMs);
  try {
    for await (const chunk of payload) {
      c.push(chunk);
      if (until(c)) break;
    }
  } catch {
    // destroyed on timeout
  } finally {
    clearTimeout(timer);
    payload.destroy?.();
  }
  return c;
}
