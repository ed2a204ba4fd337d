import type { DetectionEvent } from '../events/types.ts';
import { Outbound, type HttpSender } from '../outbound/outbound.ts';
import type { Logger } from '../shared/logger.ts';
import { backoffDelay, type BackoffOptions } from './backoff.ts';
import type { Notifier } from './notifier.ts';
import type { DeadLetter, Outbox, OutboxEntry } from './outbox.ts';
import { DELIVERY_HEADER, EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signBody } from './signature.ts';

export interface WebhookNotifierOptions {
  url: string;
  /** HMAC-SHA256 key for `X-Kestrel-Signature`. */
  secret: string;
  /** Durable queue; pending deliveries survive a restart when it is on a file database. */
  outbox: Outbox;
  /** Outbox lane owner; defaults to `webhook:<url>`. Keep it stable across restarts. */
  name?: string;
  /** Attempts before an entry is dead-lettered. Default 10. */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  /** Per-request timeout (connect to last byte). Default 10 s. */
  timeoutMs?: number;
  /**
   * How requests go out (src/outbound/). Default: an operator-trusted sender (timeouts, no redirects,
   * no allow-list); pass `outbound.sender('api')` for a URL a client chose through the API.
   */
  transport?: HttpSender;
  /** Extra request headers (e.g. Authorization). */
  headers?: Record<string, string>;
  /** Request body for an event; default the DetectionEvent itself (see formats.ts for Rekognition-shaped bodies). */
  body?: (event: DetectionEvent) => unknown;
  /**
   * Several nodes on one shared (PostgreSQL) outbox: send only lane heads this node has leased
   * (`Outbox.claimHeads`; `owner` stable per node), so each entry goes out from one node at a time, in
   * order. Lease default max(30 s, 3 × timeoutMs); lanes held elsewhere are looked at again every half
   * lease (entries another node enqueues are found the same way). Absent (one node): no leases.
   */
  lease?: { owner: string; durationMs?: number };
  /** Start delivering on construction (default true); otherwise call start(). */
  autoStart?: boolean;
  now?: () => number;
  random?: () => number;
  logger?: Logger;
}

/**
 * POSTs each event as JSON, signed, through a persisted outbox: `publish` only enqueues. Each stream
 * is one ordered lane (an entry blocks later ones of its stream until delivered or dead-lettered);
 * lanes of different streams run concurrently. At-least-once: receivers should dedupe on
 * `X-Kestrel-Delivery` (a request that timed out after the receiver processed it is sent again).
 */
export class WebhookNotifier implements Notifier {
  readonly name: string;
  private readonly o: Required<Pick<WebhookNotifierOptions, 'maxAttempts' | 'timeoutMs'>> & WebhookNotifierOptions;
  private readonly now: () => number;
  private readonly transport: HttpSender;
  private readonly inFlight = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private running = false;
  private idleWaiters: Array<() => void> = [];
  /** One pass over the lanes at a time (the outbox is async); a request during a pass runs another. */
  private pumping = false;
  private pumpAgain = false;

  constructor(opts: WebhookNotifierOptions) {
    this.o = { maxAttempts: 10, timeoutMs: 10_000, ...opts };
    this.name = opts.name ?? `webhook:${opts.url}`;
    this.now = opts.now ?? Date.now;
    this.transport = opts.transport ?? new Outbound().sender('operator');
    if (opts.autoStart !== false) this.start();
  }

  async publish(event: DetectionEvent): Promise<void> {
    await this.publishRaw(event.stream.name, event.id, JSON.stringify(this.o.body ? this.o.body(event) : event));
  }

  /** Queues a ready JSON body that is not a DetectionEvent (e.g. a KVS fragment notification). */
  async publishRaw(stream: string, eventId: string, body: string): Promise<void> {
    await this.o.outbox.enqueue({ target: this.name, stream, eventId, body, now: this.now() });
    this.pump();
  }

  /** Resumes delivery of whatever the outbox holds. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.pump();
  }

  /** Stops scheduling and waits for requests in flight; pending entries stay in the outbox. */
  async close(): Promise<void> {
    this.running = false;
    this.clearTimer();
    await Promise.allSettled([...this.inFlight.values()]);
  }

  pendingCount(): Promise<number> {
    return this.o.outbox.pendingCount(this.name);
  }

  deadLetters(limit?: number): Promise<DeadLetter[]> {
    return this.o.outbox.deadLetters(this.name, limit);
  }

