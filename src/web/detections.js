// Pure helpers for detection events in the viewer: no DOM, no fetch, so node unit tests import them
// (test/unit/web/detections.test.ts). Events arrive as stored events (GET api/v1/events: one row per
// tracked person) or as live messages (SSE: start/update/end with `before`/`after`).

/** Show a box from this long before its frame time… */
export const BOX_LEAD_MS = 1000;
/** …until this long after it (or until its track ends). */
export const BOX_HOLD_MS = 2000;

// ---- geometry ----

/** Where a video of videoW×videoH is drawn inside a box of boxW×boxH with object-fit: contain. */
export function containRect(boxW, boxH, videoW, videoH) {
  if (!(boxW > 0 && boxH > 0)) return { x: 0, y: 0, width: 0, height: 0 };
  if (!(videoW > 0 && videoH > 0)) return { x: 0, y: 0, width: boxW, height: boxH };
  const scale = Math.min(boxW / videoW, boxH / videoH);
  const width = videoW * scale;
  const height = videoH * scale;
  return { x: (boxW - width) / 2, y: (boxH - height) / 2, width, height };
}

/** A normalised box (0..1 of the frame, Rekognition style) in pixels of the displayed video rect. */
export function boxToRect(norm, rect) {
  const c = (v) => Math.min(1, Math.max(0, Number(v) || 0));
  const left = c(norm.left);
  const top = c(norm.top);
  const right = c(left + c(norm.width));
  const bottom = c(top + c(norm.height));
  return { x: rect.x + left * rect.width, y: rect.y + top * rect.height, width: (right - left) * rect.width, height: (bottom - top) * rect.height };
}

// ---- the event list ----

/** True for a live start/update/end message (as opposed to a stored event row). */
export const isMessage = (x) => Boolean(x && typeof x === 'object' && 'after' in x && 'type' in x);

/**
 * Folds a live message into the stored-event shape the list shows (mirrors the server's fold:
 * the state only moves forward, the best score and the fragment list accumulate).
 */
export function foldMessage(prev, msg) {
  const fragments = [...(prev?.fragmentNumbers ?? [])];
  for (const f of [...(msg.fragmentNumbers ?? []), msg.after?.fragmentNumber]) if (f && !fragments.includes(f)) fragments.push(f);
  const ended = prev?.state === 'end';
  const newer = !prev || (!ended && msg.serverTimestamp >= prev.updatedAt) || msg.type === 'end';
  const startTime = Math.min(prev?.startTime ?? Infinity, msg.after?.startTime ?? Infinity);
  return {
    id: msg.id,
    stream: msg.stream,
    label: msg.label,
    trackId: msg.trackId,
    startTime: Number.isFinite(startTime) ? startTime : msg.frameTime,
    endTime: msg.type === 'end' ? (msg.after?.endTime ?? msg.frameTime) : (prev?.endTime ?? null),
    state: ended || msg.type === 'end' ? 'end' : prev && msg.type === 'start' ? prev.state : msg.type,
    topScore: Math.max(prev?.topScore ?? 0, msg.score ?? 0, msg.after?.topScore ?? 0),
    box: newer ? msg.box : (prev?.box ?? msg.box),
    zone: newer ? msg.zone : (prev?.zone ?? msg.zone),
    fragmentNumbers: fragments,
    snapshot: msg.snapshot ?? prev?.snapshot ?? null,
    updatedAt: Math.max(prev?.updatedAt ?? 0, msg.serverTimestamp ?? 0),
    latest: newer ? msg : (prev?.latest ?? msg),
  };
}

