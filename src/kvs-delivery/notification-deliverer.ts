/**
 * KVS fragment notifications: SNS topic ARN → Publish with the real SNS client (endpoint
 * overridable); http(s) URL (Kestrel extension) → SNS HTTP-subscription-shaped POST through the
 * persisted webhook outbox (retries, dead letters); plus a copy on MQTT when a broker is configured.
 */
import { randomUUID } from 'node:crypto';
import { PublishCommand, SNSClient, type SNSClientConfig } from '@aws-sdk/client-sns';
import type { NotificationConfiguration } from '../control/media-configs.ts';
import type { BackoffOptions } from '../notify/backoff.ts';
import { MqttNotifier } from '../notify/mqtt-notifier.ts';
import type { DeadLetter, Outbox } from '../notify/outbox.ts';
import { WebhookNotifier } from '../notify/webhook-notifier.ts';
import { awsOutcome, type Outbound } from '../outbound/outbound.ts';
import type { Logger } from '../shared/logger.ts';
import type { FragmentRecord, StreamRecord } from '../store/types.ts';
import { fragmentNotification, notificationMqttTopic, notificationTarget, snsHttpNotification, syntheticTopicArn } from './notification-plan.ts';

export interface SnsSettings {
  /** Operator-set (`--sns-endpoint`): trusted. Without it the client talks to AWS through the guarded agent. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export interface HttpRetrySettings extends BackoffOptions {
  /** Attempts before a delivery is dead-lettered (default 10). */
  maxAttempts?: number;
  /** Per attempt, connect to last byte (default 10 s). */
  timeoutMs?: number;
}


export interface NotificationDelivererDeps {
  region: string;
  accountId: string;
  sns: SnsSettings;
  /** Durable queue for http(s) destinations (the work stores' Outbox: SQLite or PostgreSQL). */
  outbox: Outbox;
  /** Shared outbox (several nodes): this node's stable id, the owner of the lanes it leases. */
  nodeId?: string;
  /** HMAC key for X-Kestrel-Signature on http(s) deliveries (read on first use). */
  webhookSecret: () => Promise<string>;
  httpRetry?: HttpRetrySettings;
  mqttUrl?: string;
  /** Timeouts and the allow-list for API-set destinations (src/outbound/). */
  outbound: Outbound;
  log: Logger;
}

export type NotificationResult = 'sns' | 'http' | 'unsupported' | 'refused';

export class NotificationDeliverer {
  private readonly sns = new Map<string, SNSClient>();
  private readonly webhooks = new Map<string, WebhookNotifier>();
  private readonly mqtt: MqttNotifier | undefined;
  private secret: Promise<string> | undefined;

  constructor(private readonly deps: NotificationDelivererDeps) {
    if (deps.mqttUrl) {
      this.mqtt = new MqttNotifier({ url: deps.mqttUrl, connectTimeoutMs: deps.outbound.connectTimeoutMs, logger: deps.log.child({ component: 'kvs-notify-mqtt' }) });
    }
  }

  async deliver(stream: StreamRecord, fragment: FragmentRecord, config: NotificationConfiguration): Promise<NotificationResult> {
    const target = notificationTarget(config.DestinationConfig.Uri);
    if (target.kind === 'unsupported') {
      this.deps.log.warn({ stream: stream.name, uri: target.uri }, 'notification destination is neither an SNS topic ARN nor an http(s) URL; skipped');
      return 'unsupported';
    }
    // Checked again at delivery: the allow-list may have changed since the configuration was stored.
    const verdict = this.deps.outbound.policy.checkApiDestination(config.DestinationConfig.Uri);
    if (!verdict.ok) {
      this.deps.outbound.count('refused_pattern');
      this.deps.log.warn({ stream: stream.name, reason: verdict.reason }, 'kvs notification: destination not allowed; skipped');
      return 'refused';
    }
    const message = fragmentNotification(stream.arn, fragment);
    const topicArn = target.kind === 'sns' ? target.topicArn : syntheticTopicArn(this.deps.region, this.deps.accountId);
    const envelope = snsHttpNotification({ messageId: randomUUID(), topicArn, message, timestampMs: Date.now() });
    // Not awaited: mqtt.js queues while the broker is away, which must not hold up the next fragment.
    this.mqtt?.client
      .publishAsync(notificationMqttTopic(stream.name), JSON.stringify(envelope), { qos: 1 })
      .catch((err: unknown) => this.deps.log.warn({ err, stream: stream.name }, 'kvs notification: MQTT publish failed'));
    if (target.kind === 'sns') {
      const publish = new PublishCommand({ TopicArn: target.topicArn, Subject: message.Subject, Message: message.Message });
      try {
        await this.snsClient(target.region).send(publish, { abortSignal: this.deps.outbound.awsCallSignal() });
        this.deps.outbound.count('ok');
      } catch (err) {
        this.deps.outbound.count(awsOutcome(err));
        throw err;
      }
    } else {
      await (await this.webhook(target.url, topicArn)).publishRaw(stream.name, fragment.fragmentNumber, JSON.stringify(envelope));
    }
    return target.kind;
  }

