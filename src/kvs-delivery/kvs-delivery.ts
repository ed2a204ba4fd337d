/**
 * The hook that makes UpdateImageGenerationConfiguration and UpdateNotificationConfiguration act.
 * Ingest calls `onPersisted` for every committed fragment; tagged fragments of streams whose
 * configuration is ENABLED are queued (bounded, in memory) and delivered off the ingest path.
 * Configurations are read when the job runs, so changes apply at once (KVS: within a minute or so).
 */
import type { ImageGenerationConfiguration, NotificationConfiguration } from '../control/media-configs.ts';
import type { Logger } from '../shared/logger.ts';
import { FRAGMENT_FLAG_IMAGE_GENERATION, FRAGMENT_FLAG_NOTIFICATION } from '../store/types.ts';
import type { FragmentIndex, FragmentRecord, MediaStore, StreamRecord, StreamRepository } from '../store/types.ts';
import type { Outbox } from '../notify/outbox.ts';
import { Outbound } from '../outbound/outbound.ts';
import { ImageDeliverer, type ExtractFrames, type ImageJob } from './image-deliverer.ts';
import { NotificationDeliverer, type HttpRetrySettings } from './notification-deliverer.ts';
import { BoundedQueue } from './queue.ts';

/** Process-wide delivery settings (`kestrel serve` flags / env; none needed for AWS itself). */
export interface KvsDeliverySettings {
  /** S3-compatible endpoint for generated images (`--s3-endpoint`, KESTREL_S3_ENDPOINT). */
  s3Endpoint?: string;
  /** Overrides DestinationRegion for the S3 client. */
  s3Region?: string;
  /** Default: the AWS SDK chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / …). */
  s3Credentials?: { accessKeyId: string; secretAccessKey: string };
  /** SNS endpoint for topic-ARN destinations (`--sns-endpoint`, KESTREL_SNS_ENDPOINT); default AWS. */
  snsEndpoint?: string;
  snsCredentials?: { accessKeyId: string; secretAccessKey: string };
  /** Also publish notifications on `kestrel/kvs-notifications/<stream>` (`--mqtt-url`, KESTREL_MQTT_URL). */
  mqttUrl?: string;
  /** HMAC key for http(s) notification deliveries; default the data dir's webhook-secret. */
  webhookSecret?: string;
  httpRetry?: HttpRetrySettings;
  /** Jobs waiting per queue before new ones are dropped (default 1000 images, 10000 notifications). */
  imageQueueCapacity?: number;
  notificationQueueCapacity?: number;
}

export interface KvsDeliveryDeps {
  streams: Pick<StreamRepository, 'getById' | 'list'>;
  index: FragmentIndex;
  media: MediaStore;
  extractFrames: ExtractFrames;
  outbox: Outbox;
  /** Shared outbox (PostgreSQL, several nodes): this node's stable id; http(s) deliveries lease their lanes. */
  nodeId?: string;
  region: string;
  accountId: string;
  /** Used when settings.webhookSecret is absent; called on the first http(s) delivery only. */
  webhookSecret: () => Promise<string>;
  settings?: KvsDeliverySettings;
  /** Every S3/SNS/http(s)/MQTT call goes through it (timeouts, allow-list); default: no patterns, default timeouts. */
  outbound?: Outbound;
  log: Logger;
}

/** What ingest reports (structurally the same as ingest's PersistedFragment). */
export interface PersistedFragmentEvent {
  stream: StreamRecord;
  fragment: FragmentRecord;
  imagePrefix?: string;
}

export class KvsDelivery {
  readonly images: ImageDeliverer;
  readonly notifications: NotificationDeliverer;
  private readonly imageQueue: BoundedQueue<ImageJob>;
  private readonly notificationQueue: BoundedQueue<PersistedFragmentEvent>;
  private readonly log: Logger;
  /** Created here when app.ts passed none (tests); then closed here too. */
  private readonly ownOutbound: Outbound | undefined;

