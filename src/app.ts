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
import { SegmentMediaStore } from './store/segment-store.ts';
import { LiveFeed } from './store/live-feed.ts';
import { recoverStorage } from './store/recovery.ts';
import { RetentionCleaner } from './store/retention.ts';
import { DiskPressure, segmentBytesFor, spaceAwareRepository } from './store/disk-pressure.ts';
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
import { EventFeed } from './notify/event-feed.ts';
import { LocalSnapshotStore } from './notify/local-snapshot-store.ts';
import { eventsRouter } from './api/events-routes.ts';
import { createDetectConfigService, loadDetectConfigFile, startInProcessDetection } from './app-detection.ts';
import { detectionConfigRouter } from './api/detection-config-routes.ts';
import type { DetectionWorker } from './detect/worker.ts';
import { KvsDelivery } from './kvs-delivery/kvs-delivery.ts';
import { loadOrCreateWebhookSecret } from './app-detection.ts';
import { createWorkStores } from './app-work-stores.ts';
import { createJobs } from './app-jobs.ts';
import { createOwnership } from './app-ownership.ts';
import { jobsRouter } from './api/jobs-routes.ts';
import type { JobRunner } from './jobs/job-runner.ts';
import { Outbound } from './outbound/outbound.ts';
import { KestrelMetrics } from './ops/metrics.ts';
import { opsRouter, playbackMetrics } from './ops/ops-routes.ts';
import { Readiness, folderWritable, sqliteWritable } from './ops/readiness.ts';
import { createIndexStores } from './app-stores.ts';
import pLimit from 'p-limit';
import { hostPolicy, hostScreening, type HostPolicy } from './api/host-check.ts';
import { guardConnections, guardRequest, serverOptions } from './api/connection-guard.ts';
import { CallLimiter, ConcurrencyGate } from './api/admission.ts';
import { DEFAULT_MAX_JSON_BYTES, requireJsonBody } from './api/json-body.ts';
import { edgeStats, type EdgeStats } from './app-edge.ts';
import { loadOrCreateServerKey } from './auth/server-key.ts';
import { bootstrapIdentities, isLoopbackHost } from './auth/bootstrap.ts';
import { authMiddleware, sigv4Authenticator, type Authenticator } from './auth/http-auth.ts';
import type { IdentityStore } from './auth/types.ts';
import { usersRouter } from './api/users-routes.ts';
import { nodesRouter } from './api/nodes-routes.ts';
import { createEdgePull } from './app-edge-pull.ts';
import { createViewerSessions } from './app-sessions.ts';
import { startLiveBus } from './app-bus.ts';
import { ReaderQueueStats } from './store/reader-queue.ts';
import { createMediaTier, type MediaTier } from './app-media.ts';
import { PgHousekeepingLeader, alwaysLeader } from './store/leader.ts';

