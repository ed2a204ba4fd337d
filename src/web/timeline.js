// Recording timeline: a canvas showing which parts of a time window have fragments (gaps stay dark),
// the play position, a hover read-out and a selected range. Click or Enter plays from a point; drag,
// or Shift+arrow keys, selects a range. Detection events show as small markers (click one to play
// it). It is a focusable slider for keyboard and screen readers.
import { clock, dateTime, duration } from './format.js';
import { h } from './dom.js';

/** Fragments further apart than this leave a visible gap. */
const GAP_MS = 1500;
const TICK_STEPS = [60e3, 5 * 60e3, 10 * 60e3, 15 * 60e3, 30 * 60e3, 3600e3, 2 * 3600e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3, 24 * 3600e3];
const TRACK_H = 44;
const AXIS_H = 22;
/** A click this close (px) to an event marker plays that event. */
const MARKER_HIT_PX = 7;

export class Timeline {
  constructor({ onSeek, onSelect, onMarker, label = 'Recording timeline' }) {
    this.onSeek = onSeek;
    this.onSelect = onSelect;
    this.onMarker = onMarker;
    this.markers = [];
    this.start = Date.now() - 3600e3;
    this.end = Date.now();
    this.frags = [];
    this.spans = [];
    this.playhead = null;
    this.selection = null;
    this.cursor = null;
    this.hover = null;
    this.canvas = h('canvas', { 'aria-hidden': 'true' });
    this.tip = h('div.tl-tip', { hidden: true });
    this.el = h(
      'div.tl-track',
      {
        tabindex: '0',
        role: 'slider',
        'aria-label': label,
        'aria-valuemin': '0',
        'aria-valuemax': '100',
        'aria-keyshortcuts': 'ArrowLeft ArrowRight Shift+ArrowLeft Shift+ArrowRight Enter Escape',
      },
      this.canvas,
      this.tip,
    );
    this.el.addEventListener('pointerdown', (e) => this.pointerDown(e));
    this.el.addEventListener('pointermove', (e) => this.pointerMove(e));
    this.el.addEventListener('pointerup', (e) => this.pointerUp(e));
    this.el.addEventListener('pointercancel', () => (this.drag = null));
    this.el.addEventListener('pointerleave', () => this.setHover(null));
    this.el.addEventListener('keydown', (e) => this.keyDown(e));
    this.el.addEventListener('focus', () => {
      this.cursor ??= this.playhead ?? this.end;
      this.draw();
    });
    this.el.addEventListener('blur', () => this.draw());
    new ResizeObserver(() => this.draw()).observe(this.el);
  }

  setWindow(startMs, endMs) {
    this.start = startMs;
    this.end = Math.max(endMs, startMs + 60e3);
    this.el.dataset.start = String(Math.round(this.start));
    this.el.dataset.end = String(Math.round(this.end));
    this.countMarkers();
    this.draw();
  }

  /** Fragments sorted by start: { n, t, d, size }. */
  setFragments(frags) {
    this.frags = frags;
    this.spans = [];
    let cur = null;
    for (const f of frags) {
      if (cur && f.t <= cur.b + GAP_MS) cur.b = Math.max(cur.b, f.t + f.d);
      else this.spans.push((cur = { a: f.t, b: f.t + f.d }));
    }
    this.el.dataset.fragments = String(frags.length);
    this.draw();
  }

  /** Number of gaps between recorded spans inside the window. */
  get gapCount() {
    return Math.max(0, this.spans.length - 1);
  }

  /** Event markers: { id, a (start ms), b (end ms or null), title }. */
  setMarkers(markers) {
    this.markers = markers;
    this.countMarkers();
    this.draw();
  }

  /** data-markers: how many events start inside the window. */
  countMarkers() {
    this.el.dataset.markers = String(this.markers.filter((m) => m.a >= this.start && m.a <= this.end).length);
  }

  /** The marker nearest to clientX within MARKER_HIT_PX, if any. */
  markerAt(clientX) {
    const r = this.el.getBoundingClientRect();
    const px = (t) => r.left + ((t - this.start) / (this.end - this.start)) * r.width;
    let best = null;
    for (const m of this.markers) {
      const d = Math.abs(px(m.a) - clientX);
      if (d <= MARKER_HIT_PX && (!best || d < best.d)) best = { m, d };
    }
    return best?.m ?? null;
  }

  setPlayhead(ms) {
    if (ms === this.playhead) return;
    this.playhead = ms;
    this.draw();
  }

  setSelection(range) {
    this.selection = range;
    this.draw();
  }

  /** Fragments starting inside [a, b]: { list, bytes }. */
  fragmentsIn(a, b) {
    const list = this.frags.filter((f) => f.t >= a && f.t <= b);
    return { list, bytes: list.reduce((n, f) => n + f.size, 0) };
  }

