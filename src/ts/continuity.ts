/**
 * MPEG-TS continuity counters (4 bits per PID, +1 for every packet with payload). A session keeps
 * one state across its segments so that consecutive segments continue each other's counters.
 */
export class TsContinuityState {
  private readonly counters: Map<number, number>;

  /** `initial`: next counter per PID, e.g. from snapshot() of an earlier request. */
  constructor(initial: Iterable<readonly [number, number]> = []) {
    this.counters = new Map([...initial].map(([pid, cc]) => [pid, cc & 0x0f] as [number, number]));
  }

  /** The counter for the next packet of `pid`; advances it. */
  next(pid: number): number {
    const cc = this.counters.get(pid) ?? 0;
    this.counters.set(pid, (cc + 1) & 0x0f);
    return cc;
  }

  /** Next counter per PID, to persist between requests. */
  snapshot(): Array<[number, number]> {
    return [...this.counters];
  }
}
