/**
 * The job's view of the event store: messages are marked with the job id and held in memory until the
 * runner commits them together with the job checkpoint (one transaction in the JobStore), so a job
 * interrupted mid-fragment neither repeats nor loses an event when it resumes.
 */
import { foldEvent, type EventPage, type EventStore, type ListEventsQuery, type StoredEvent, type StoredEventWithHistory } from '../events/event-store.ts';
import type { DetectionEvent } from '../events/types.ts';

export class BufferedJobEvents implements EventStore {
  private pending: DetectionEvent[] = [];

  constructor(
    private readonly inner: EventStore,
    private readonly jobId: string,
  ) {}

  async record(event: DetectionEvent): Promise<StoredEvent> {
    const ev: DetectionEvent = { ...event, jobId: this.jobId };
    const prev = await this.get(ev.id);
    this.pending.push(ev);
    return foldEvent(prev, ev);
  }

  async hasMessage(ev: DetectionEvent): Promise<boolean> {
    const same = (m: DetectionEvent) => m.id === ev.id && m.type === ev.type && m.serverTimestamp === ev.serverTimestamp && m.frameTime === ev.frameTime;
    return this.pending.some(same) || (await this.inner.hasMessage(ev));
  }

  /** The stored event with the held messages folded in. */
  async get(id: string): Promise<StoredEventWithHistory | undefined> {
    let cur = await this.inner.get(id);
    for (const ev of this.pending) {
      if (ev.id !== id) continue;
      cur = { ...foldEvent(cur, ev), history: [...(cur?.history ?? []), ev] };
    }
    return cur;
  }

  list(query: ListEventsQuery): Promise<EventPage> {
    return this.inner.list(query);
  }

  /** Hands over the held messages (the JobStore records them inside its checkpoint transaction). */
  take(): DetectionEvent[] {
    const held = this.pending;
    this.pending = [];
    return held;
  }
}
