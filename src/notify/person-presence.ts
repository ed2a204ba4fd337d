import type { DetectionEvent } from '../events/types.ts';

/** Retained per-stream state published on `kestrel/<stream>/person`. */
export interface PresenceState {
  count: number;
  /** trackIds of people currently tracked, in order of appearance. */
  active: string[];
  /** ms epoch of the last change. */
  updated: number;
}

/** Pure bookkeeping of who is in view per stream. */
export class PersonPresence {
  private readonly byStream = new Map<string, string[]>();

  /** Applies the event; returns the stream's new state. */
  apply(event: DetectionEvent, now: number): PresenceState {
    const active = this.byStream.get(event.stream.name) ?? [];
    const next = event.type === 'end' ? active.filter((t) => t !== event.trackId) : active.includes(event.trackId) ? active : [...active, event.trackId];
    this.byStream.set(event.stream.name, next);
    return { count: next.length, active: [...next], updated: now };
  }

  state(stream: string, now: number): PresenceState {
    const active = this.byStream.get(stream) ?? [];
    return { count: active.length, active: [...active], updated: now };
  }
}