  constructor(private readonly deps: KvsDeliveryDeps) {
    const s = deps.settings ?? {};
    this.log = deps.log;
    this.ownOutbound = deps.outbound ? undefined : new Outbound({}, deps.log);
    const outbound = deps.outbound ?? this.ownOutbound!;
    this.images = new ImageDeliverer({
      index: deps.index,
      media: deps.media,
      extractFrames: deps.extractFrames,
      accountId: deps.accountId,
      s3: {
        ...(s.s3Endpoint ? { endpoint: s.s3Endpoint } : {}),
        ...(s.s3Region ? { region: s.s3Region } : {}),
        ...(s.s3Credentials ? { credentials: s.s3Credentials } : {}),
      },
      outbound,
      log: deps.log,
    });
    this.notifications = new NotificationDeliverer({
      region: deps.region,
      accountId: deps.accountId,
      sns: { ...(s.snsEndpoint ? { endpoint: s.snsEndpoint } : {}), ...(s.snsCredentials ? { credentials: s.snsCredentials } : {}) },
      outbox: deps.outbox,
      ...(deps.nodeId !== undefined ? { nodeId: deps.nodeId } : {}),
      webhookSecret: async () => s.webhookSecret ?? deps.webhookSecret(),
      ...(s.httpRetry ? { httpRetry: s.httpRetry } : {}),
      ...(s.mqttUrl ? { mqttUrl: s.mqttUrl } : {}),
      outbound,
      log: deps.log,
    });
    const dropped = (what: string) => (job: { stream: StreamRecord; fragment: FragmentRecord }, reason: string) =>
      this.log.warn({ stream: job.stream.name, fragment: job.fragment.fragmentNumber, reason }, `${what} dropped`);
    const failed = (what: string) => (err: unknown, job: { stream: StreamRecord; fragment: FragmentRecord }) =>
      this.log.warn({ err, stream: job.stream.name, fragment: job.fragment.fragmentNumber }, `${what} failed`);
    // Images: one ffmpeg at a time (CPU-bound, the server's other work comes first).
    this.imageQueue = new BoundedQueue<ImageJob>({
      capacity: s.imageQueueCapacity ?? 1000,
      concurrency: 1,
      run: (job) => this.runImages(job),
      onDrop: dropped('image generation'),
      onError: failed('image generation'),
    });
    this.notificationQueue = new BoundedQueue<PersistedFragmentEvent>({
      capacity: s.notificationQueueCapacity ?? 10_000,
      concurrency: 1,
      run: (job) => this.runNotification(job),
      onDrop: dropped('fragment notification'),
      onError: failed('fragment notification'),
    });
  }

  /** Resumes http(s) notification deliveries a previous run left in the outbox. */
  async start(): Promise<void> {
    try {
      const urls = new Set<string>();
      for (const rec of await this.deps.streams.list({ limit: 100_000 })) {
        const c = rec.notificationConfig as NotificationConfiguration | null;
        if (c?.DestinationConfig?.Uri) urls.add(c.DestinationConfig.Uri);
      }
      await this.notifications.resume(urls);
    } catch (err) {
      this.log.warn({ err }, 'kvs delivery: could not resume pending http(s) notifications');
    }
  }

  /** Ingest hook: synchronous, never throws, only enqueues. */
  onPersisted(e: PersistedFragmentEvent): void {
    // The configuration is checked when the job runs (the record ingest holds may be a second old).
    const flags = e.fragment.flags;
    if (flags & FRAGMENT_FLAG_IMAGE_GENERATION) {
      this.imageQueue.push({ stream: e.stream, fragment: e.fragment, ...(e.imagePrefix !== undefined ? { imagePrefix: e.imagePrefix } : {}) });
    }
    if (flags & FRAGMENT_FLAG_NOTIFICATION) this.notificationQueue.push(e);
  }

  /** Jobs waiting or running per queue (metrics). */
  get queueDepths(): { kvs_images: number; kvs_notifications: number } {
    return { kvs_images: this.imageQueue.size, kvs_notifications: this.notificationQueue.size };
  }

  /** Resolves once both queues are empty and http(s) outboxes drained (tests). */
  async idle(): Promise<void> {
    await this.imageQueue.idle();
    await this.notificationQueue.idle();
    await this.notifications.httpIdle();
  }

  async close(): Promise<void> {
    const lost = (await this.imageQueue.close()) + (await this.notificationQueue.close());
    if (lost > 0) this.log.warn({ jobs: lost }, 'kvs delivery: queued jobs dropped at shutdown');
    await this.notifications.close();
    this.images.close();
    this.ownOutbound?.close();
  }

  private async runImages(job: ImageJob): Promise<void> {
    const current = await this.deps.streams.getById(job.stream.id);
    const config = current?.imageGenerationConfig as ImageGenerationConfiguration | null | undefined;
    if (!current || !enabled(config)) return;
    const keys = await this.images.deliver({ ...job, stream: current }, config!);
    this.log.debug({ stream: current.name, fragment: job.fragment.fragmentNumber, images: keys.length }, 'kvs images delivered');
  }

  private async runNotification(job: PersistedFragmentEvent): Promise<void> {
    const current = await this.deps.streams.getById(job.stream.id);
    const config = current?.notificationConfig as NotificationConfiguration | null | undefined;
    if (!current || !enabled(config)) return;
    await this.notifications.deliver(current, job.fragment, config!);
  }
}

/** The stream's configuration exists and is ENABLED. */
function enabled(config: unknown): boolean {
  return typeof config === 'object' && config !== null && (config as { Status?: unknown }).Status === 'ENABLED';
}
