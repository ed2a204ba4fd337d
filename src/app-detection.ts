/**
 * Composition of the detection outputs, shared by `kestrel serve --detect` (in-process, LiveFeedSource)
 * and `kestrel worker` (separate process, GetMediaSource): snapshot store, event store sink, and the
 * fan-out to webhook / MQTT / the live EventFeed.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { CheckpointStore } from './detect/checkpoints.ts';
import { createDetector, type DetectorConfig } from './detect/create-detector.ts';
import type { DetectConfig } from './detect/detect-config.ts';
import { DetectConfigFile } from './detect/detect-config-file.ts';
import { DetectConfigResolver } from './detect/detect-config-resolver.ts';
import { DetectConfigService } from './detect/detect-config-service.ts';
import type { DetectConfigOverrides } from './detect/detect-config-store.ts';
import { DetectionEventSink } from './detect/event-sink.ts';
import { LiveFeedSource } from './detect/live-feed-source.ts';
import type { DetectorLike } from './detect/types.ts';
import { startDetectionWorker, type DetectionWorker } from './detect/worker.ts';
import type { EventStore } from './events/event-store.ts';
import type { StreamRepository } from './store/types.ts';
import type { LiveFeed } from './store/live-feed.ts';
import type { ReaderQueueStats } from './store/reader-queue.ts';
import type { EventFeed } from './notify/event-feed.ts';
import { Fanout } from './notify/fanout.ts';
import { LocalSnapshotStore } from './notify/local-snapshot-store.ts';
import { MqttNotifier } from './notify/mqtt-notifier.ts';
import type { Notifier } from './notify/notifier.ts';
import type { Outbox } from './notify/outbox.ts';
import { S3SnapshotStore } from './notify/s3-snapshot-store.ts';
import { parseSnapshotDestination, type SnapshotStore } from './notify/snapshot-store.ts';
import { WebhookNotifier } from './notify/webhook-notifier.ts';
import { Outbound } from './outbound/outbound.ts';
import type { Logger } from './shared/logger.ts';
import type { SecretStore } from './store/secret-store.ts';

/** Where detection events go. Every field optional: the defaults are local snapshots + event store + feed. */
export interface DetectionDestinations {
  webhookUrl?: string;
  /** HMAC key for X-Kestrel-Signature; default a random secret kept in the SecretStore (`<stateDir>/webhook-secret` embedded). */
  webhookSecret?: string;
  mqttUrl?: string;
  /** `s3://bucket/prefix`, a folder, or `local` (default: `<stateDir>/snapshots`). */
  snapshots?: string;
  /** Custom S3 endpoint (MinIO, s3rver…); overrides `?endpoint=` in `snapshots`. */
  s3Endpoint?: string;
  /** Default: the AWS SDK chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION …). */
  s3Credentials?: { accessKeyId: string; secretAccessKey: string };
  s3Region?: string;
}

export interface DetectionSettings extends DetectionDestinations {
  enabled: boolean;
  /** Per-stream detection settings applied to every stream (e.g. `{ endAfterMs: 1000 }`). */
  detect?: Partial<DetectConfig>;
  /** Per-stream config file (JSON `{ defaults, streams }`, see docs/DETECTION.md); re-read when it changes. */
  configFile?: string;
  /** How often the stream list is re-read as a safety net (default 10 s in-process: new streams are picked up at their first fragment). */
  discoveryIntervalMs?: number;
  /** How often every stream's config is re-checked (file edits); default 5000 ms with a config file, else never. */
  configRefreshMs?: number;
  /** A ready detector (tests); default built from `model`. */
  detector?: DetectorLike;
  /** Detector to build; default CenterNet with models/centernet.onnx. */
  model?: DetectorConfig;
}

/** Destinations from the standard env variables (flags override them in the CLI). */
export function destinationsFromEnv(env: NodeJS.ProcessEnv = process.env): DetectionDestinations {
  const d: DetectionDestinations = {};
  if (env.KESTREL_WEBHOOK_URL) d.webhookUrl = env.KESTREL_WEBHOOK_URL;
  if (env.KESTREL_WEBHOOK_SECRET) d.webhookSecret = env.KESTREL_WEBHOOK_SECRET;
  if (env.KESTREL_MQTT_URL) d.mqttUrl = env.KESTREL_MQTT_URL;
  if (env.KESTREL_SNAPSHOTS) d.snapshots = env.KESTREL_SNAPSHOTS;
  if (env.KESTREL_S3_ENDPOINT) d.s3Endpoint = env.KESTREL_S3_ENDPOINT;
  return d;
}

export const WEBHOOK_SECRET_NAME = 'webhook-secret';