export class KestrelServer {
  /** KVS image generation and fragment notifications (tests wait on `idle()`). */
  kvsDelivery: KvsDelivery | undefined;
  /** Free-space floor, eviction and reserve; `stats()` holds the counters for /metrics. */
  diskPressure: DiskPressure | undefined;
  /** Batch analysis jobs (`/api/v1/jobs`). */
  jobs: JobRunner | undefined;
  /** Every outbound call (webhooks, notifications, S3, SNS); `stats()` counts outcomes and refusals. */
  outbound: Outbound | undefined;
  /** Refusals and throttling at the edge (connection caps, timeouts, rate limits, caps); for /metrics and tests. */
  edge: (() => EdgeStats) | undefined;
  /** GetMedia responses open now (live readers included); for /metrics and tests. */
  getMediaReaders: (() => number) | undefined;
  /** Users, roles and access keys (src/auth). */
  identities: IdentityStore | undefined;
  /** The media tier (sealer and read-cache counters when --media is set). */
  media: MediaTier | undefined;

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
    const insecureNoAuth = config.auth?.insecureNoAuth === true;
    if (insecureNoAuth && !isLoopbackHost(config.host)) throw new Error(`--insecure-no-auth needs a loopback --host, not ${config.host}`);
    const db = openSqlite(dbFile);
    const serverKey = loadOrCreateServerKey(config.dataDir, config.auth?.serverKey);
    const stores = await createIndexStores({ config, db, dbFile, serverKey, log: log.child({ component: 'index' }) });
    const { streams, index, identities } = stores;
    await bootstrapIdentities(identities, { dataDir: config.dataDir, ...config.auth, log: log.child({ component: 'auth' }) }).catch(async (err: unknown) => {
      await stores.close();
      db.close();
      throw err;
    });
    if (insecureNoAuth) log.warn('AUTHENTICATION IS OFF (--insecure-no-auth): anyone who can reach this port can read, write and delete everything. Development only.');
    const localMedia = new SegmentMediaStore(path.join(config.dataDir, 'media'), { maxSegmentBytes: segmentBytesFor(config.dataDir, config.storage) });
    // With --media s3://…, reads of sealed fragments go to the object store (app-media.ts).
    // Cluster-wide sweeps (index retention, expired objects) run on one node: an advisory lock with a shared index.
    const leader = stores.pool ? new PgHousekeepingLeader(stores.pool) : alwaysLeader;
    const mediaTier = createMediaTier({ settings: config.media, local: localMedia, streams, index, leader, log: log.child({ component: 'media' }) });
    const media = mediaTier.media;
    await recoverStorage({ streams, index, media, log: log.child({ component: 'recovery' }), sharedIndex: stores.shared });
    const diskPressure = new DiskPressure({ dataDir: config.dataDir, index, media, settings: config.storage, log: log.child({ component: 'disk' }) });
    localMedia.setSpaceGuard(diskPressure);
    await diskPressure.start();
    // Events, jobs, outbox, detection config/checkpoints, secrets: in the PostgreSQL index when there is one.
    const work = stores.pool
      ? createWorkStores({ kind: 'postgres', pool: stores.pool })
      : createWorkStores({ kind: 'sqlite', db, dataDir: config.dataDir, onLog: (line) => log.info(line) });
    const detectionQueues = new ReaderQueueStats();
    const live: { detection?: DetectionWorker } = {}; // set once detection starts; metrics read its queues
    const metrics = new KestrelMetrics({
      dataDir: config.dataDir,
      ...(config.ops?.metricsMaxStreams ? { maxStreams: config.ops.metricsMaxStreams } : {}),
      activeGetMediaReaders: (): number => reader.activeGetMediaReaders,
      readerQueues: () => ({ get_media: reader.queueStats, detection: detectionQueues }),
      tooSlowReaders: () => reader.tooSlowReaders,
      ...(config.bus ? { bus: () => ({ connected: nodeBus.bus.health().state === 'connected', ...nodeBus.bus.stats }) } : {}),
      // An unreachable outbox (remote index down) leaves its gauge out rather than failing the scrape.
      queueDepths: async () => ({
        ...(await work.outbox.pendingTotal().then((outbox) => ({ outbox }), () => ({}))),
        ...kvsDelivery.queueDepths,
        ...live.detection?.queueDepths,
      }),
      mediaTier: () => ({ ...mediaTier.metricValues(), ...edgePull.metricValues() }),
    });
    const limits = config.limits;
    // On-demand decoders (GetImages, image generation) share this many ffmpeg children; the rest wait.
    const ffmpegSlots = pLimit(limits.maxFfmpegChildren);
    const limitedExtractFrames: typeof extractFrames = (job) => ffmpegSlots(() => extractFrames({ timeoutMs: limits.ffmpegTimeoutMs, ...job }));

