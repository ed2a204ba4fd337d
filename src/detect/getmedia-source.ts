/**
 * FragmentSource over HTTP with the real AWS SDK GetMedia (the KVS consumer model). Each GetMedia
 * response is split into its per-fragment self-contained MKV chunks (kvs-api.md §4.3); when a
 * response ends or fails, GetMedia is re-issued with the last continuation token, so reading resumes
 * with no gap and no duplicate.
 */
import { GetMediaCommand, KinesisVideoMediaClient, type StartSelector } from '@aws-sdk/client-kinesis-video-media';
import { GetDataEndpointCommand, KinesisVideoClient, type KinesisVideoClientConfig } from '@aws-sdk/client-kinesis-video';
import { MkvStreamParser } from '../mkv/index.ts';
import type { FragmentSource, FragmentSourceStart, SourceFragment } from './fragment-source.ts';

export interface GetMediaSourceOptions {
  /** Control-plane client config (endpoint, region, credentials); GetDataEndpoint gives the media endpoint. */
  clientConfig: KinesisVideoClientConfig;
  /** Wait before re-issuing GetMedia after an error (default 1000 ms). */
  retryDelayMs?: number;
  onError?: (err: unknown) => void;
}

/** Splits a GetMedia payload into fragments; pure apart from the parser state. */
export class GetMediaSplitter {
  private readonly parser = new MkvStreamParser({ maxBlockSize: 50 * 1024 * 1024, maxClusterSize: 50 * 1024 * 1024, maxHeaderElementSize: 1024 * 1024 });
  private header: Buffer[] = [];
  private cluster: Buffer[] = [];
  private before: Record<string, string> = {};
  private inCluster = false;

  constructor(private readonly stream: string) {}

  push(chunk: Uint8Array): SourceFragment[] {
    const out: SourceFragment[] = [];
    for (const ev of this.parser.push(Buffer.from(chunk))) {
      switch (ev.type) {
        case 'ebml-header':
          this.header = [ev.raw];
          this.cluster = [];
          this.before = {};
          this.inCluster = false;
          break;
        case 'segment-start':
        case 'info':
        case 'tracks':
          this.header.push(ev.raw);
          break;
        case 'cluster-start':
          this.inCluster = true;
          this.cluster = [ev.raw];
          break;
        case 'cluster-timecode':
        case 'block':
        case 'cluster-child':
          this.cluster.push(ev.raw);
          break;
        case 'cluster-end':
          this.inCluster = false;
          break;
        case 'tags': {
          const tags = Object.fromEntries(ev.tags.map((t) => [t.name, t.value]));
          if (this.cluster.length === 0) Object.assign(this.before, tags);
          const token = tags.AWS_KINESISVIDEO_CONTINUATION_TOKEN;
          if (token !== undefined && this.cluster.length > 0 && !this.inCluster) {
            const b = this.before;
            out.push({
              stream: this.stream,
              fragmentNumber: b.AWS_KINESISVIDEO_FRAGMENT_NUMBER ?? token,
              producerTimestampMs: Math.round(Number(b.AWS_KINESISVIDEO_PRODUCER_TIMESTAMP ?? 0) * 1000),
              serverTimestampMs: Math.round(Number(b.AWS_KINESISVIDEO_SERVER_TIMESTAMP ?? 0) * 1000),
              mkv: Buffer.concat([...this.header, ...this.cluster]),
              continuationToken: token,
            });
            this.cluster = [];
          }
          break;
        }
        default:
          break;
      }
    }
    return out;
  }
}

export class GetMediaSource implements FragmentSource {
  private readonly endpoints = new Map<string, Promise<KinesisVideoMediaClient>>();

  constructor(private readonly opts: GetMediaSourceOptions) {}

  private client(stream: string): Promise<KinesisVideoMediaClient> {
    let c = this.endpoints.get(stream);
    if (!c) {
      c = (async () => {
        const kv = new KinesisVideoClient(this.opts.clientConfig);
        const ep = await kv.send(new GetDataEndpointCommand({ StreamName: stream, APIName: 'GET_MEDIA' }));
        kv.destroy();
        return new KinesisVideoMediaClient({ ...this.opts.clientConfig, endpoint: ep.DataEndpoint } as never);
      })();
      c.catch(() => this.endpoints.delete(stream));
      this.endpoints.set(stream, c);
    }
    return c;
  }

  async *fragments(stream: string, from: FragmentSourceStart, signal?: AbortSignal): AsyncIterable<SourceFragment> {
    let token = from.continuationToken;
    while (!signal?.aborted) {
      try {
        const media = await this.client(stream);
        const StartSelector: StartSelector = token !== undefined
          ? { StartSelectorType: 'CONTINUATION_TOKEN', ContinuationToken: token }
          : { StartSelectorType: 'NOW' };
        const out = await media.send(new GetMediaCommand({ StreamName: stream, StartSelector }), { abortSignal: signal });
        const payload = out.Payload as unknown as AsyncIterable<Uint8Array> & { destroy?: () => void };
        const splitter = new GetMediaSplitter(stream);
        const onAbort = () => payload.destroy?.();
        signal?.addEventListener('abort', onAbort);
        try {
          for await (const chunk of payload) {
            for (const f of splitter.push(chunk)) {
              token = f.continuationToken;
              yield f;
            }
          }
        } finally {
          signal?.removeEventListener('abort', onAbort);
          payload.destroy?.();
        }
      } catch (err) {
        if (signal?.aborted) return;
        this.opts.onError?.(err);
        this.endpoints.delete(stream);
        await sleep(this.opts.retryDelayMs ?? 1000, signal);
      }
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done);
  });
}
