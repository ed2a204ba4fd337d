/**
 * KVS image generation: decodes the sampled frames of one tagged fragment (one ffmpeg run for all
 * of them) and PUTs each image to the configured S3 bucket/prefix.
 */
import { randomUUID } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ImageGenerationConfiguration } from '../control/media-configs.ts';
import { demuxFragment } from '../media/demux-mkv.ts';
import { s3ClientConfig } from '../notify/s3-snapshot-store.ts';
import { assertSafeKey, joinKey } from '../notify/snapshot-store.ts';
import { awsOutcome, type Outbound } from '../outbound/outbound.ts';
import type { Logger } from '../shared/logger.ts';
import type { FragmentIndex, FragmentRecord, MediaStore, StreamRecord } from '../store/types.ts';
import { imageEncoding, imageMetadata, imageObjectKey, parseS3Uri, sampleFrames } from './image-plan.ts';

/** One decoder run over a fragment (media-tools/frame-extractor.ts `extractFrames`, wired in app.ts). */
export type ExtractFrames = (job: {
  input: readonly Buffer[];
  framePtsMs: readonly number[];
  format: 'jpeg' | 'png';
  jpegQuality: number;
  width?: number;
  height?: number;
}) => Promise<Buffer[]>;

export interface S3Settings {
  /** Operator-set (`--s3-endpoint`): trusted. Without it the client talks to AWS through the guarded agent. */
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export interface ImageDelivererDeps {
  index: FragmentIndex;
  media: MediaStore;
  extractFrames: ExtractFrames;
  accountId: string;
  s3: S3Settings;
  /** Timeouts and the allow-list for API-set destinations (src/outbound/). */
  outbound: Outbound;
  log: Logger;
}

export interface ImageJob {
  stream: StreamRecord;
  fragment: FragmentRecord;
  imagePrefix?: string;
}

export class ImageDeliverer {
  private readonly clients = new Map<string, S3Client>();

  constructor(private readonly deps: ImageDelivererDeps) {}

  /** Returns the object keys written. */
  async deliver(job: ImageJob, config: ImageGenerationConfiguration): Promise<string[]> {
    const { stream, fragment } = job;
    // Checked again at delivery: the allow-list may have changed since the configuration was stored.
    const verdict = this.deps.outbound.policy.checkApiDestination(config.DestinationConfig.Uri);
    if (!verdict.ok) {
      this.deps.outbound.count('refused_pattern');
      this.deps.log.warn({ stream: stream.name, reason: verdict.reason }, 'image generation: destination not allowed; skipped');
      return [];
    }
    const target = parseS3Uri(config.DestinationConfig.Uri);
    const enc = imageEncoding(config);
    const kind = config.ImageSelectorType;
    const header = await this.deps.index.getHeader(fragment.headerId);
    const body = await this.deps.media.read(stream.id, fragment.location);
    const demuxed = demuxFragment(header, body);
    const video = demuxed.tracks.find((t) => t.kind === 'video');
    if (!video) return [];
    const samples = demuxed.samples.filter((s) => s.track === video.number);
    const firstKey = samples.find((s) => s.keyframe);
    if (!firstKey) return [];
    const startMs = kind === 'PRODUCER_TIMESTAMP' ? fragment.producerTimestampMs : fragment.serverTimestampMs;
    const frames = sampleFrames({
      framePtsMs: [...new Set(samples.map((s) => s.ptsMs))].sort((a, b) => a - b),
      firstDecodableMs: firstKey.ptsMs,
      mediaStartMs: demuxed.startMs,
      fragmentStartMs: startMs,
      fragmentDurationMs: demuxed.durationMs,
      intervalMs: config.SamplingInterval,
    });
    if (frames.length === 0) return [];

    const images = await this.deps.extractFrames({
      input: [header, body],
      framePtsMs: frames.map((f) => f.ptsMs),
      format: enc.format,
      jpegQuality: enc.jpegQuality,
      ...(enc.width !== undefined ? { width: enc.width } : {}),
      ...(enc.height !== undefined ? { height: enc.height } : {}),
    });
    if (images.length !== frames.length) {
      // The extractor drops frames it cannot decode; without a 1:1 match times would be wrong.
      throw new Error(`decoded ${images.length} of ${frames.length} sampled frames`);
    }
    const client = this.client(config.DestinationConfig.DestinationRegion);
    const keys: string[] = [];
    for (const [i, frame] of frames.entries()) {
      const producerMs = fragment.producerTimestampMs + frame.offsetMs;
      const serverMs = fragment.serverTimestampMs + frame.offsetMs;
      const name = imageObjectKey({
        ...(job.imagePrefix !== undefined ? { imagePrefix: job.imagePrefix } : {}),
        accountId: this.deps.accountId,
        stream: stream.name,
        imageTimecodeMs: Math.round(kind === 'PRODUCER_TIMESTAMP' ? producerMs : serverMs),
        guid: randomUUID(),
        ext: enc.ext,
      });
      assertSafeKey(name);
      const key = joinKey(target.prefix, name);
      const bytes = images[i]!;
      await this.put(
        client,
        new PutObjectCommand({
          Bucket: target.bucket,
          Key: key,
          Body: bytes,
          ContentType: enc.contentType,
          ContentLength: bytes.length,
          Metadata: imageMetadata({ producerTimestampMs: producerMs, serverTimestampMs: serverMs, fragmentNumber: fragment.fragmentNumber, tags: fragment.tags }),
        }),
      );
      keys.push(key);
    }
    return keys;
  }

  private async put(client: S3Client, command: PutObjectCommand): Promise<void> {
    try {
      await client.send(command, { abortSignal: this.deps.outbound.awsCallSignal() });
      this.deps.outbound.count('ok');
    } catch (err) {
      this.deps.outbound.count(awsOutcome(err));
      throw err;
    }
  }

  close(): void {
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
  }

  /** One client per region (the endpoint and credentials are process-wide settings). */
  private client(destinationRegion: string): S3Client {
    const region = this.deps.s3.region ?? destinationRegion;
    let c = this.clients.get(region);
    if (!c) {
      const config = s3ClientConfig({
        bucket: '',
        region,
        ...(this.deps.s3.endpoint ? { endpoint: this.deps.s3.endpoint } : {}),
        ...(this.deps.s3.credentials ? { credentials: this.deps.s3.credentials } : {}),
      });
      // The bucket is API-set; with AWS's endpoint it becomes part of the host name, hence the guarded agent.
      config.requestHandler = this.deps.outbound.awsRequestHandler(this.deps.s3.endpoint ? 'operator' : 'api');
      c = new S3Client(config);
      this.clients.set(region, c);
    }
    return c;
  }
}
