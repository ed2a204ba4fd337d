import type { DetectionEvent } from '../events/types.ts';

/**
 * Something downstream of a detection event. `publish` resolves once the notifier has accepted the
 * event (for the webhook: durably queued, not delivered). It may reject; the fan-out isolates that.
 */
export interface Notifier {
  readonly name: string;
  publish(event: DetectionEvent): Promise<void>;
  close?(): Promise<void>;
}
