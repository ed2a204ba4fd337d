/**
 * GetImages: one image per sample instant of the page, decoded from the stored fragment that
 * covers the instant. All instants of a fragment share one decoder run, and a page decodes at
 * most its own images (≤ 25), so a request's work is bounded.
 */
import { demuxFragment } from '../media/demux-mkv.ts';
import type { FragmentBytesSource } from '../store/fragment-bytes.ts';
import { KvsError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { FragmentIndex, FragmentRecord, MediaStore, StreamRecord } from '../store/types.ts';
import { timestampOf } from './clip-plan.ts';
import { coveringFragments, encodeImagesToken, frameAt, parseImagesRequest, planImagePage, type ImagesRequest } from './images-plan.ts';

/** One decoder run over a fragment (implemented with ffmpeg in media-tools, wired in app.ts). */
export interface FrameJob {
  input: readonly Buffer[];
  /** Exact presentation times (ms, Matroska timeline) of first-video-track frames, ascending, unique. */
  framePtsMs: readonly number[];
  format: 'jpeg' | 'png';
  jpegQuality: number;
  width?: number;
  height?: number;
}
/** Resolves with one image per frame it could decode, in presentation order. */
export type ExtractFrames = (job: FrameJob) => Promise<Buffer[]>;

export interface ImagesDeps {
  index: FragmentIndex;
  media: MediaStore;
  /** Where bodies come from when not only this node's media (cluster: edge-pull); default `media`. */
  bytes?: FragmentBytesSource;
  extractFrames: ExtractFrames;
  /** Decoder runs at once across all requests (each is a CPU-bound ffmpeg). Default 2. */
  maxConcurrentDecodes?: number;
  log?: Logger;
}

export interface ImageEntry {
  /** Epoch seconds (the SDK wants a number). */
  TimeStamp: number;
  Error?: 'NO_MEDIA' | 'MEDIA_ERROR';
  ImageContent?: string;
}

export interface GetImagesOutput {
  Images: ImageEntry[];
  NextToken?: string;
}

const INDEX_BATCH = 1000;

export class ImagesService {
  private readonly decodes: Limiter;

  constructor(private readonly deps: ImagesDeps) {
    this.decodes = new Limiter(deps.maxConcurrentDecodes ?? 2);
  }

  async getImages(stream: StreamRecord, body: Record<string, unknown>): Promise<GetImagesOutput> {
    if (stream.dataRetentionInHours === 0) {
      throw new KvsError('NoDataRetentionException', `Stream ${stream.name} keeps no data (DataRetentionInHours is 0).`);
    }
    const request = parseImagesRequest(body, stream.id);
    const page = planImagePage(request.range, request.firstIndex, request.pageSize);
    const records = await this.fragmentsAround(stream.id, request, page.instantsMs);
    const { kind } = request.range;
    const prefer = kind === 'PRODUCER_TIMESTAMP' ? 'oldest-ingest' : 'latest-start';
    const covering = coveringFragments(page.instantsMs, records, (r) => timestampOf(kind, r), prefer);

    const images: ImageEntry[] = page.instantsMs.map((t) => ({ TimeStamp: t / 1000, Error: 'NO_MEDIA' }));
    const groups = new Map<FragmentRecord, number[]>();
    covering.forEach((record, i) => {
      if (record) groups.set(record, [...(groups.get(record) ?? []), i]);
    });
    await Promise.all(
      [...groups].map(([record, slots]) =>
        this.decodes.run(async () => {
          const encoded = await this.imagesFromFragment(stream, request, record, slots.map((i) => page.instantsMs[i]!));
          slots.forEach((slot, j) => {
            const image = encoded[j];
            images[slot] = image
              ? { TimeStamp: page.instantsMs[slot]! / 1000, ImageContent: image.toString('base64') }
              : { TimeStamp: page.instantsMs[slot]! / 1000, Error: 'MEDIA_ERROR' };
          });
        }),
      ),
    );
    return {
      Images: images,
      ...(page.nextIndex !== undefined ? { NextToken: encodeImagesToken(stream.id, request.range, page.nextIndex) } : {}),
    };
  }

  /** Fragments that can cover the instants: the one containing the first, and all starting up to the last. */
  private async fragmentsAround(streamId: number, request: ImagesRequest, instantsMs: readonly number[]): Promise<FragmentRecord[]> {
    const first = instantsMs[0];
    const last = instantsMs.at(-1);
    if (first === undefined || last === undefined) return [];
    const { kind } = request.range;
    const containing = await this.deps.index.atTimestamp(streamId, kind, first);
    const from = containing && timestampOf(kind, containing) <= first ? timestampOf(kind, containing) : first;
    const out: FragmentRecord[] = [];
    let after: string | undefined;
    for (;;) {
      const batch = await this.deps.index.range({ streamId, kind, startMs: from, endMs: last, afterFragmentNumber: after, limit: INDEX_BATCH });
      out.push(...batch);
      const tail = batch.at(-1);
      if (batch.length < INDEX_BATCH || !tail) return out;
      after = tail.fragmentNumber;
    }
  }

  /** Images for the instants (ascending) inside one fragment; a missing entry means MEDIA_ERROR. */
  private async imagesFromFragment(
    stream: StreamRecord,
    request: ImagesRequest,
    record: FragmentRecord,
    instantsMs: readonly number[],
  ): Promise<Array<Buffer | undefined>> {
    try {
      const header = await this.deps.index.getHeader(record.headerId);
      const body = this.deps.bytes ? (await this.deps.bytes.read(record)).body : await this.deps.media.read(stream.id, record.location);
      const fragment = demuxFragment(header, body);
      const video = fragment.tracks.find((t) => t.kind === 'video');
      if (!video) return []; // audio-only media: KVS answers MEDIA_ERROR
      const frames = fragment.samples.filter((s) => s.track === video.number);
      const firstKey = frames.find((s) => s.keyframe);
      if (!firstKey) return [];
      const framePts = [...new Set(frames.map((s) => s.ptsMs))].sort((a, b) => a - b);
      // Instant → media time of this fragment: its timestamp is the time of its earliest sample.
      const offset = timestampOf(request.range.kind, record) - fragment.startMs;
      const chosen = instantsMs.map((t) => frameAt(framePts, firstKey.ptsMs, t - offset));
      const wanted = [...new Set(chosen.filter((p): p is number => p !== undefined))].sort((a, b) => a - b);
      const encoded = await this.deps.extractFrames({
        input: [header, body],
        framePtsMs: wanted,
        format: request.format === 'JPEG' ? 'jpeg' : 'png',
        jpegQuality: request.jpegQuality,
        ...(request.width !== undefined ? { width: request.width } : {}),
        ...(request.height !== undefined ? { height: request.height } : {}),
      });
      if (encoded.length !== wanted.length) {
        this.deps.log?.warn({ stream: stream.name, fragment: record.fragmentNumber, wanted: wanted.length, got: encoded.length }, 'GetImages: frames not decoded');
        return [];
      }
      return chosen.map((pts) => (pts === undefined ? undefined : encoded[wanted.indexOf(pts)]));
    } catch (err) {
      this.deps.log?.warn({ stream: stream.name, fragment: record.fragmentNumber, err: (err as Error).message }, 'GetImages: decode failed');
      return [];
    }
  }
}

/** Runs at most `max` tasks at once; the rest wait in arrival order. */
class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the next waiter, so newcomers cannot jump in.
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