  /** Re-creates the http(s) senders of `urls` so deliveries left in the outbox by a previous run resume. */
  async resume(urls: Iterable<string>): Promise<void> {
    for (const url of urls) {
      const t = notificationTarget(url);
      if (t.kind === 'http') await this.webhook(t.url, syntheticTopicArn(this.deps.region, this.deps.accountId));
    }
  }

  /** Resolves when every http(s) outbox lane is empty (tests, shutdown). */
  async httpIdle(): Promise<void> {
    await Promise.all([...this.webhooks.values()].map((w) => w.idle()));
  }

  /** Abandoned http(s) deliveries (attempts used up, or refused), per destination URL. */
  async httpDeadLetters(): Promise<Map<string, DeadLetter[]>> {
    return new Map(await Promise.all([...this.webhooks].map(async ([url, w]) => [url, await w.deadLetters()] as const)));
  }

  async waitMqttConnected(timeoutMs?: number): Promise<void> {
    await this.mqtt?.waitConnected(timeoutMs);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.webhooks.values()].map((w) => w.close()));
    for (const c of this.sns.values()) c.destroy();
    await this.mqtt?.close().catch(() => undefined);
  }

  private snsClient(region: string): SNSClient {
    let c = this.sns.get(region);
    if (!c) {
      const trusted = this.deps.sns.endpoint !== undefined;
      const cfg: SNSClientConfig = { region, requestHandler: this.deps.outbound.awsRequestHandler(trusted ? 'operator' : 'api'), maxAttempts: 3 };
      if (this.deps.sns.endpoint) cfg.endpoint = this.deps.sns.endpoint;
      if (this.deps.sns.credentials) cfg.credentials = this.deps.sns.credentials;
      c = new SNSClient(cfg);
      this.sns.set(region, c);
    }
    return c;
  }

  private async webhook(url: string, topicArn: string): Promise<WebhookNotifier> {
    let w = this.webhooks.get(url);
    if (w) return w;
    this.secret ??= this.deps.webhookSecret();
    this.secret.catch(() => (this.secret = undefined)); // an unreachable index: ask again next time
    const secret = await this.secret;
    w = this.webhooks.get(url); // created by a concurrent call meanwhile
    if (!w) {
      const retry = this.deps.httpRetry ?? {};
      w = new WebhookNotifier({
        url,
        name: `kvs-notification:${url}`,
        secret,
        outbox: this.deps.outbox,
        ...(this.deps.nodeId !== undefined ? { lease: { owner: this.deps.nodeId } } : {}),
        headers: { 'x-amz-sns-message-type': 'Notification', 'x-amz-sns-topic-arn': topicArn },
        ...(retry.maxAttempts !== undefined ? { maxAttempts: retry.maxAttempts } : {}),
        backoff: retry,
        ...(retry.timeoutMs !== undefined ? { timeoutMs: retry.timeoutMs } : {}),
        transport: this.deps.outbound.sender('api'),
        logger: this.deps.log.child({ component: 'kvs-notify-http' }),
      });
      this.webhooks.set(url, w);
    }
    return w;
  }
}
