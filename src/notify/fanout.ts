import type { DetectionEvent } from '../events/types.ts';
import type { Logger } from '../shared/logger.ts';
import type { Notifier } from './notifier.ts';

export interface FanoutResult {
  notifier: string;
  ok: boolean;
  error?: string;
}

/** Publishes to every notifier concurrently; one failing or slow notifier does not affect the others. */
export class Fanout implements Notifier {
  readonly name = 'fanout';

  constructor(
    private readonly notifiers: readonly Notifier[],
    private readonly logger?: Logger,
  ) {}

  async publish(event: DetectionEvent): Promise<void> {
    await this.publishAll(event);
  }

  /** Like publish, with the per-notifier outcome. Never rejects. */
  async publishAll(event: DetectionEvent): Promise<FanoutResult[]> {
    const settled = await Promise.allSettled(this.notifiers.map((n) => n.publish(event)));
    return settled.map((s, i) => {
      const notifier = this.notifiers[i]?.name ?? String(i);
      if (s.status === 'fulfilled') return { notifier, ok: true };
      const error = s.reason instanceof Error ? s.reason.message : String(s.reason);
      this.logger?.warn({ notifier, eventId: event.id, error }, 'notifier failed');
      return { notifier, ok: false, error };
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.notifiers.map((n) => n.close?.()));
  }
}
