/**
 * `kestrel worker`: person detection as a separate process, consuming every stream through the public
 * KVS API (ListStreams discovery, GetMedia per stream) with continuation-token checkpoints in the state
 * dir; events go to a local event store plus the same destinations as `serve --detect`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DescribeStreamCommand, KinesisVideoClient, type KinesisVideoClientConfig } from '@aws-sdk/client-kinesis-video';
import { buildDetectionOutputs } from '../app-detection.ts';
import { JsonFileCheckpointStore } from '../detect/checkpoints.ts';
import { createDetector } from '../detect/create-detector.ts';
import { DetectionEventSink } from '../detect/event-sink.ts';
import { GetMediaSource } from '../detect/getmedia-source.ts';
import { listStreamsViaSdk } from '../detect/stream-discovery.ts';
import { startDetectionWorker } from '../detect/worker.ts';
import { SqliteEventStore } from '../events/sqlite-event-store.ts';
import { createLogger } from '../shared/logger.ts';
import { openSqlite } from '../store/sqlite-db.ts';
import { UsageError, parseArgs, stringFlag } from './args.ts';
import { DESTINATION_USAGE, destinationFlags } from './destinations.ts';

export const WORKER_USAGE = `kestrel worker --endpoint URL [--state-dir ./detect-state] [--discovery-interval-ms 30000]
               [--webhook-url URL] [--mqtt-url URL] [--snapshots s3://bucket/prefix --s3-endpoint URL]
  Runs person detection on every stream of a Kestrel (or KVS) endpoint through the public API
  (ListStreams + GetMedia), until SIGINT/SIGTERM. Checkpoints, the event store (events.sqlite), the
  webhook outbox and local snapshots live in --state-dir (env KESTREL_WORKER_STATE_DIR).
  Env: KESTREL_ENDPOINT, AWS_REGION (default us-east-1), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
${DESTINATION_USAGE}`;

export async function worker(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv);
  const endpoint = stringFlag(args, 'endpoint', 'KESTREL_ENDPOINT');
  if (!endpoint || !URL.canParse(endpoint)) throw new UsageError('--endpoint URL is required');
  const stateDir = path.resolve(stringFlag(args, 'state-dir', 'KESTREL_WORKER_STATE_DIR', './detect-state')!);
  const interval = Number(stringFlag(args, 'discovery-interval-ms', undefined, '30000'));
  if (!Number.isSafeInteger(interval) || interval < 100) throw new UsageError('--discovery-interval-ms must be an integer >= 100');
  const destinations = destinationFlags(args);
  const log = createLogger();
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const clientConfig: KinesisVideoClientConfig = {
    endpoint,
    region,
    // Kestrel does not check credentials; use the SDK chain only when the env provides keys.
    ...(process.env.AWS_ACCESS_KEY_ID ? {} : { credentials: { accessKeyId: 'kestrel', secretAccessKey: 'kestrel' } }),
  };

  fs.mkdirSync(stateDir, { recursive: true });
  const db = openSqlite(path.join(stateDir, 'events.sqlite'));
  const store = new SqliteEventStore(db);
  const outputs = buildDetectionOutputs({ db, stateDir, destinations, log: log.child({ component: 'detect' }) });
  const kv = new KinesisVideoClient(clientConfig);
  const detector = await createDetector({ type: 'centernet' });
  const sink = new DetectionEventSink({
    accountId: process.env.KESTREL_ACCOUNT_ID ?? '000000000000',
    store,
    notifier: outputs.notifier,
    snapshots: outputs.snapshots,
    resolveStream: async (name) => {
      const out = await kv.send(new DescribeStreamCommand({ StreamName: name }));
      return { name, arn: out.StreamInfo?.StreamARN ?? name };
    },
    onLog: (line) => log.warn(line),
  });
  const w = await startDetectionWorker({
    source: new GetMediaSource({ clientConfig, onError: (err) => log.warn({ err: (err as Error).message }, 'GetMedia failed; retrying') }),
    detector,
    sink,
    checkpoints: new JsonFileCheckpointStore(path.join(stateDir, 'checkpoints.json')),
    streams: listStreamsViaSdk(clientConfig),
    discoveryIntervalMs: interval,
    onLog: (line) => log.info(line),
  });
  log.info({ endpoint, stateDir, streams: w.streams, webhook: destinations.webhookUrl ?? null, mqtt: destinations.mqttUrl ?? null, snapshots: destinations.snapshots ?? 'local' }, 'detection worker running');

  // Everything the worker schedules is unref'd; this keeps the process up until a signal.
  const keepAlive = setInterval(() => {}, 1 << 30);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'worker shutting down');
      clearInterval(keepAlive);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await w.stop();
  await outputs.close();
  kv.destroy();
  db.close();
}
