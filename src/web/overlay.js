// Boxes over the video: the people the detector is tracking (live SSE messages, or a replayed
// event's history), drawn where the picture actually is (object-fit: contain leaves bars) at the
// time the video is showing (PROGRAM-DATE-TIME), not at the time the message arrived.
import { h } from './dom.js';
import { boxToRect, containRect, messageState, TrackBuffer } from './detections.js';

export class DetectionOverlay {
  /**
   * video — the <video>; clock — a StreamClock (producer → server time);
   * playingMs() — server ms of the frame on screen, or null when nothing plays.
   */
  constructor(video, { clock, playingMs }) {
    this.video = video;
    this.clock = clock;
    this.playingMs = playingMs;
    this.buffer = new TrackBuffer();
    this.enabled = true;
    this.boxes = [];
    this.key = '';
    this.seen = new Set();
    // data-box-count: boxes on screen now; data-boxes-drawn: distinct box states drawn so far.
    this.el = h('div.det-layer', { 'aria-hidden': 'true', dataset: { boxCount: '0', boxesDrawn: '0' } });
    const loop = () => {
      this.render();
      this.frame = requestAnimationFrame(loop);
    };
    this.frame = requestAnimationFrame(loop);
  }

  /** A start/update/end message (live feed or an event's history). */
  add(msg) {
    const state = messageState(msg, this.clock);
    if (!state.box || !Number.isFinite(state.t)) return;
    this.buffer.add(state);
    // For diagnostics and tests: tracks held, and the server time of the newest box received.
    this.el.dataset.tracks = String(this.buffer.size);
    this.el.dataset.newestBoxMs = String(Math.round(this.buffer.newest));
  }

  setEnabled(on) {
    this.enabled = on;
    this.el.hidden = !on;
  }

  render() {
    const playing = this.enabled && this.buffer.size ? this.playingMs() : null;
    const list = playing == null ? [] : this.buffer.visible(playing);
    const w = this.el.clientWidth;
    const hgt = this.el.clientHeight;
    const rect = containRect(w, hgt, this.video.videoWidth, this.video.videoHeight);
    const layout = `${w}x${hgt}:${this.video.videoWidth}x${this.video.videoHeight}`;
    const key = `${layout}|${list.map((b) => `${b.id}@${b.t}`).join(',')}`;
    if (key === this.key) return;
    this.key = key;
    // Boxes glide between a person's positions, but snap when the picture itself moved or
    // resized: gliding from a place in the old layout would cross the bars of the new one.
    const snap = layout !== this.layout;
    this.layout = layout;
    while (this.boxes.length < list.length) {
      const label = h('span.det-label');
      const el = h('div.det-box', {}, label);
      this.el.append(el);
      this.boxes.push({ el, label });
    }
    this.boxes.forEach((b, i) => {
      const item = list[i];
      b.el.hidden = !item;
      if (!item) return;
      const r = boxToRect(item.box, rect);
      b.el.classList.toggle('snap', snap);
      Object.assign(b.el.style, { left: `${r.x}px`, top: `${r.y}px`, width: `${r.width}px`, height: `${r.height}px` });
      b.el.dataset.eventId = item.id;
      // Labels sit above the box, or inside it when the box touches the top of the picture.
      b.el.classList.toggle('label-inside', r.y - rect.y < 20);
      b.label.textContent = `${capitalise(item.label)} ${Math.round((item.score ?? 0) * 100)}%`;
      this.seen.add(`${item.id}@${item.t}`);
    });
    this.el.dataset.boxCount = String(list.length);
    this.el.dataset.boxesDrawn = String(this.seen.size);
    if (this.seen.size > 5000) this.seen.clear();
  }

  destroy() {
    cancelAnimationFrame(this.frame);
    this.buffer.clear();
  }
}

const capitalise = (s) => (s ? s[0].toUpperCase() + s.slice(1) : '');
