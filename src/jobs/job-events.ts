/**
 * The job's view of the event store: messages are marked with the job id and held in memory until the
 * runner commits them together with the job checkpoint (one SQLite transaction), so a job interrupted
 * mid-fragment neither repeats nor loses an event when it resumes.
 */
import { foldEvent, type EventPage, type EventStore, type ListEventsQuery, type StoredEvent, type StoredEventWithHistory } from '../events/event-store.ts';
import type { DetectionEvent } from '../events/types.ts';

export class BufferedJobEvents implements EventStore {
  private pending: DetectionEvent[] = [];

  constructor(
    private readonly inner: EventStore,
    private readonly jobId: string,
  ) {}

  record(event: DetectionEvent): StoredEvent {
    const ev: DetectionEvent = { ...event, jobId: this.jobId };
    const prev = this.get(ev.id);
    this.pending.push(ev);
    return foldEvent(prev, ev);
  }

  hasMessage(ev: DetectionEvent): boolean {
    const same = (m: DetectionEvent) => m.id === ev.id && m.type === ev.type && m.serverTimestamp === ev.serverTimestamp && m.frameTime === ev.frameTime;
    return this.inner.hasMessage(ev) || this.pending.some(same);
  }

  /** The stored event with the held messages folded in. */
  get(id: string): StoredEventWithHistory | undefined {
    let cur = this.inner.get(id);
    for (const ev of this.pending) {
      if (ev.id !== id) continue;
      cur = { ...foldEvent(cur, ev), history: [...(cur?.history ?? []), ev] };
    }
    return cur;
  }

  list(query: ListEventsQuery): EventPage {
    return this.inner.list(query);
  }

  /** Records the held messages in the real store (call inside the checkpoint transaction); returns how many events are new. */
  flush(): number {
    const held = this.pending;
    this.pending = [];
    let added = 0;
    const seen = new Set<string>();
    for (const ev of held) {
      if (!seen.has(ev.id) && !this.inner.get(ev.id)) added++;
      seen.add(ev.id);
      this.inner.record(ev);
    }
    return added;
  }
}