  /** Re-queues a dead letter (attempts reset) at the end of its stream's lane. */
  async retryDeadLetter(seq: number): Promise<boolean> {
    const ok = (await this.o.outbox.requeue(seq, this.now())) !== undefined;
    this.pump();
    return ok;
  }

  /** Resolves when the outbox of this notifier is empty and nothing is in flight. */
  async idle(): Promise<void> {
    if (await this.isIdle()) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private async isIdle(): Promise<boolean> {
    return this.inFlight.size === 0 && !this.pumping && (await this.pendingCount()) === 0;
  }

  private async wakeIdleWaiters(): Promise<void> {
    if (this.idleWaiters.length > 0 && (await this.isIdle())) for (const w of this.idleWaiters.splice(0)) w();
  }

  private pump(): void {
    if (!this.running) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.pumpOnce()
      .catch((err: unknown) => {
        // The outbox is unreachable (e.g. the index is down): try again shortly, entries stay queued.
        this.o.logger?.warn({ err: (err as Error).message }, 'webhook outbox unreadable; retrying');
        this.schedule(1000);
      })
      .finally(() => {
        this.pumping = false;
        if (this.pumpAgain) {
          this.pumpAgain = false;
          this.pump();
        } else {
          void this.wakeIdleWaiters().catch(() => undefined);
        }
      });
  }

  private async pumpOnce(): Promise<void> {
    const heads = await this.o.outbox.heads(this.name);
    if (!this.running) return;
    const now = this.now();
    let nextAt = Infinity;
    let mine: Set<number> | undefined;
    if (this.o.lease) {
      const leaseMs = this.o.lease.durationMs ?? Math.max(30_000, 3 * this.o.timeoutMs);
      mine = new Set((await this.o.outbox.claimHeads(this.name, this.o.lease.owner, now, leaseMs)).map((e) => e.seq));
      if (!this.running) return;
      // Lanes another node holds (or whose entries it enqueued since): look again later.
      if (heads.some((h) => h.nextAttemptAt <= now && !mine!.has(h.seq))) nextAt = now + leaseMs / 2;
    }
    for (const head of heads) {
      if (this.inFlight.has(head.stream)) continue;
      if (head.nextAttemptAt > now) {
        nextAt = Math.min(nextAt, head.nextAttemptAt);
        continue;
      }
      if (mine && !mine.has(head.seq)) continue;
      const p = this.deliver(head)
        .catch((err: unknown) => {
          // Delivered or not, the outbox could not record it: the entry stays and is sent again (at-least-once).
          this.o.logger?.warn({ seq: head.seq, err: (err as Error).message }, 'webhook outbox update failed');
          this.schedule(1000);
        })
        .finally(() => {
          this.inFlight.delete(head.stream);
          this.pump();
          void this.wakeIdleWaiters().catch(() => undefined);
        });
      this.inFlight.set(head.stream, p);
    }
    if (nextAt < Infinity) this.schedule(nextAt - now);
  }

  private schedule(delayMs: number): void {
    const at = this.now() + delayMs;
    if (this.timer && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.pump();
    }, Math.max(0, delayMs));
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private async deliver(entry: OutboxEntry): Promise<void> {
    const attempts = entry.attempts + 1;
    const result = await this.transport({
      url: this.o.url,
      method: 'POST',
      headers: {
        ...this.o.headers,
        'content-type': 'application/json',
        [SIGNATURE_HEADER]: signBody(entry.body, this.o.secret),
        [TIMESTAMP_HEADER]: String(this.now()),
        [DELIVERY_HEADER]: String(entry.seq),
        [EVENT_ID_HEADER]: entry.eventId,
        'user-agent': 'Kestrel-Webhook/1',
      },
      body: entry.body,
      timeoutMs: this.o.timeoutMs,
    });
    if (result.ok) {
      await this.o.outbox.delivered(entry.seq);
      return;
    }
    // A refused destination stays refused: dead-letter at once instead of probing it again.
    if (result.permanent || attempts >= this.o.maxAttempts) {
      await this.o.outbox.deadLetter(entry.seq, attempts, result.error, this.now());
      this.o.logger?.warn({ seq: entry.seq, eventId: entry.eventId, attempts, error: result.error, outcome: result.outcome }, 'webhook delivery dead-lettered');
      return;
    }
    const delay = backoffDelay(attempts, this.o.backoff, this.o.random);
    await this.o.outbox.failed(entry.seq, attempts, this.now() + delay, result.error);
    this.o.logger?.debug({ seq: entry.seq, attempts, error: result.error, delay }, 'webhook delivery failed; will retry');
  }
}