  /** The instant itself when recorded, else the start of the next recorded span (or the last one). */
  snap(ms) {
    for (const s of this.spans) {
      if (ms < s.a) return s.a;
      if (ms <= s.b) return ms;
    }
    return this.spans.length ? Math.max(this.spans.at(-1).a, this.spans.at(-1).b - 5000) : ms;
  }

  isRecorded(ms) {
    return this.spans.some((s) => ms >= s.a && ms <= s.b);
  }

  // ---- input ----

  timeAt(clientX) {
    const r = this.el.getBoundingClientRect();
    const x = Math.min(Math.max(clientX - r.left, 0), r.width);
    return this.start + (x / Math.max(r.width, 1)) * (this.end - this.start);
  }

  pointerDown(e) {
    if (e.button !== 0) return;
    this.el.setPointerCapture(e.pointerId);
    this.drag = { x: e.clientX, t: this.timeAt(e.clientX), moved: false };
  }

  pointerMove(e) {
    const t = this.timeAt(e.clientX);
    this.setHover({ t, x: e.clientX - this.el.getBoundingClientRect().left });
    if (!this.drag) return;
    if (Math.abs(e.clientX - this.drag.x) > 4) this.drag.moved = true;
    if (this.drag.moved) {
      this.selection = { start: Math.min(this.drag.t, t), end: Math.max(this.drag.t, t) };
      this.draw();
    }
  }

  pointerUp(e) {
    const drag = this.drag;
    this.drag = null;
    if (!drag) return;
    const t = this.timeAt(e.clientX);
    if (drag.moved) {
      this.selection = { start: Math.min(drag.t, t), end: Math.max(drag.t, t) };
      this.draw();
      this.onSelect?.(this.selection);
    } else {
      this.cursor = t;
      const marker = this.onMarker && this.markerAt(e.clientX);
      if (marker) this.onMarker(marker.id);
      else this.onSeek?.(this.snap(t));
    }
  }

