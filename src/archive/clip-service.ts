/**
 * GetClip: a fragmented MP4 (init segment, then one moof/mdat per stored fragment in time order)
 * streamed while it is packaged. Everything that can fail cleanly (validation, no fragments,
 * unsupported codec) fails in prepare(), before the API sends its 200.
 */
import { CodecError, describeTrack } from '../codec/index.ts';
import type { FragmentBytesSource } from '../store/fragment-bytes.ts';
import type { DemuxedFragment, MediaTrack } from '../media/types.ts';
import { buildInitSegment, buildMediaSegment } from '../mp4/index.ts';
import { KvsError } from '../shared/errors.ts';
import type { FragmentIndex, FragmentRecord, MediaStore, StreamRecord } from '../store/types.ts';
import { ClipTimeline, mergeClipFragments, parseClipSelector, trackSignature } from './clip-plan.ts';
import type { ChunkSink } from './fragment-reader.ts';
import type { FragmentSelector } from './selectors.ts';
import { playableFragment } from './segment-builder.ts';
import { packagingError } from './track-catalog.ts';

export interface ClipDeps {
  index: FragmentIndex;
  media: MediaStore;
  /** Where bodies come from when not only this node's media (cluster: edge-pull); default `media`. */
  bytes?: FragmentBytesSource;
  /** Truncation limits; KVS: 200 fragments, 100 MB (kvs-api.md §5.3). */
  maxFragments: number;
  maxBytes: number;
}

export interface ClipSummary {
  fragments: number;
  bytes: number;
  /** Why the clip ended before the last fragment of the range, if it did. */
  stoppedBy?: 'fragment-limit' | 'byte-limit' | 'codec-change' | 'client-gone';
}

export interface PreparedClip {
  readonly contentType: 'video/mp4';
  /** Writes the clip to the sink, honouring its backpressure. */
  write(sink: ChunkSink): Promise<ClipSummary>;
}

const INDEX_BATCH = 1000;

interface LoadedFragment {
  record: FragmentRecord;
  demuxed: DemuxedFragment;
}

export class ClipService {
  constructor(private readonly deps: ClipDeps) {}

  async prepare(stream: StreamRecord, body: Record<string, unknown>): Promise<PreparedClip> {
    if (stream.dataRetentionInHours === 0) {
      throw new KvsError('NoDataRetentionException', `Stream ${stream.name} keeps no data (DataRetentionInHours is 0).`);
    }
    const selector = parseClipSelector(body.ClipFragmentSelector);
    const { matched, records } = await this.selectFragments(stream.id, selector);
    const [firstRecord] = records;
    if (!firstRecord) throw new KvsError('ResourceNotFoundException', 'No fragments found in the stream for the clip request.');

    const headers = new Map<number, Promise<Buffer>>();
    const load = async (record: FragmentRecord): Promise<LoadedFragment> => {
      let cached = headers.get(record.headerId);
      if (!cached) headers.set(record.headerId, (cached = this.deps.index.getHeader(record.headerId)));
      const header = await cached;
      const bytes = this.deps.bytes ? (await this.deps.bytes.read(record)).body : await this.deps.media.read(stream.id, record.location);
      return { record, demuxed: playableFragment(header, bytes, record.fragmentNumber) };
    };

    // A read started ahead may be abandoned (client gone, limit hit): its failure is nobody's to handle.
    const prefetch = (record: FragmentRecord | undefined) => {
      if (!record) return undefined;
      const loading = load(record);
      loading.catch(() => undefined);
      return loading;
    };

    // The clip starts at the first fragment whose frames can be packaged (each skip is one read).
    let first: LoadedFragment | undefined;
    let skipped = 0;
    while (!first) {
      const record = records[skipped];
      if (!record) throw new KvsError('InvalidMediaFrameException', 'No fragment in the clip range has frames that can be packaged.');
      first = await skipUnpackageable(load(record));
      if (!first) skipped++;
    }
    records.splice(0, skipped);
    const tracks = clipTracks(first.demuxed.tracks);
    const trackNumbers = tracks.map((t) => t.number);
    const signature = trackSignature(first.demuxed.tracks);
    const timeline = new ClipTimeline();
    const init = withCodecErrors(() => buildInitSegment(tracks));
    const firstSegment = withCodecErrors(() =>
      buildMediaSegment(timeline.place(first.record, first.demuxed), { sequenceNumber: 1, trackNumbers }),
    );
    const { maxBytes } = this.deps;
    const truncatedByCount = matched > records.length + skipped;

    return {
      contentType: 'video/mp4',
      write: async (sink) => {
        const summary: ClipSummary = { fragments: 1, bytes: init.length + firstSegment.length };
        // Read the next fragment from disk while the current one is on its way to the client.
        let next = prefetch(records[1]);
        await sink.write([init, firstSegment]);
        for (let i = 1; next; i++) {
          const loading = next;
          next = prefetch(records[i + 1]);
          // A fragment whose frames cannot be packaged is left out; the clip goes on with the next.
          const loaded = await skipUnpackageable(loading);
          if (sink.closed) return { ...summary, stoppedBy: 'client-gone' };
          if (!loaded) continue;
          if (trackSignature(loaded.demuxed.tracks) !== signature) return { ...summary, stoppedBy: 'codec-change' };
          const segment = skipUnpackageableSync(() =>
            buildMediaSegment(timeline.place(loaded.record, loaded.demuxed), { sequenceNumber: i + 1, trackNumbers }),
          loaded.record.fragmentNumber);
          if (!segment) continue;
          if (summary.bytes + segment.length > maxBytes) return { ...summary, stoppedBy: 'byte-limit' };
          await sink.write([segment]);
          summary.fragments++;
          summary.bytes += segment.length;
        }
        return truncatedByCount ? { ...summary, stoppedBy: 'fragment-limit' } : summary;
      },
    };
  }

