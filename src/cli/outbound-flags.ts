/** `kestrel serve` flags for outbound calls: the allow-list and the KVS delivery endpoints (flags override env). */
import type { KvsDeliverySettings } from '../kvs-delivery/kvs-delivery.ts';
import { parseDestinationPatterns } from '../outbound/destination-patterns.ts';
import type { OutboundSettings } from '../outbound/outbound.ts';
import { UsageError, type ParsedArgs } from './args.ts';
import { flagOrEnv } from './destinations.ts';

export const OUTBOUND_USAGE = `  Outbound calls (docs/SECURITY.md "Outbound calls and allow-lists"):
    --allow-destination PATTERN  repeatable; destinations a client may set through the API (notification and
                                 image generation DestinationConfig.Uri) must match one, e.g. "https://hooks.example.com/*"
                                 (env KESTREL_ALLOW_DESTINATIONS, comma-separated). Private, loopback and metadata
                                 addresses are refused unless a pattern names the address: "http://10.0.0.5:8080/*"
    --sns-endpoint URL    SNS endpoint for notification topic ARNs (env KESTREL_SNS_ENDPOINT; default AWS)
    --s3-endpoint URL     also the S3 endpoint for KVS image generation (default AWS)
    --mqtt-url URL        also mirrors KVS notifications to kestrel/kvs-notifications/<stream>`;

/** Every value of a repeatable flag (`--name v` or `--name=v`), in order. */
export function repeatedFlag(argv: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === `--${name}` || a === `-${name}`) {
      const v = argv[i + 1];
      if (v === undefined) throw new UsageError(`--${name} needs a value`);
      out.push(v);
      i++;
    } else if (a.startsWith(`--${name}=`) || a.startsWith(`-${name}=`)) {
      out.push(a.slice(a.indexOf('=') + 1));
    }
  }
  return out;
}

/** `--allow-destination` (repeatable) else KESTREL_ALLOW_DESTINATIONS; each pattern checked now. */
export function outboundFlags(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): OutboundSettings | undefined {
  const flags = repeatedFlag(argv, 'allow-destination');
  const values = flags.length > 0 ? flags : env.KESTREL_ALLOW_DESTINATIONS ? [env.KESTREL_ALLOW_DESTINATIONS] : [];
  try {
    parseDestinationPatterns(values);
  } catch (err) {
    throw new UsageError(`--allow-destination: ${(err as Error).message}`);
  }
  const allowDestinations = values.flatMap((v) => v.split(',')).map((p) => p.trim()).filter((p) => p !== '');
  return allowDestinations.length > 0 ? { allowDestinations } : undefined;
}

/** Operator-set endpoints for KVS image generation and notifications (trusted: no allow-list). */
export function kvsDeliveryFlags(args: ParsedArgs, env: NodeJS.ProcessEnv = process.env): KvsDeliverySettings | undefined {
  const settings: KvsDeliverySettings = {};
  const url = (flag: string, envName: string, schemes: RegExp, what: string): string | undefined => {
    const v = flagOrEnv(args, flag, env, envName);
    if (v === undefined) return undefined;
    if (!URL.canParse(v) || !schemes.test(new URL(v).protocol)) throw new UsageError(`--${flag} must be ${what}, not "${v}"`);
    return v;
  };
  const sns = url('sns-endpoint', 'KESTREL_SNS_ENDPOINT', /^https?:$/, 'an http:// or https:// URL');
  const s3 = url('s3-endpoint', 'KESTREL_S3_ENDPOINT', /^https?:$/, 'an http:// or https:// URL');
  const mqtt = url('mqtt-url', 'KESTREL_MQTT_URL', /^(mqtts?|wss?|tcp|ssl|tls):$/, 'mqtt://, mqtts://, ws:// or wss://');
  if (sns) settings.snsEndpoint = sns;
  if (s3) settings.s3Endpoint = s3;
  if (mqtt) settings.mqttUrl = mqtt;
  return Object.keys(settings).length > 0 ? settings : undefined;
}