/** The shared webhook secret (created on first use; embedded: `<dataDir>/webhook-secret`, mode 0600). */
export async function loadOrCreateWebhookSecret(secrets: SecretStore): Promise<{ secret: string; where: string }> {
  const secret = await secrets.getOrCreate(WEBHOOK_SECRET_NAME, () => randomBytes(32).toString('hex'));
  return { secret, where: secrets.where(WEBHOOK_SECRET_NAME) };
}

export interface DetectionOutputs {
  notifier: Fanout;
  snapshots: SnapshotStore;
  webhook?: WebhookNotifier;
  mqtt?: MqttNotifier;
  close(): Promise<void>;
}

export async function buildDetectionOutputs(o: {
  /** Durable webhook queue (the work stores' Outbox). */
  outbox: Outbox;
  /** Where the default webhook secret lives. */
  secrets: SecretStore;
  /** Shared outbox (several nodes): this node's stable id; webhook lanes are leased (WebhookNotifierOptions.lease). */
  nodeId?: string;
  stateDir: string;
  destinations: DetectionDestinations;
  feed?: EventFeed;
  localSnapshots?: LocalSnapshotStore;
  /** Timeouts for the (operator-trusted) destinations; default settings when absent. */
  outbound?: Outbound;
  log: Logger;
}): Promise<DetectionOutputs> {
  const d = o.destinations;
  // Operator-set destinations: trusted, but every call still has timeouts (`kestrel worker` builds its own).
  const ownOutbound = o.outbound ? undefined : new Outbound({}, o.log);
  const outbound = o.outbound ?? ownOutbound!;
  const notifiers: Notifier[] = [];
  if (o.feed) notifiers.push(o.feed);
  let webhook: WebhookNotifier | undefined;
  if (d.webhookUrl) {
    let secret = d.webhookSecret;
    if (!secret) {
      const s = await loadOrCreateWebhookSecret(o.secrets);
      secret = s.secret;
      o.log.info({ secretFile: s.where }, 'webhook signing secret (set KESTREL_WEBHOOK_SECRET to choose one)');
    }
    webhook = new WebhookNotifier({
      url: d.webhookUrl,
      secret,
      outbox: o.outbox,
      ...(o.nodeId !== undefined ? { lease: { owner: o.nodeId } } : {}),
      transport: outbound.sender('operator'),
      logger: o.log.child({ component: 'webhook' }),
    });
    notifiers.push(webhook);
  }
  let mqtt: MqttNotifier | undefined;
  if (d.mqttUrl) {
    mqtt = new MqttNotifier({ url: d.mqttUrl, connectTimeoutMs: outbound.connectTimeoutMs, logger: o.log.child({ component: 'mqtt' }) });
    notifiers.push(mqtt);
  }
  const dest = parseSnapshotDestination(d.snapshots);
  let snapshots: SnapshotStore;
  let s3: S3SnapshotStore | undefined;
  if (dest.kind === 's3') {
    const endpoint = d.s3Endpoint ?? dest.endpoint;
    const region = d.s3Region ?? dest.region;
    s3 = new S3SnapshotStore({
      bucket: dest.bucket,
      prefix: dest.prefix,
      ...(endpoint ? { endpoint } : {}),
      ...(region ? { region } : {}),
      ...(dest.forcePathStyle !== undefined ? { forcePathStyle: dest.forcePathStyle } : {}),
      ...(d.s3Credentials ? { credentials: d.s3Credentials } : {}),
      requestHandler: outbound.awsRequestHandler('operator'),
      callTimeoutMs: outbound.timeoutMs,
    });
    snapshots = s3;
  } else if (dest.dir) {
    snapshots = new LocalSnapshotStore({ dir: dest.dir });
  } else {
    snapshots = o.localSnapshots ?? new LocalSnapshotStore({ dir: path.join(o.stateDir, 'snapshots') });
  }
  const notifier = new Fanout(notifiers, o.log.child({ component: 'notify' }));
  const out: DetectionOutputs = {
    notifier,
    snapshots,
    close: async () => {
      await notifier.close();
      s3?.close();
      ownOutbound?.close();
    },
  };
  if (webhook) out.webhook = webhook;
  if (mqtt) out.mqtt = mqtt;
  return out;
}

/** Reads and checks the detection config file, if any (throws on a missing or bad file: call before opening anything). */
export function loadDetectConfigFile(settings: DetectionSettings | undefined, log: Logger): DetectConfigFile | undefined {
  return settings?.enabled && settings.configFile ? new DetectConfigFile(settings.configFile, (line) => log.warn(line)) : undefined;
}