  /** The first maxFragments fragments starting inside the range, in time order; `matched` counts up to one more. */
  private async selectFragments(streamId: number, selector: FragmentSelector): Promise<{ matched: number; records: FragmentRecord[] }> {
    const { maxFragments } = this.deps;
    // Keep slack while merging so duplicates dropped later cannot leave the clip short.
    const keep = 2 * maxFragments + 64;
    let kept: FragmentRecord[] = [];
    let after: string | undefined;
    for (;;) {
      const batch = await this.deps.index.range({ streamId, ...selector, afterFragmentNumber: after, limit: INDEX_BATCH });
      kept = mergeClipFragments(kept, batch, selector.kind, keep);
      const last = batch.at(-1);
      if (batch.length < INDEX_BATCH || !last) break;
      after = last.fragmentNumber;
    }
    return { matched: kept.length, records: kept.slice(0, maxFragments) };
  }
}

/**
 * The tracks the clip carries: the first video track (or, for audio-only streams, the first
 * audio track) must be packageable, else the clip fails with the codec's KVS error; then the
 * first packageable audio track. Other tracks (e.g. G.711, metadata) are left out.
 */
export function clipTracks(tracks: readonly MediaTrack[]): MediaTrack[] {
  const primary = tracks.find((t) => t.kind === 'video') ?? tracks.find((t) => t.kind === 'audio');
  if (!primary) throw new KvsError('UnsupportedStreamMediaTypeException', 'The stream has no video or audio track.');
  withCodecErrors(() => describeTrack(primary));
  if (primary.kind === 'audio') return [primary];
  const audio = tracks.find((t) => t.kind === 'audio' && packageable(t));
  return audio ? [primary, audio] : [primary];
}

function packageable(track: MediaTrack): boolean {
  try {
    describeTrack(track);
    return true;
  } catch (err) {
    if (err instanceof CodecError) return false;
    throw err;
  }
}

async function skipUnpackageable(loading: Promise<LoadedFragment>): Promise<LoadedFragment | undefined> {
  try {
    return await loading;
  } catch (err) {
    if (err instanceof KvsError && err.kvsName === 'InvalidMediaFrameException') return undefined;
    throw err;
  }
}

function skipUnpackageableSync(build: () => Buffer, fragmentNumber: string): Buffer | undefined {
  try {
    return build();
  } catch (err) {
    const e = packagingError(err, fragmentNumber);
    if (e.kvsName === 'InvalidMediaFrameException') return undefined;
    throw e;
  }
}

/** Codec problems reach the client as the KVS exception they name. */
function withCodecErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CodecError) throw new KvsError(err.kvsName, err.message);
    if (err instanceof RangeError) throw new KvsError('InvalidMediaFrameException', err.message);
    throw err;
  }
}
