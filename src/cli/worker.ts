/**
 * `kestrel worker`: person detection as a separate process, consuming every stream through the public
 * KVS API (ListStreams discovery, GetMedia per stream) with continuation-token checkpoints in the state
 * dir; events go to a local event store plus the same destinations as `serve --detect`. Per-stream
 * config: the same `--detect-config` file as the server, under the server's API overrides (fetched
 * when a stream's pipeline (re)starts and every --config-refresh-ms).
 */
import fs from 'node:fs';
import path from 'node:path';
import { DescribeStreamCommand, KinesisVideoClient, type KinesisVideoClientConfig } from '@aws-sdk/client-kinesis-video';
import { buildDetectionOutputs, type DetectionDestinations } from '../app-detection.ts';
import { createWorkStores } from '../app-work-stores.ts';
import { createDetector } from '../detect/create-detector.ts';
import { DetectConfigFile } from '../detect/detect-config-file.ts';
import { DetectConfigResolver } from '../detect/detect-config-resolver.ts';
import { DetectionEventSink } from '../detect/event-sink.ts';
import { GetMediaSource } from '../detect/getmedia-source.ts';
import { RemoteDetectConfigOverrides } from '../detect/remote-overrides.ts';
import { listStreamsViaSdk } from '../detect/stream-discovery.ts';
import { startDetectionWorker } from '../detect/worker.ts';
import { createLogger } from '../shared/logger.ts';
import { openSqlite } from '../store/sqlite-db.ts';
import { UsageError } from './args.ts';
import { credentialsFrom } from './credentials.ts';
import type { Credentials } from '../auth/sigv4.ts';
import { DESTINATION_OPTIONS, destinationsFrom, detectConfigFrom } from './destinations.ts';
import { optionsUsage, resolveOptions, types, type OptionSpec } from './options.ts';

export const WORKER_OPTIONS: readonly OptionSpec[] = [
  { name: 'endpoint', env: 'KESTREL_ENDPOINT', arg: 'URL', type: types.url(), help: 'the Kestrel (or KVS) endpoint (required)' },
  { name: 'state-dir', env: 'KESTREL_WORKER_STATE_DIR', arg: 'DIR', default: './detect-state', help: 'checkpoints, events.sqlite, webhook outbox, local snapshots' },
  { name: 'discovery-interval-ms', arg: 'MS', type: types.int(100), default: 30_000, help: 'how often ListStreams is re-read (default 30000)' },
  { name: 'config-refresh-ms', arg: 'MS', type: types.int(100), default: 10_000, help: 'how often per-stream config is re-read (default 10000)' },
  { name: 'access-key-id', arg: 'ID', key: false, help: 'credentials (else env KESTREL_ACCESS_KEY_ID / KESTREL_SECRET_ACCESS_KEY,\nelse AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)' },
  { name: 'secret-access-key', arg: 'SECRET', key: false, help: 'the key\'s secret (prefer the env variable: flags show in `ps`)' },
  ...DESTINATION_OPTIONS,
];

export const WORKER_USAGE = `kestrel worker --endpoint URL [--state-dir ./detect-state] [--discovery-interval-ms 30000]
               [--config-refresh-ms 10000] [--detect-config FILE]
               [--webhook-url URL] [--mqtt-url URL] [--snapshots s3://bucket/prefix --s3-endpoint URL]
  Runs person detection on every stream of a Kestrel (or KVS) endpoint through the public API
  (ListStreams + GetMedia), until SIGINT/SIGTERM. Checkpoints, the event store (events.sqlite), the
  webhook outbox and local snapshots live in --state-dir (env KESTREL_WORKER_STATE_DIR).
  Per-stream config: --detect-config, under the endpoint's API overrides (re-read every --config-refresh-ms).
  Env: AWS_REGION (default us-east-1), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
${optionsUsage(WORKER_OPTIONS)}`;

export interface WorkerSettings {
  endpoint: string;
  stateDir: string;
  discoveryIntervalMs: number;
  configRefreshMs: number;
  configFile?: string;
  destinations: DetectionDestinations;
  clientConfig: KinesisVideoClientConfig;
}

/** Worker settings from flags and env (flags win); throws UsageError on bad values. */
export function parseWorkerArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): WorkerSettings {
  let opts;
  try {
    opts = resolveOptions(WORKER_OPTIONS, argv, env);
  } catch (err) {
    // A missing or malformed endpoint gets the one message users need.
    if (err instanceof UsageError && /^(--endpoint|KESTREL_ENDPOINT) (needs|must)/.test(err.message)) throw new UsageError('--endpoint URL is required');
    throw err;
  }
  if (opts.positionals.length) throw new UsageError(`unexpected argument "${opts.positionals[0]}"`);
  const endpoint = opts.string('endpoint');
  if (!endpoint) throw new UsageError('--endpoint URL is required');
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
  const configFile = detectConfigFrom(opts);
  return {
    endpoint,
    stateDir: path.resolve(opts.string('state-dir')!),
    discoveryIntervalMs: opts.number('discovery-interval-ms')!,
    configRefreshMs: opts.number('config-refresh-ms')!,
    ...(configFile ? { configFile: path.resolve(configFile) } : {}),
    destinations: destinationsFrom(opts, env),
    clientConfig: {
      endpoint,
      region,
      credentials: credentialsFrom(opts.string('access-key-id'), opts.string('secret-access-key'), env),
    },
  };
}

export async function worker(argv: readonly string[]): Promise<void> {
  const s = parseWorkerArgs(argv);
  const { endpoint, stateDir, destinations, clientConfig } = s;
  const log = createLogger();

  fs.mkdirSync(stateDir, { recursive: true });
  const db = openSqlite(path.join(stateDir, 'events.sqlite'));
  const work = createWorkStores({ kind: 'sqlite', db, dataDir: stateDir, legacyCheckpointsFile: 'checkpoints.json', onLog: (line) => log.info(line) });
  const store = work.events;
  const outputs = await buildDetectionOutputs({ outbox: work.outbox, secrets: work.secrets, stateDir, destinations, log: log.child({ component: 'detect' }) });
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
  const onLog = (line: string) => log.info(line);
  const file = s.configFile ? new DetectConfigFile(s.configFile, (line) => log.warn(line)) : undefined;
  const resolver = new DetectConfigResolver(file ? { file } : {});
  const remote = new RemoteDetectConfigOverrides(endpoint, (line) => log.warn(line), 5000, { credentials: clientConfig.credentials as Credentials, region: clientConfig.region as string });
  const w = await startDetectionWorker({
    source: new GetMediaSource({ clientConfig, onError: (err) => log.warn({ err: (err as Error).message }, 'GetMedia failed; retrying') }),
    detector,
    sink,
    checkpoints: work.checkpoints,
    streams: listStreamsViaSdk(clientConfig),
    discoveryIntervalMs: s.discoveryIntervalMs,
    config: async (stream) => resolver.partial(stream, await remote.get(stream)),
    configRefreshMs: s.configRefreshMs,
    onLog,
  });
  log.info({ endpoint, stateDir, streams: w.streams, configFile: s.configFile ?? null, webhook: destinations.webhookUrl ?? null, mqtt: destinations.mqttUrl ?? null, snapshots: destinations.snapshots ?? 'local' }, 'detection worker running');

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
