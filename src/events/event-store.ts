import type { DetectionBox, DetectionEvent, DetectionEventType, DetectionLabel, SnapshotLinks, StreamRef } from './types.ts';

/** One tracked person, folded from its start/update/end messages. */
export interface StoredEvent {
  id: string;
  stream: StreamRef;
  label: DetectionLabel;
  trackId: string;
  /** Producer ms of the first frame (from the first message seen). */
  startTime: number;
  /** Producer ms of the last frame once ended, else null. */
  endTime: number | null;
  /** Type of the newest message. */
  state: DetectionEventType;
  topScore: number;
  box: DetectionBox;
  zone: string | null;
  fragmentNumbers: string[];
  snapshot: SnapshotLinks | null;
  /** Server ms of the newest message applied. */
  updatedAt: number;
  /** The newest message as received. */
  latest: DetectionEvent;
  /** Batch analysis job that produced the event; absent for live detection. */
  jobId?: string;
}

export interface StoredEventWithHistory extends StoredEvent {
  /** Every distinct message for this event, in arrival order. */
  history: DetectionEvent[];
}

export interface ListEventsQuery {
  /** Required unless `job` is given. */
  stream?: string;
  /** Only this batch job's events; absent = live detection events only. */
  job?: string;
  /** Inclusive lower bound on startTime (ms). */
  from?: number;
  /** Exclusive upper bound on startTime (ms). */
  to?: number;
  /** Page size, 1..1000 (default 100). */
  limit?: number;
  /** Opaque cursor from a previous page's `nextToken`. */
  nextToken?: string;
  /** Oldest first (default) or newest first. */
  order?: 'asc' | 'desc';
}

export interface EventPage {
  events: StoredEvent[];
  nextToken?: string;
}

/**
 * Detection events, a port: SqliteEventStore (embedded, the server's index db) and PgEventStore
 * (`--index postgres://`); test/support/event-store-contract.ts runs against both.
 */
export interface EventStore {
  /** Upserts by `event.id`: folds the message into the event and appends it to the history (a duplicate message is ignored). */
  record(event: DetectionEvent): Promise<StoredEvent>;
  /** True when this exact message (event, type, times) was recorded before, e.g. by a run that was killed. */
  hasMessage(event: DetectionEvent): Promise<boolean>;
  get(id: string): Promise<StoredEventWithHistory | undefined>;
  list(query: ListEventsQuery): Promise<EventPage>;
}

/** What one `record` did: the folded event and whether the event (not just the message) is new. */
export interface RecordOutcome {
  event: StoredEvent;
  created: boolean;
}

/** Page size asked for, clamped to 1..1000 (default 100). */
export function pageLimit(query: ListEventsQuery): number {
  return Math.min(1000, Math.max(1, Math.floor(query.limit ?? 100)));
}

/**
 * Pure fold of one message into the event. Messages may arrive out of order on retry: the state
 * only moves forward (an `update` after `end` does not reopen), scores/fragments accumulate.
 */
export function foldEvent(prev: StoredEvent | undefined, ev: DetectionEvent): StoredEvent {
  const fragments = [...(prev?.fragmentNumbers ?? [])];
  for (const f of [...ev.fragmentNumbers, ev.after.fragmentNumber]) if (f && !fragments.includes(f)) fragments.push(f);
  const ended = prev?.state === 'end';
  const newer = !prev || (!ended && ev.serverTimestamp >= prev.updatedAt) || ev.type === 'end';
  const startTime = Math.min(prev?.startTime ?? Infinity, ev.after.startTime);
  return {
    id: ev.id,
    stream: ev.stream,
    label: ev.label,
    trackId: ev.trackId,
    startTime: Number.isFinite(startTime) ? startTime : ev.frameTime,
    endTime: ev.type === 'end' ? (ev.after.endTime ?? ev.frameTime) : (prev?.endTime ?? null),
    state: ended ? 'end' : ev.type === 'end' ? 'end' : prev && ev.type === 'start' ? prev.state : ev.type,
    topScore: Math.max(prev?.topScore ?? 0, ev.score, ev.after.topScore),
    box: newer ? ev.box : (prev?.box ?? ev.box),
    zone: newer ? ev.zone : (prev?.zone ?? ev.zone),
    fragmentNumbers: fragments,
    snapshot: ev.snapshot ?? prev?.snapshot ?? null,
    updatedAt: Math.max(prev?.updatedAt ?? 0, ev.serverTimestamp),
    latest: newer ? ev : (prev?.latest ?? ev),
    ...(ev.jobId ?? prev?.jobId ? { jobId: ev.jobId ?? prev?.jobId } : {}),
  };
}

/** Cursor = position after the last row of the page (keyset pagination on startTime, id). */
export function encodeCursor(startTime: number, id: string): string {
  return Buffer.from(JSON.stringify([startTime, id])).toString('base64url');
}

export function decodeCursor(token: string): { startTime: number; id: string } {
  try {
    const v: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'string') return { startTime: v[0], id: v[1] };
  } catch {
    // fall through
  }
  throw new Error('invalid nextToken');
}
