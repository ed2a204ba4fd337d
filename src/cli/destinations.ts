/** The detection destination flags shared by `serve --detect` and `worker` (flags override env). */
import { destinationsFromEnv, type DetectionDestinations } from '../app-detection.ts';
import { parseSnapshotDestination } from '../notify/snapshot-store.ts';
import { UsageError, stringFlag, type ParsedArgs } from './args.ts';

export const DESTINATION_USAGE = `    --webhook-url URL     POST every event as JSON, signed (env KESTREL_WEBHOOK_URL; secret KESTREL_WEBHOOK_SECRET,
                          default a random secret stored in <data or state dir>/webhook-secret)
    --mqtt-url URL        publish to kestrel/events, kestrel/<stream>/events (env KESTREL_MQTT_URL)
    --snapshots DEST      s3://bucket/prefix, a folder, or local (default <dir>/snapshots) (env KESTREL_SNAPSHOTS)
    --s3-endpoint URL     S3-compatible endpoint (env KESTREL_S3_ENDPOINT); credentials and region from
                          AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION`;

export function destinationFlags(args: ParsedArgs, env: NodeJS.ProcessEnv = process.env): DetectionDestinations {
  const d = destinationsFromEnv(env);
  const set = (flag: string, key: 'webhookUrl' | 'mqttUrl' | 'snapshots' | 's3Endpoint') => {
    const v = stringFlag(args, flag);
    if (v !== undefined) d[key] = v;
  };
  set('webhook-url', 'webhookUrl');
  set('mqtt-url', 'mqttUrl');
  set('snapshots', 'snapshots');
  set('s3-endpoint', 's3Endpoint');
  for (const [k, v] of [['--webhook-url', d.webhookUrl], ['--mqtt-url', d.mqttUrl], ['--s3-endpoint', d.s3Endpoint]] as const) {
    if (v !== undefined && !URL.canParse(v)) throw new UsageError(`${k} must be a URL`);
  }
  try {
    parseSnapshotDestination(d.snapshots);
  } catch (err) {
    throw new UsageError(`--snapshots: ${(err as Error).message}`);
  }
  return d;
}
