/** The detection option rows shared by `serve --detect` and `worker`, and what they resolve to. */
import type { DetectionDestinations } from '../app-detection.ts';
import { DetectConfigFile } from '../detect/detect-config-file.ts';
import { parseSnapshotDestination } from '../notify/snapshot-store.ts';
import { types, type OptionSpec, type ResolvedOptions } from './options.ts';
import { UsageError } from './usage-error.ts';

export const DESTINATION_OPTIONS: readonly OptionSpec[] = [
  { name: 'webhook-url', env: 'KESTREL_WEBHOOK_URL', arg: 'URL', type: types.url(['http:', 'https:']),
    help: 'POST every event as JSON, signed (secret KESTREL_WEBHOOK_SECRET,\ndefault a random secret stored in <data or state dir>/webhook-secret)' },
  { name: 'webhook-secret', env: 'KESTREL_WEBHOOK_SECRET', cli: false, help: 'HMAC key for the webhook signature (no flag: a command line shows in ps)' },
  { name: 'mqtt-url', env: 'KESTREL_MQTT_URL', arg: 'URL', type: types.url(['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:', 'ssl:', 'tls:']),
    help: 'publish to kestrel/events, kestrel/<stream>/events' },
  { name: 'snapshots', env: 'KESTREL_SNAPSHOTS', arg: 'DEST', help: 's3://bucket/prefix, a folder, or local (default <dir>/snapshots)' },
  { name: 's3-endpoint', env: 'KESTREL_S3_ENDPOINT', arg: 'URL', type: types.url(),
    help: 'S3-compatible endpoint (--media, snapshots, image generation); credentials and region from\nAWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION' },
  { name: 'detect-config', env: 'KESTREL_DETECT_CONFIG', arg: 'FILE',
    help: 'per-stream detection settings, JSON { "defaults": {...}, "streams": { "cam*": {...} } }\n(see docs/DETECTION.md); API overrides win over it' },
];

/** The destinations, checked together (snapshot destination syntax; --s3-endpoint also serves KVS image generation). */
export function destinationsFrom(opts: ResolvedOptions, env: NodeJS.ProcessEnv = process.env): DetectionDestinations {
  const d: DetectionDestinations = {};
  const set = (name: string, key: 'webhookUrl' | 'webhookSecret' | 'mqttUrl' | 'snapshots' | 's3Endpoint') => {
    const v = opts.string(name);
    if (v !== undefined) d[key] = v;
  };
  set('webhook-url', 'webhookUrl');
  set('webhook-secret', 'webhookSecret');
  set('mqtt-url', 'mqttUrl');
  set('snapshots', 'snapshots');
  set('s3-endpoint', 's3Endpoint');
  let dest;
  try {
    dest = parseSnapshotDestination(d.snapshots);
  } catch (err) {
    throw new UsageError(`--snapshots: ${(err as Error).message}`);
  }
  if (dest.kind === 's3') {
    const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
    if (region && !dest.region) d.s3Region = region;
  }

  return d;
}

/** `--detect-config FILE`, checked now (a missing or bad file is a usage error). */
export function detectConfigFrom(opts: ResolvedOptions): string | undefined {
  const file = opts.string('detect-config');
  if (file === undefined) return undefined;
  try {
    new DetectConfigFile(file);
  } catch (err) {
    throw new UsageError(`--detect-config: ${(err as Error).message}`);
  }
  return file;
}