    const feed = new LiveFeed();
    const nodeBus = await startLiveBus(config, feed, log);
    const outbound = new Outbound(config.outbound, log.child({ component: 'outbound' }));
    let baseUrl = config.publicUrl ?? '';
    // With a PostgreSQL index, pass its pool (pgPool) so leases and fences live beside the fragment rows.
    const ownership = createOwnership({ config, db, ...(stores.pool ? { pgPool: stores.pool } : {}), index, publicUrl: () => baseUrl, clock, log: log.child({ component: 'ownership' }) });
    // With a shared index, unsealed fragments written by another node are pulled from it (app-edge-pull.ts).
    const edgePull = createEdgePull({ cluster: stores.kind === 'postgres', serverKey, nodeId: ownership.nodeId, leases: ownership.leases, index, media, now: Date.now, log: log.child({ component: 'edge-pull' }) });
    const streamService = new StreamService({
      repo: spaceAwareRepository(streams, diskPressure),
      clock,
      region: config.region,
      accountId: config.accountId,
      dataEndpoint: (stream, apiName) => ownership.dataEndpoint(stream.id, apiName),
      checkDestination: (uri) => outbound.policy.checkApiDestination(uri),
      onStreamDeleted: async (stream) => {
        metrics.forgetStream(stream.name);
        ingest.abortStream(stream.id);
        await ownership.forget(stream.id);
        feed.dropStream(stream.id);
        await diskPressure.withSpace(() => index.deleteStream(stream.id));
        await media.removeStream(stream.id);
        await mediaTier.streamDeleted(stream.name);
      },
    });
    // With a shared index, jobs and outbox lanes are leased to one node at a time under this node's id.
    const leaseOwner = stores.pool ? { nodeId: ownership.nodeId } : {};
    const kvsDelivery = new KvsDelivery({
      ...leaseOwner,
      streams,
      index,
      media,
      extractFrames: limitedExtractFrames,
      outbox: work.outbox,
      region: config.region,
      accountId: config.accountId,
      webhookSecret: async () => config.detection?.webhookSecret ?? (await loadOrCreateWebhookSecret(work.secrets)).secret,
      ...(config.kvsDelivery ? { settings: config.kvsDelivery } : {}),
      outbound,
      log: log.child({ component: 'kvs-delivery' }),
    });
    const ingest = new IngestService({
      currentStream: (id) => streamService.getById(id),
      ownership,
      index,
      media,
      feed,
      clock,
      limits: config.ingest,
      log: log.child({ component: 'ingest' }),
      onPersisted: (p) => {
        metrics.fragmentPersisted(p.stream.name, p.fragment.sizeBytes);
        kvsDelivery.onPersisted(p);
        nodeBus.bridge.announce(p.stream.name, p.fragment);
      },
      observeAcks: (stream) => metrics.ackObserver(stream.name),
      ...(mediaTier.replicate ? { replicate: mediaTier.replicate } : {}),
    });
    const reader = new FragmentReader({
      index, media, feed, clock, idleTimeoutMs: config.getMediaIdleTimeoutMs, maxGetMediaConnectionsPerStream: limits.maxGetMediaPerStream,
      endOfDataWaitMs: config.getMediaEndOfDataWaitMs,
      // A producer on another node counts while its announcements keep coming.
      producerActive: (id: number): boolean => ingest.hasProducer(id) || feed.remoteProducerActive(id),
      ...(config.readerQueueBytes ? { readerQueueBytes: config.readerQueueBytes } : {}),
      ...(edgePull.bytes ? { bytes: edgePull.bytes } : {}),
      log: log.child({ component: 'get-media' }),
    });
    const clips = new ClipService({ index, media, ...(edgePull.bytes ? { bytes: edgePull.bytes } : {}), maxFragments: config.clipMaxFragments, maxBytes: config.clipMaxBytes });
    const images = new ImagesService({ index, media, ...(edgePull.bytes ? { bytes: edgePull.bytes } : {}), extractFrames: limitedExtractFrames, log: log.child({ component: 'images' }) });
    const playback = createPlayback({
      index,
      media,
      feed,
      clock,
      secret: await loadOrCreateSessionSecret(work.secrets),
      partTargetMs: config.llPartTargetMs,
      currentStream: (id) => streamService.getById(id),
      ...(edgePull.bytes ? { bytes: edgePull.bytes } : {}),
    });
    const retention = new RetentionCleaner({
      streams,
      index,
      media,
      feed,
      clock,
      intervalMs: config.retentionSweepMs,
      leader,
      log: log.child({ component: 'retention' }),
    });