/** Newest first: start time, then id (the server's keyset order, reversed). */
export function compareNewestFirst(a, b) {
  return b.startTime - a.startTime || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/**
 * Merges a stored event or a live message into `list` (newest first); returns a new array. A row
 * from a page that is older than what the feed already told us (updatedAt) does not win.
 */
export function mergeEvent(list, item) {
  const i = list.findIndex((e) => e.id === item.id);
  const prev = i >= 0 ? list[i] : undefined;
  let next;
  if (isMessage(item)) next = foldMessage(prev, item);
  else if (!prev) next = item;
  else if (prev.state === 'end' && item.state !== 'end') next = prev;
  else next = item.updatedAt >= prev.updatedAt || item.state === 'end' ? item : prev;
  const out = i >= 0 ? list.filter((_, j) => j !== i) : [...list];
  // Insert in order (lists are short; pages arrive sorted, so this is usually the front or the end).
  let at = out.findIndex((e) => compareNewestFirst(next, e) < 0);
  if (at < 0) at = out.length;
  out.splice(at, 0, next);
  return out;
}

/** The image to show for an event: annotated (boxes drawn) when there is one. Local keys stay relative. */
export function snapshotSrc(snapshot) {
  const url = snapshot?.annotated?.url ?? snapshot?.clean?.url;
  if (!url) return null;
  return url.startsWith('/snapshots/') ? url.slice(1) : url;
}

// ---- producer time → server time ----

/**
 * Events carry producer times (the camera's clock); the player's PROGRAM-DATE-TIME and the timeline
 * use server timestamps. Exact when the frame's fragment is known (ListFragments gives both starts);
 * otherwise a per-stream offset: from the newest listed fragment, else the largest
 * `serverTimestamp − frameTime` seen (a frame is never before its fragment's start, so the largest
 * sample is the closest to the fragment-start offset).
 */
export class StreamClock {
  constructor({ sampleWindowMs = 60_000 } = {}) {
    this.sampleWindowMs = sampleWindowMs;
    this.frags = null;
    this.byNumber = new Map();
    this.samples = [];
  }

  /** Fragments { n, t, p } (number, server start ms, producer start ms); the same array is a no-op. */
  setFragments(frags) {
    if (frags === this.frags) return;
    this.frags = frags;
    this.byNumber = new Map();
    for (const f of frags ?? []) if (Number.isFinite(f.p)) this.byNumber.set(f.n, f);
  }

  /** A message or the `latest` message of a stored event. */
  observe(msg) {
    if (!msg || !Number.isFinite(msg.serverTimestamp) || !Number.isFinite(msg.frameTime)) return;
    this.samples.push({ at: msg.serverTimestamp, offset: msg.serverTimestamp - msg.frameTime });
    const newest = Math.max(...this.samples.map((s) => s.at));
    this.samples = this.samples.filter((s) => s.at >= newest - this.sampleWindowMs).slice(-200);
  }

  /** Offset (server − producer) for frames without a known fragment; null when nothing is known. */
  offset() {
    const last = this.frags?.findLast?.((f) => Number.isFinite(f.p));
    if (last) return last.t - last.p;
    if (!this.samples.length) return null;
    return Math.max(...this.samples.map((s) => s.offset));
  }

  toServer(producerMs, fragmentNumber) {
    const f = fragmentNumber != null ? this.byNumber.get(fragmentNumber) : undefined;
    if (f) return f.t + (producerMs - f.p);
    return producerMs + (this.offset() ?? 0);
  }

  /** Server time of a stored event's first frame. */
  eventStart(ev) {
    const first = ev.fragmentNumbers?.[0];
    if (first != null && this.byNumber.has(first)) return this.toServer(ev.startTime, first);
    const latest = ev.latest;
    const known = this.offset();
    if (known != null) return ev.startTime + known;
    return latest ? ev.startTime + (latest.serverTimestamp - latest.frameTime) : ev.startTime;
  }

  eventEnd(ev) {
    return ev.endTime == null ? null : this.eventStart(ev) + (ev.endTime - ev.startTime);
  }
}

// ---- boxes over the video ----

/**
 * Recent box states per tracked person, in server time, for the overlay: a box shows while the
 * playing time is within [t − lead, t + hold] of its frame (per track the newest state not after
 * the playing time, else the next one), and never once the track has ended at that playing time.
 */
export class TrackBuffer {
  constructor({ lead = BOX_LEAD_MS, hold = BOX_HOLD_MS, keepMs = 120_000 } = {}) {
    this.lead = lead;
    this.hold = hold;
    this.keepMs = keepMs;
    this.tracks = new Map();
    this.newest = -Infinity;
  }

  /** state: { id, label, score, box (normalised), t (server ms of the frame), ended } */
  add(state) {
    let tr = this.tracks.get(state.id);
    if (!tr) this.tracks.set(state.id, (tr = { id: state.id, label: state.label, states: [], endT: null }));
    if (!tr.states.some((s) => s.t === state.t)) {
      tr.states.push({ t: state.t, box: state.box, score: state.score });
      tr.states.sort((a, b) => a.t - b.t);
    }
    if (state.ended) tr.endT = tr.endT == null ? state.t : Math.max(tr.endT, state.t);
    this.newest = Math.max(this.newest, state.t);
    for (const [id, x] of this.tracks) if ((x.states.at(-1)?.t ?? -Infinity) < this.newest - this.keepMs) this.tracks.delete(id);
  }

  clear() {
    this.tracks.clear();
    this.newest = -Infinity;
  }

  get size() {
    return this.tracks.size;
  }

  /** Boxes to draw at `playingMs`: [{ id, label, score, box, t }]. */
  visible(playingMs) {
    if (!Number.isFinite(playingMs)) return [];
    const out = [];
    for (const tr of this.tracks.values()) {
      if (tr.endT != null && playingMs > tr.endT) continue;
      // The newest state at or before the frame on screen (a box may lag, not lead), else the
      // next one if it is less than `lead` ahead.
      let pick = null;
      for (const s of tr.states) {
        if (s.t > playingMs) {
          if (!pick && s.t - this.lead <= playingMs) pick = s;
          break;
        }
        if (playingMs - s.t <= this.hold) pick = s;
      }
      if (pick) out.push({ id: tr.id, label: tr.label, score: pick.score, box: pick.box, t: pick.t });
    }
    return out;
  }
}

/** A live message as a TrackBuffer state, with its frame time mapped to server time. */
export function messageState(msg, clock) {
  const after = msg.after ?? {};
  return {
    id: msg.id,
    label: msg.label ?? after.label ?? 'person',
    score: after.score ?? msg.score,
    box: (after.box ?? msg.box).normalized,
    t: clock.toServer(after.frameTime ?? msg.frameTime, after.fragmentNumber),
    ended: msg.type === 'end',
  };
}