/** The per-stream config layers (settings < file < API overrides in the server's db) behind the API and the worker. */
export function createDetectConfigService(o: { overrides: DetectConfigOverrides; settings?: DetectionSettings; file?: DetectConfigFile; log: Logger }): DetectConfigService {
  const file = o.file ?? loadDetectConfigFile(o.settings, o.log);
  const overrides = o.overrides;
  const resolver = new DetectConfigResolver({ ...(o.settings?.detect ? { settings: o.settings.detect } : {}), ...(file ? { file } : {}), overrides });
  return new DetectConfigService(resolver, overrides);
}

export interface InProcessDetection {
  worker: DetectionWorker;
  stop(): Promise<void>;
}

/** `kestrel serve --detect`: the worker reads the live feed of every stream in this process. */
export async function startInProcessDetection(o: {
  settings: DetectionSettings;
  accountId: string;
  dataDir: string;
  /** The work stores (src/app-work-stores.ts): outbox, checkpoints, secrets. */
  stores: { outbox: Outbox; checkpoints: CheckpointStore; secrets: SecretStore };
  /** Shared work stores (several nodes): this node's stable id (webhook lanes are leased). */
  nodeId?: string;
  streams: StreamRepository;
  feed: LiveFeed;
  eventStore: EventStore;
  eventFeed: EventFeed;
  localSnapshots: LocalSnapshotStore;
  log: Logger;
  /** Per-stream config (API + file). */
  config: DetectConfigService;
  outbound?: Outbound;
  /** Optional: wraps the detector (metrics time every frame). */
  observeDetector?: (d: DetectorLike) => DetectorLike;
  /** Counters of the per-stream reader queues (metrics). */
  readerQueueStats?: ReaderQueueStats;
}): Promise<InProcessDetection> {
  const { settings, log } = o;
  const outputs = await buildDetectionOutputs({
    outbox: o.stores.outbox, secrets: o.stores.secrets, stateDir: o.dataDir, ...(o.nodeId !== undefined ? { nodeId: o.nodeId } : {}), destinations: settings, feed: o.eventFeed, localSnapshots: o.localSnapshots, log, ...(o.outbound ? { outbound: o.outbound } : {}),
  });
  let worker: DetectionWorker;
  let unsubscribe = (): void => {};
  let source: LiveFeedSource | undefined;
  const config = o.config;
  try {
    const created = settings.detector ?? (await createDetector(settings.model ?? { type: 'centernet' }));
    const detector = o.observeDetector ? o.observeDetector(created) : created;
    const ids = new Map<string, number>();
    const knownIds = new Set<number>();
    // A new stream is read from its first fragment: held from publication until its reader opens.
    source = new LiveFeedSource({ feed: o.feed, streamId: (name) => ids.get(name), fromBuffered: true, holdNew: { isKnown: (id) => knownIds.has(id) },
      ...(o.readerQueueStats ? { queueStats: o.readerQueueStats } : {}), log });
    const sink = new DetectionEventSink({
      accountId: o.accountId,
      store: o.eventStore,
      notifier: outputs.notifier,
      snapshots: outputs.snapshots,
      resolveStream: async (name) => {
        const rec = await o.streams.getByName(name);
        if (!rec) throw new Error(`unknown stream ${name}`);
        return { name: rec.name, arn: rec.arn };
      },
      onLog: (line) => log.warn(line),
    });
    worker = await startDetectionWorker({
      source,
      detector,
      sink,
      checkpoints: o.stores.checkpoints,
      streams: async () => {
        const all = await o.streams.list({ limit: 100_000 });
        ids.clear();
        knownIds.clear();
        for (const r of all) {
          if (r.status === 'DELETING') continue;
          ids.set(r.name, r.id);
          knownIds.add(r.id);
        }
        return [...ids.keys()];
      },
      // A slow poll is only the safety net: new streams are picked up at their first fragment (below).
      discoveryIntervalMs: settings.discoveryIntervalMs ?? 10_000,
      config: (stream) => config.resolver.partial(stream),
      ...(settings.configRefreshMs || settings.configFile ? { configRefreshMs: settings.configRefreshMs ?? 5000 } : {}),
      onLog: (line) => log.info(line),
    });
    unsubscribe = o.feed.subscribeAll((f) => {
      if (!knownIds.has(f.record.streamId)) void worker.refresh();
    });
    config.worker = worker;
  } catch (err) {
    unsubscribe();
    source?.close();
    await outputs.close();
    throw err;
  }
  log.info({ webhook: settings.webhookUrl ?? null, mqtt: settings.mqttUrl ?? null, snapshots: settings.snapshots ?? 'local' }, 'detection running on every stream');
  return {
    worker,
    stop: async () => {
      unsubscribe();
      config.worker = undefined;
      await worker.stop();
      source?.close();
      await outputs.close();
    },
  };
}