    const eventStore = work.events;
    const eventFeed = new EventFeed();
    const localSnapshots = new LocalSnapshotStore({ dir: path.join(config.dataDir, 'snapshots') });
    const detectConfig = createDetectConfigService({ overrides: work.detectConfig, ...(config.detection ? { settings: config.detection } : {}), ...(detectConfigFile ? { file: detectConfigFile } : {}), log: log.child({ component: 'detect' }) });
    const jobs = createJobs({
      ...leaseOwner,
      store: work.jobs, accountId: config.accountId, streams, index, media, events: eventStore, snapshots: localSnapshots, detectConfig, log: log.child({ component: 'jobs' }),
      ...(config.jobs ? { settings: config.jobs } : {}),
      ...(config.detection?.detector ? { detectionDetector: config.detection.detector } : {}),
    });

    const screening = { refusedHost: 0, refusedOrigin: 0 };
    let policy: HostPolicy = hostPolicy({ boundHost: config.host, port: config.port, allowedHosts: limits.allowedHosts, ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}) });
    const calls = new CallLimiter(limits.apiCallsPerSecondPerStream, () => clock.now());
    const clipGate = new ConcurrencyGate('GetClip', limits.maxConcurrentClips);
    const imagesGate = new ConcurrencyGate('GetImages', limits.maxConcurrentImages);
    const refusedJobs = { jobs: 0 };
    const stalledWriteTimeoutMs = limits.stalledWriteTimeoutMs;

    const app = express();
    app.disable('x-powered-by');
    app.use(requestId);
    // Before any authentication middleware: /healthz and /readyz are for load balancers, /metrics has its own token.
    // With --insecure-no-auth, /metrics is open like everything else.
    const opsSettings = { ...config.ops, ...(insecureNoAuth ? { metricsWithoutAuth: true } : {}) };
    // With a PostgreSQL index, the local SQLite database still holds events, jobs and the outbox.
    const readiness = new Readiness({
      index: stores.readiness,
      ...(stores.kind === 'postgres' ? { 'local-db': sqliteWritable(db) } : {}),
      disk: folderWritable(path.join(config.dataDir, 'media')),
      ...(nodeBus.readiness ? { bus: nodeBus.readiness } : {}),
      ...(mediaTier.readinessCheck ? { objects: mediaTier.readinessCheck } : {}),
    });
    app.use(opsRouter({ metrics, readiness, settings: opsSettings }));
    app.use(playbackMetrics(metrics));
    app.use(hostScreening(() => policy, screening));
    // PutMedia's body lasts the whole session; every other request must arrive within requestTimeoutMs.
    app.use((req, _res, next) => {
      if (req.path !== '/putMedia') guardRequest(req, limits, connections);
      next();
    });
    app.use('/api/v1', requireJsonBody(DEFAULT_MAX_JSON_BYTES));
    // The viewer's session-cookie authenticator joins this chain (src/auth/README.md).
    const authenticators: Authenticator[] = [sigv4Authenticator({ identities, region: config.region })];
    const viewer = createViewerSessions({ store: stores.sessions, identities, clock, insecureNoAuth, ...(config.viewerSessions ? { settings: config.viewerSessions } : {}), ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}) });
    authenticators.push(viewer.authenticator);
    if (edgePull.router) app.use(edgePull.router); // node-to-node: takes a node token, not user credentials
    app.use(viewer.router); // sign-in/out: before the auth middleware, it checks Origin, rate and CSRF itself
    app.use(authMiddleware({ authenticators, insecureNoAuth, log: log.child({ component: 'auth' }) }));
    app.use(usersRouter({ identities: viewer.identities }));
    app.use(dataPlaneRouter({ streams: streamService, ingest, reader, log: log.child({ component: 'data' }), calls, stalledWriteTimeoutMs }));
    app.use(mediaExportRouter({ streams: streamService, clips, images, log: log.child({ component: 'export' }), clipGate, imagesGate, stalledWriteTimeoutMs }));
    app.use(playbackRouter({ streams: streamService, playback, endpoint: () => baseUrl }));
    app.use(controlPlaneRouter(streamService, calls));
    app.use(eventsRouter({ store: eventStore, feed: eventFeed, snapshots: localSnapshots }));
    app.use(jobsRouter({ jobs: jobs.runner, maxPendingJobs: limits.maxPendingJobs, refused: refusedJobs }));
    app.use(detectionConfigRouter({ config: detectConfig, streamExists: async (name) => (await streams.getByName(name)) !== undefined }));
    app.use(nodesRouter({ leases: ownership.leases, streams, nodeId: ownership.nodeId }));
    const owners = async () => new Map((await ownership.leases.liveLeases()).map((l) => [l.streamId, l.nodeId]));
    app.use(uiRouter({ listStreams: (limit) => streams.list({ limit }), overview: new StreamOverview({ index, clock }), clock, owners }));
    app.use((_req, res) => sendKvsError(res, new KvsError('UnknownOperationException', 'Unknown operation.')));
    app.use(errorHandler(log.child({ component: 'http' })));

    const httpServer = http.createServer(serverOptions(limits), app);
    const connections = guardConnections(httpServer, limits);
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      // A deep accept queue: a burst of connections is accepted (and judged by the caps) rather than dropped by the kernel.
      httpServer.listen({ port: config.port, host: config.host, backlog: 4096 }, () => resolve());
    });
    const addr = httpServer.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    const url = `http://${host}:${addr.port}`;
    baseUrl = (config.publicUrl ?? url).replace(/\/+$/, '');
    policy = hostPolicy({ boundHost: config.host, port: addr.port, allowedHosts: limits.allowedHosts, ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}) });
    await ownership.start();
    retention.start();
    mediaTier.start();
    await kvsDelivery.start();

    const closers: Array<() => Promise<void> | void> = [
      () => retention.stop(),
      () => ingest.close(),
      () => reader.close(),
      () => diskPressure.stop(),
      // Hand-over order: producers ended (ingest.close), the unsealed tail sealed and uploaded, then the
      // leases released so another node takes the streams at once.
      () => mediaTier.stop(),
      () => ownership.stop(),
      () => kvsDelivery.close(),
      () => outbound.close(),
      () => viewer.stop(),
      () => playback.close(),
      () => nodeBus.close(),
      () => leader.close(),
      () => media.close(),
      () => stores.close(),
      () => {
        db.close();
      },
    ];
    const inProcess = config.detection?.enabled
      ? await startInProcessDetection({
          ...leaseOwner,
          settings: config.detection,
          accountId: config.accountId,
          dataDir: config.dataDir,
          stores: work,
          streams,
          feed,
          eventStore,
          eventFeed,
          localSnapshots,
          log: log.child({ component: 'detect' }),
          config: detectConfig,
          outbound,
          observeDetector: (d) => metrics.timedDetector(d),
          readerQueueStats: detectionQueues,
        }).catch(async (err: unknown) => {
          // A failed detection start must not leave the port open or storage locked.
          await new Promise<void>((resolve) => httpServer.close(() => resolve()));
          for (const close of closers) await close();
          throw err;
        })
      : undefined;
    const detection = inProcess?.worker;
    if (detection) live.detection = detection;
    const stopDetection = inProcess ? () => inProcess.stop() : async (): Promise<void> => {};

    const server = new KestrelServer(url, httpServer, closers, detection, async () => {
      await jobs.stop();
      await stopDetection();
    });
    server.kvsDelivery = kvsDelivery;
    server.diskPressure = diskPressure;
    server.outbound = outbound;
    server.jobs = jobs.runner;
    server.getMediaReaders = () => reader.activeGetMediaReaders;
    server.edge = () => edgeStats({ connections, screening, calls, clipGate, imagesGate, refusedJobs, ingest, ffmpegQueued: () => ffmpegSlots.pendingCount });
    server.identities = identities;
    server.media = mediaTier;
    await jobs.runner.start();
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
