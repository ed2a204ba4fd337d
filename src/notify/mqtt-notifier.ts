import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { DetectionEvent } from '../events/types.ts';
import type { Logger } from '../shared/logger.ts';
import type { Notifier } from './notifier.ts';
import { PersonPresence } from './person-presence.ts';

export interface MqttNotifierOptions {
  /** e.g. `mqtt://127.0.0.1:1883`. */
  url: string;
  /** Topic root, default `kestrel`. */
  topicPrefix?: string;
  username?: string;
  password?: string;
  clientId?: string;
  /** Reconnect interval (ms), default 2000. */
  reconnectPeriodMs?: number;
  /** Give up a connection attempt after this long (then reconnect later), default 10 s. */
  connectTimeoutMs?: number;
  /** Extra mqtt.js options. */
  clientOptions?: IClientOptions;
  now?: () => number;
  logger?: Logger;
}

export interface MqttTopics {
  all: string;
  stream: string;
  person: string;
}

/** Topic names for one stream (pure). */
export function mqttTopics(prefix: string, stream: string): MqttTopics {
  return { all: `${prefix}/events`, stream: `${prefix}/${stream}/events`, person: `${prefix}/${stream}/person` };
}

/**
 * Publishes each event (qos 1) to `<prefix>/events` and `<prefix>/<stream>/events`, and the retained
 * presence state to `<prefix>/<stream>/person`. mqtt.js reconnects on its own and queues publishes
 * made while offline (in memory: not persisted across a process restart; use the webhook for that).
 */
export class MqttNotifier implements Notifier {
  readonly name: string;
  readonly client: MqttClient;
  private readonly prefix: string;
  private readonly presence = new PersonPresence();
  private readonly now: () => number;
  private readonly v5: boolean;

  constructor(opts: MqttNotifierOptions) {
    this.name = `mqtt:${opts.url}`;
    this.prefix = opts.topicPrefix ?? 'kestrel';
    this.now = opts.now ?? Date.now;
    const options: IClientOptions = {
      protocolVersion: 5,
      reconnectPeriod: opts.reconnectPeriodMs ?? 2000,
      connectTimeout: opts.connectTimeoutMs ?? 10_000,
      clean: true,
      ...opts.clientOptions,
    };
    this.v5 = options.protocolVersion === 5;
    if (opts.username !== undefined) options.username = opts.username;
    if (opts.password !== undefined) options.password = opts.password;
    if (opts.clientId !== undefined) options.clientId = opts.clientId;
    this.client = mqtt.connect(opts.url, options);
    const log = opts.logger;
    this.client.on('error', (err) => log?.warn({ err: err.message }, 'mqtt error'));
    this.client.on('reconnect', () => log?.debug('mqtt reconnecting'));
    this.client.on('connect', () => log?.info({ url: opts.url }, 'mqtt connected'));
  }

  /** Resolves once connected (or rejects after `timeoutMs`). */
  waitConnected(timeoutMs = 10_000): Promise<void> {
    if (this.client.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off('connect', onConnect);
        reject(new Error('mqtt connect timeout'));
      }, timeoutMs);
      const onConnect = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.client.once('connect', onConnect);
    });
  }

  async publish(event: DetectionEvent): Promise<void> {
    const t = mqttTopics(this.prefix, event.stream.name);
    const body = JSON.stringify(event);
    const state = this.presence.apply(event, this.now());
    const props = this.v5 ? { properties: { contentType: 'application/json' } } : {};
    await Promise.all([
      this.client.publishAsync(t.all, body, { qos: 1, ...props }),
      this.client.publishAsync(t.stream, body, { qos: 1, ...props }),
      this.client.publishAsync(t.person, JSON.stringify(state), { qos: 1, retain: true, ...props }),
    ]);
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}
