// Types of detections.js for the node unit tests (the viewer itself is plain JS, no build step).

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}
export interface NormBox {
  left: number;
  top: number;
  width: number;
  height: number;
}
/** The parts of a stored event (GET api/v1/events) the viewer uses. */
export interface EventRow {
  id: string;
  label: string;
  startTime: number;
  endTime: number | null;
  state: 'start' | 'update' | 'end';
  topScore: number;
  zone: string | null;
  fragmentNumbers: string[];
  snapshot: { clean: { key: string; url: string }; annotated?: { key: string; url: string } } | null;
  updatedAt: number;
  latest?: EventMessage;
  [k: string]: unknown;
}
/** The parts of a live start/update/end message the viewer uses. */
export interface EventMessage {
  id: string;
  type: 'start' | 'update' | 'end';
  label: string;
  score: number;
  box: { normalized: NormBox };
  zone: string | null;
  fragmentNumbers: string[];
  producerTimestamp: number;
  serverTimestamp: number;
  frameTime: number;
  snapshot: EventRow['snapshot'];
  after: {
    score: number;
    topScore: number;
    box: { normalized: NormBox };
    startTime: number;
    endTime: number | null;
    frameTime: number;
    fragmentNumber: string;
    label?: string;
  };
  [k: string]: unknown;
}
export interface BoxState {
  id: string;
  label: string;
  score: number;
  box: NormBox;
  t: number;
  ended?: boolean;
}

export const BOX_LEAD_MS: number;
export const BOX_HOLD_MS: number;
export function containRect(boxW: number, boxH: number, videoW: number, videoH: number): Rect;
export function boxToRect(norm: NormBox, rect: Rect): Rect;
export function isMessage(x: unknown): x is EventMessage;
export function foldMessage(prev: EventRow | undefined, msg: EventMessage): EventRow;
export function compareNewestFirst(a: EventRow, b: EventRow): number;
export function mergeEvent(list: readonly EventRow[], item: EventRow | EventMessage): EventRow[];
export function snapshotSrc(snapshot: EventRow['snapshot'] | undefined): string | null;

export class StreamClock {
  constructor(opts?: { sampleWindowMs?: number });
  setFragments(frags: ReadonlyArray<{ n: string; t: number; p?: number }> | null): void;
  observe(msg: Pick<EventMessage, 'serverTimestamp' | 'frameTime'> | undefined): void;
  offset(): number | null;
  toServer(producerMs: number, fragmentNumber?: string): number;
  eventStart(ev: EventRow): number;
  eventEnd(ev: EventRow): number | null;
}

export class TrackBuffer {
  constructor(opts?: { lead?: number; hold?: number; keepMs?: number });
  add(state: BoxState): void;
  clear(): void;
  readonly size: number;
  visible(playingMs: number): Array<Omit<BoxState, 'ended'>>;
}

export function messageState(msg: EventMessage, clock: StreamClock): BoxState;
