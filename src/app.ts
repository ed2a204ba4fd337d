/**
 * Composition root: builds every component from the config, wires them, and owns start/stop order.
 * Nothing else in src/ constructs storage or services.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { KestrelConfig } from './config.ts';
import type { Logger } from './shared/logger.ts';
import { systemClock, type Clock } from './shared/clock.ts';
import { openSqlite } from './store/sqlite-db.ts';
import { SqliteStreamRepository } from './store/sqlite-streams.ts';
import { SqliteFragmentIndex } from './store/sqlite-fragments.ts';
import { SegmentMediaStore } from './store/segment-store.ts';
import { LiveFeed } from './store/live-feed.ts';
import { recoverStorage } from './store/recovery.ts';
import { RetentionCleaner } from './store/retention.ts';
import { StreamService } from './control/stream-service.ts';
import { IngestService } from './ingest/ingest-service.ts';
import { FragmentReader } from './archive/fragment-reader.ts';
import { ClipService } from './archive/clip-service.ts';
import { ImagesService } from './archive/images-service.ts';
import { extractFrames } from './media-tools/frame-extractor.ts';
import { controlPlaneRouter } from './api/control-routes.ts';
import { uiRouter } from './api/ui-routes.ts';
import { StreamOverview } from './archive/stream-overview.ts';
import { dataPlaneRouter } from './api/data-routes.ts';
import { mediaExportRouter } from './api/media-export-routes.ts';
import { playbackRouter } from './api/playback-routes.ts';
import { createPlayback } from './archive/playback.ts';
import { loadOrCreateSessionSecret } from './store/session-secret.ts';
import { errorHandler, requestId, sendKvsError } from './api/respond.ts';
import { KvsError } from './shared/errors.ts';
import { SqliteEventStore } from './events/sqlite-event-store.ts';
import { EventFeed } from './notify/event-feed.ts';
import { LocalSnapshotStore } from './notify/local-snapshot-store.ts';
import { eventsRouter } from './api/events-routes.ts';
import { createDetectConfigService, loadDetectConfigFile, startInProcessDetection } from './app-detection.ts';
import { detectionConfigRouter } from './api/detection-config-routes.ts';
import type { DetectionWorker } from './detect/worker.ts';
import { KvsDelivery } from './kvs-delivery/kvs-delivery.ts';
import { SqliteOutbox } from './notify/outbox.ts';
import { loadOrCreateWebhookSecret } from './app-detection.ts';
import { createJobs } from './app-jobs.ts';
import { jobsRouter } from './api/jobs-routes.ts';
import type { JobRunner } from './jobs/job-runner.ts';

export class KestrelServer {
  /** KVS image generation and fragment notifications (tests wait on `idle()`). */
  kvsDelivery: KvsDelivery | undefined;
  /** Batch analysis jobs (`/api/v1/jobs`). */
  jobs: JobRunner | undefined;

  private constructor(
    readonly url: string,
    private readonly httpServer: http.Server,
    private readonly closers: Array<() => Promise<void> | void>,
    /** Present when detection runs in-process (`config.detection.enabled`). */
    readonly detection: DetectionWorker | undefined,
    private readonly stopDetection: () => Promise<void>,
  ) {}

  static async start(config: KestrelConfig, log: Logger, clock: Clock = systemClock): Promise<KestrelServer> {
    const detectConfigFile = loadDetectConfigFile(config.detection, log);
    fs.mkdirSync(config.dataDir, { recursive: true });
    const dbFile = path.join(config.dataDir, 'index.sqlite');
    const db = openSqlite(dbFile);
    const streams = new SqliteStreamRepository(db);
    const index = new SqliteFragmentIndex(db, dbFile);
    const media = new SegmentMediaStore(path.join(config.dataDir, 'media'));
    await recoverStorage({ streams, index, media, log: log.child({ component: 'recovery' }) });

    const feed = new LiveFeed();
    let baseUrl = config.publicUrl ?? '';
    const streamService = new StreamService({
      repo: streams,
      clock,
      region: config.region,
      accountId: config.accountId,
      dataEndpoint: () => baseUrl,
      onStreamDeleted: async (stream) => {
        ingest.abortStream(stream.id);
        feed.dropStream(stream.id);
        await index.deleteStream(stream.id);
        await media.removeStream(stream.id);
      },
    });
    const kvsDelivery = new KvsDelivery({
      streams,
      index,
      media,
      extractFrames,
      outbox: new SqliteOutbox(db),
      region: config.region,
      accountId: config.accountId,
      webhookSecret: () => config.detection?.webhookSecret ?? loadOrCreateWebhookSecret(config.dataDir).secret,
      ...(config.kvsDelivery ? { settings: config.kvsDelivery } : {}),
      log: log.child({ component: 'kvs-delivery' }),
    });
    const ingest = new IngestService({
      currentStream: (id) => streamService.getById(id),
      index,
      media,
      feed,
      clock,
      limits: config.ingest,
      log: log.child({ component: 'ingest' }),
      onPersisted: (p) => kvsDelivery.onPersisted(p),
    });
    const reader = new FragmentReader({
      index, media, feed, clock, idleTimeoutMs: config.getMediaIdleTimeoutMs,
      endOfDataWaitMs: config.getMediaEndOfDataWaitMs, producerActive: (id) => ingest.hasProducer(id),
    });
    const clips = new ClipService({ index, media, maxFragments: config.clipMaxFragments, maxBytes: config.clipMaxBytes });
    const images = new ImagesService({ index, media, extractFrames, log: log.child({ component: 'images' }) });
    const playback = createPlayback({
      index,
      media,
      feed,
      clock,
      secret: loadOrCreateSessionSecret(config.dataDir),
      partTargetMs: config.llPartTargetMs,
      currentStream: (id) => streamService.getById(id),
    });
    const retention = new RetentionCleaner({
      streams,
      index,
      media,
      feed,
      clock,
      intervalMs: config.retentionSweepMs,
      log: log.child({ component: 'retention' }),
    });

    const eventStore = new SqliteEventStore(db);
    const eventFeed = new EventFeed();
    const localSnapshots = new LocalSnapshotStore({ dir: path.join(config.dataDir, 'snapshots') });
    const detectConfig = createDetectConfigService({ db, ...(config.detection ? { settings: config.detection } : {}), ...(detectConfigFile ? { file: detectConfigFile } : {}), log: log.child({ component: 'detect' }) });
    const jobs = createJobs({
      db, accountId: config.accountId, streams, index, media, events: eventStore, snapshots: localSnapshots, detectConfig, log: log.child({ component: 'jobs' }),
      ...(config.jobs ? { settings: config.jobs } : {}),
      ...(config.detection?.detector ? { detectionDetector: config.detection.detector } : {}),
    });

    const app = express();
    app.disable('x-powered-by');
    app.use(requestId);
    app.use(dataPlaneRouter({ streams: streamService, ingest, reader, log: log.child({ component: 'data' }) }));
    app.use(mediaExportRouter({ streams: streamService, clips, images, log: log.child({ component: 'export' }) }));
    app.use(playbackRouter({ streams: streamService, playback, endpoint: () => baseUrl }));
    app.use(controlPlaneRouter(streamService));
    app.use(eventsRouter({ store: eventStore, feed: eventFeed, snapshots: localSnapshots }));
    app.use(jobsRouter({ jobs: jobs.runner }));
    app.use(detectionConfigRouter({ config: detectConfig, streamExists: async (name) => (await streams.getByName(name)) !== undefined }));
    app.use(uiRouter({ listStreams: (limit) => streams.list({ limit }), overview: new StreamOverview({ index, clock }), clock }));
    app.use((_req, res) => sendKvsError(res, new KvsError('UnknownOperationException', 'Unknown operation.')));
    app.use(errorHandler(log.child({ component: 'http' })));

    const httpServer = http.createServer({ requestTimeout: 0, keepAliveTimeout: 65_000 }, app);
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(config.port, config.host, () => resolve());
    });
    const addr = httpServer.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    const url = `http://${host}:${addr.port}`;
    baseUrl = (config.publicUrl ?? url).replace(/\/+$/, '');
    retention.start();
    await kvsDelivery.start();

    const closers: Array<() => Promise<void> | void> = [
      () => retention.stop(),
      () => ingest.close(),
      () => reader.close(),
      () => kvsDelivery.close(),
      () => playback.close(),
      () => media.close(),
      () => index.close(),
      () => {
        db.close();
      },
    ];
    const inProcess = config.detection?.enabled
      ? await startInProcessDetection({
          settings: config.detection,
          accountId: config.accountId,
          dataDir: config.dataDir,
          db,
          streams,
          feed,
          eventStore,
          eventFeed,
          localSnapshots,
          log: log.child({ component: 'detect' }),
          config: detectConfig,
        }).catch(async (err: unknown) => {
          // A failed detection start must not leave the port open or storage locked.
          await new Promise<void>((resolve) => httpServer.close(() => resolve()));
          for (const close of closers) await close();
          throw err;
        })
      : undefined;
    const detection = inProcess?.worker;
    const stopDetection = inProcess ? () => inProcess.stop() : async (): Promise<void> => {};

    const server = new KestrelServer(url, httpServer, closers, detection, async () => {
      await jobs.stop();
      await stopDetection();
    });
    server.kvsDelivery = kvsDelivery;
    server.jobs = jobs.runner;
    jobs.runner.start();
    return server;
  }

  /** Stops accepting, ends open sessions (producers get their last ACKs), then closes storage. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.httpServer.close(() => resolve()));
    await this.stopDetection();
    for (const close of this.closers.slice(0, 3)) await close();
    this.httpServer.closeAllConnections();
    await closed;
    for (const close of this.closers.slice(3)) await close();
  }
}