  keyDown(e) {
    const span = this.end - this.start;
    const steps = { ArrowLeft: -0.01, ArrowRight: 0.01, PageDown: -0.1, PageUp: 0.1 };
    let next = this.cursor ?? this.playhead ?? this.end;
    if (e.key in steps) next += steps[e.key] * span;
    else if (e.key === 'Home') next = this.start;
    else if (e.key === 'End') next = this.end;
    else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      this.onSeek?.(this.snap(next));
      return;
    } else if (e.key === 'Escape' && this.selection) {
      e.preventDefault();
      this.selection = null;
      this.anchor = null;
      this.draw();
      this.onSelect?.(null);
      return;
    } else return;
    e.preventDefault();
    next = Math.min(Math.max(next, this.start), this.end);
    if (e.shiftKey) {
      this.anchor ??= this.cursor ?? next;
      this.selection = { start: Math.min(this.anchor, next), end: Math.max(this.anchor, next) };
      this.onSelect?.(this.selection);
    } else {
      this.anchor = null;
    }
    this.cursor = next;
    this.draw();
  }

  setHover(hover) {
    this.hover = hover;
    if (!hover) {
      this.tip.hidden = true;
    } else {
      this.tip.hidden = false;
      const marker = this.markerAt(this.el.getBoundingClientRect().left + hover.x);
      this.tip.textContent = `${dateTime(hover.t)} · ${marker ? marker.title : this.isRecorded(hover.t) ? 'recorded' : 'no recording'}`;
      const w = this.el.clientWidth;
      this.tip.style.left = `${Math.min(Math.max(hover.x, 60), Math.max(w - 60, 60))}px`;
    }
    this.draw();
  }

  // ---- drawing ----

  colors() {
    if (!this._colors) {
      const cs = getComputedStyle(this.el);
      const v = (name, fallback) => cs.getPropertyValue(name).trim() || fallback;
      this._colors = {
        bg: v('--tl-bg', '#15181d'),
        rec: v('--tl-rec', '#3ea66b'),
        sel: v('--tl-sel', 'rgba(90,160,255,0.28)'),
        selEdge: v('--tl-sel-edge', '#5aa0ff'),
        head: v('--tl-head', '#ffcc33'),
        text: v('--tl-text', '#8b95a3'),
        grid: v('--tl-grid', 'rgba(255,255,255,0.08)'),
        cursor: v('--tl-cursor', '#ffffff'),
        event: v('--tl-event', '#ff9f1a'),
      };
    }
    return this._colors;
  }

  draw() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      this.paint();
    });
  }

  paint() {
    const w = this.el.clientWidth;
    if (!w) return;
    const height = TRACK_H + AXIS_H;
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(height * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(height * dpr);
      this.canvas.style.width = `${w}px`;
      this.canvas.style.height = `${height}px`;
    }
    const c = this.canvas.getContext('2d');
    const col = this.colors();
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.clearRect(0, 0, w, height);
    const span = this.end - this.start;
    const x = (t) => ((t - this.start) / span) * w;

    c.fillStyle = col.bg;
    roundRect(c, 0, 0, w, TRACK_H, 6);
    c.fill();

    const step = TICK_STEPS.find((s) => (w / span) * s >= 84) ?? TICK_STEPS.at(-1);
    const first = Math.ceil(this.start / step) * step + tzAlign(step);
    c.font = '11px system-ui, sans-serif';
    c.textAlign = 'center';
    c.textBaseline = 'top';
    for (let t = first - step; t <= this.end; t += step) {
      if (t < this.start) continue;
      const px = Math.round(x(t)) + 0.5;
      c.fillStyle = col.grid;
      c.fillRect(px, 0, 1, TRACK_H);
      c.fillStyle = col.text;
      const d = new Date(t);
      const label = d.getHours() === 0 && d.getMinutes() === 0 ? d.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric' }) : clock(t, false);
      c.fillText(label, Math.min(Math.max(px, 18), w - 18), TRACK_H + 6);
    }

    c.fillStyle = col.rec;
    for (const s of this.spans) {
      if (s.b < this.start || s.a > this.end) continue;
      const a = Math.max(0, x(s.a));
      const b = Math.min(w, x(s.b));
      c.fillRect(a, 8, Math.max(3, b - a), TRACK_H - 16);
    }

    // Events: a faint line through the recording, the span as a bar and a dot at the start below it.
    c.fillStyle = col.event;
    for (const m of this.markers) {
      const end = m.b ?? m.a;
      if (end < this.start || m.a > this.end) continue;
      const a = x(m.a);
      c.globalAlpha = 0.45;
      c.fillRect(Math.round(a), 8, 1, TRACK_H - 16);
      c.globalAlpha = 1;
      c.fillRect(a, TRACK_H - 6, Math.max(2, x(end) - a), 2);
      c.beginPath();
      c.arc(a, TRACK_H - 5, 3, 0, Math.PI * 2);
      c.fill();
    }

    if (this.selection) {
      const a = x(this.selection.start);
      const b = x(this.selection.end);
      c.fillStyle = col.sel;
      c.fillRect(a, 0, Math.max(2, b - a), TRACK_H);
      c.fillStyle = col.selEdge;
      c.fillRect(a - 1, 0, 2, TRACK_H);
      c.fillRect(b - 1, 0, 2, TRACK_H);
    }

    if (this.hover) {
      c.fillStyle = col.cursor;
      c.globalAlpha = 0.35;
      c.fillRect(Math.round(x(this.hover.t)), 0, 1, TRACK_H);
      c.globalAlpha = 1;
    }

    if (this.cursor != null && document.activeElement === this.el) {
      c.strokeStyle = col.cursor;
      c.setLineDash([3, 3]);
      c.beginPath();
      c.moveTo(Math.round(x(this.cursor)) + 0.5, 0);
      c.lineTo(Math.round(x(this.cursor)) + 0.5, TRACK_H);
      c.stroke();
      c.setLineDash([]);
    }

    if (this.playhead != null && this.playhead >= this.start && this.playhead <= this.end) {
      const px = Math.round(x(this.playhead));
      c.fillStyle = col.head;
      c.fillRect(px - 1, 0, 2, TRACK_H);
      c.beginPath();
      c.moveTo(px - 5, 0);
      c.lineTo(px + 5, 0);
      c.lineTo(px, 6);
      c.fill();
    }
    this.updateAria();
  }

  updateAria() {
    const at = this.cursor ?? this.playhead ?? this.end;
    const pct = Math.round(((at - this.start) / (this.end - this.start)) * 100);
    this.el.setAttribute('aria-valuenow', String(Math.min(100, Math.max(0, pct))));
    let text = `${dateTime(at)}, ${this.isRecorded(at) ? 'recorded' : 'no recording'}`;
    if (this.selection) text += `; selected ${duration(this.selection.end - this.selection.start)} from ${dateTime(this.selection.start)}`;
    this.el.setAttribute('aria-valuetext', text);
  }
}

/** Offset that puts ticks of ≥ 1 h steps on local hour/day boundaries rather than UTC ones. */
function tzAlign(step) {
  if (step < 3600e3) return 0;
  return new Date().getTimezoneOffset() * 60e3;
}

function roundRect(c, x, y, w, hgt, r) {
  c.beginPath();
  c.moveTo(x + r, y);
  c.arcTo(x + w, y, x + w, y + hgt, r);
  c.arcTo(x + w, y + hgt, x, y + hgt, r);
  c.arcTo(x, y + hgt, x, y, r);
  c.arcTo(x, y, x + w, y, r);
  c.closePath();
}
