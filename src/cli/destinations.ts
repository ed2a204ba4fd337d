/** The detection flags shared by `serve --detect` and `worker` (flags override env). */
import { destinationsFromEnv, type DetectionDestinations } from '../app-detection.ts';
import { DetectConfigFile } from '../detect/detect-config-file.ts';
import { parseSnapshotDestination } from '../notify/snapshot-store.ts';
import { UsageError, type ParsedArgs } from './args.ts';

export const DESTINATION_USAGE = `    --webhook-url URL     POST every event as JSON, signed (env KESTREL_WEBHOOK_URL; secret KESTREL_WEBHOOK_SECRET,
                          default a random secret stored in <data or state dir>/webhook-secret)
    --mqtt-url URL        publish to kestrel/events, kestrel/<stream>/events (env KESTREL_MQTT_URL)
    --snapshots DEST      s3://bucket/prefix, a folder, or local (default <dir>/snapshots) (env KESTREL_SNAPSHOTS)
    --s3-endpoint URL     S3-compatible endpoint (env KESTREL_S3_ENDPOINT); credentials and region from
                          AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION
    --detect-config FILE  per-stream detection settings, JSON { "defaults": {...}, "streams": { "cam*": {...} } }
                          (env KESTREL_DETECT_CONFIG; see docs/DETECTION.md); API overrides win over it`;

/** `--name value`, else the env variable, else the fallback. */
export function flagOrEnv(args: ParsedArgs, name: string, env: NodeJS.ProcessEnv, envName?: string, fallback?: string): string | undefined {
  const v = args.flags.get(name);
  if (typeof v === 'string') return v;
  if (v === true) throw new UsageError(`--${name} needs a value`);
  const e = envName !== undefined ? env[envName] : undefined;
  return e !== undefined && e !== '' ? e : fallback;
}

/** A boolean switch: `--flag` / `--flag=true|false`, else the env variable (1/true/yes/on, 0/false/no/off). */
export function switchFlag(args: ParsedArgs, name: string, env: NodeJS.ProcessEnv, envName: string): boolean {
  const v = args.flags.get(name);
  if (v === true) return true;
  const parse = (s: string, what: string) => {
    const t = s.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(t)) return true;
    if (['', '0', 'false', 'no', 'off'].includes(t)) return false;
    throw new UsageError(`${what} must be 1/true/yes/on or 0/false/no/off, not "${s}"`);
  };
  if (typeof v === 'string') return parse(v, `--${name}`);
  const e = env[envName];
  return e === undefined ? false : parse(e, envName);
}

export function destinationFlags(args: ParsedArgs, env: NodeJS.ProcessEnv = process.env): DetectionDestinations {
  const d = destinationsFromEnv(env);
  const set = (flag: string, key: 'webhookUrl' | 'mqttUrl' | 'snapshots' | 's3Endpoint') => {
    const v = flagOrEnv(args, flag, env);
    if (v !== undefined) d[key] = v;
  };
  set('webhook-url', 'webhookUrl');
  set('mqtt-url', 'mqttUrl');
  set('snapshots', 'snapshots');
  set('s3-endpoint', 's3Endpoint');
  for (const [k, v] of [['--webhook-url', d.webhookUrl], ['--mqtt-url', d.mqttUrl], ['--s3-endpoint', d.s3Endpoint]] as const) {
    if (v !== undefined && !URL.canParse(v)) throw new UsageError(`${k} must be a URL, not "${v}"`);
  }
  if (d.webhookUrl !== undefined && !/^https?:$/.test(new URL(d.webhookUrl).protocol)) throw new UsageError('--webhook-url must be http:// or https://');
  if (d.mqttUrl !== undefined && !/^(mqtts?|wss?|tcp|ssl|tls):$/.test(new URL(d.mqttUrl).protocol)) throw new UsageError('--mqtt-url must be mqtt://, mqtts://, ws:// or wss://');
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

/** `--detect-config FILE` / KESTREL_DETECT_CONFIG, checked now (a missing or bad file is a usage error). */
export function detectConfigFlag(args: ParsedArgs, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = flagOrEnv(args, 'detect-config', env, 'KESTREL_DETECT_CONFIG');
  if (file === undefined) return undefined;
  try {
    new DetectConfigFile(file);
  } catch (err) {
    throw new UsageError(`--detect-config: ${(err as Error).message}`);
  }
  return file;
}
