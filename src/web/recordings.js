// Recordings section of the stream page: window presets (15 min / 1 h / 6 h / 24 h / custom), the timeline
// over ListFragments, and the selected range (play it, or download it as an MP4 clip via GetClip).
import { h, icon, saveBlob, setChildren, setText, toast } from './dom.js';
import { bytes, count, dateTime, duration, fileStamp, fromLocalInput, toLocalInput } from './format.js';
import { CLIP_MAX_BYTES, CLIP_MAX_FRAGMENTS, getClip, listFragments } from './kvs.js';
import { Timeline } from './timeline.js';

const PRESETS = [
  { id: '15m', label: '15 min', ms: 15 * 60e3 },
  { id: '1h', label: '1 h', ms: 3600e3 },
  { id: '6h', label: '6 h', ms: 6 * 3600e3 },
  { id: '24h', label: '24 h', ms: 24 * 3600e3 },
  { id: 'custom', label: 'Custom' },
];
const REFRESH_MS = 10_000;
const MAX_CLIP_SPAN_MS = 24 * 3600e3;

export class Recordings {
  constructor({ stream, store, onPlayFrom, onPlayRange, onMarker }) {
    this.stream = stream;
    this.store = store;
    this.onPlayRange = onPlayRange;
    this.preset = '1h';
    this.frags = [];
    this.timeline = new Timeline({
      label: `Recordings of ${stream}`,
      onSeek: (ms) => onPlayFrom(ms),
      onSelect: (range) => this.select(range),
      onMarker,
    });
    this.presetButtons = PRESETS.map((p) =>
      h('button.seg', { type: 'button', 'aria-pressed': String(p.id === this.preset), dataset: { preset: p.id }, onclick: () => this.choose(p.id) }, p.label),
    );
    const now = store.now();
    this.fromInput = h('input', { type: 'datetime-local', required: true, value: toLocalInput(now - 2 * 3600e3), 'aria-label': 'From' });
    this.toInput = h('input', { type: 'datetime-local', required: true, value: toLocalInput(now), 'aria-label': 'To' });
    this.customForm = h(
      'form.custom-range',
      { hidden: true, onsubmit: (e) => (e.preventDefault(), this.applyCustom()) },
      h('label', {}, 'From', this.fromInput),
      h('label', {}, 'To', this.toInput),
      h('button.btn', { type: 'submit' }, 'Show'),
    );
    this.status = h('p.tl-status', { 'aria-live': 'polite' });
    this.selPanel = h('div.selection', { hidden: true, 'aria-live': 'polite' });
    // Kept across re-renders of the selection panel (the window refreshes every few seconds).
    this.progress = h('div.progress', { hidden: true }, h('div.bar', {}, h('span')), h('span.progress-text'));
    this.el = h(
      'section.panel.recordings',
      { 'aria-labelledby': 'rec-title' },
      h(
        'div.panel-head',
        {},
        h('h2', { id: 'rec-title' }, 'Recordings'),
        h('div.segmented', { role: 'group', 'aria-label': 'Time window' }, this.presetButtons),
      ),
      this.customForm,
      h('div.timeline', {}, this.timeline.el),
      h('p.hint', {}, 'Click to play from a moment · click an orange dot to play a detected person · drag (or Shift + arrow keys) to select a range for a clip'),
      this.status,
      this.selPanel,
    );
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
    this.load();
  }

  destroy() {
    clearInterval(this.timer);
    this.abort?.abort();
    this.download?.abort();
  }

  setPlayhead(ms) {
    this.timeline.setPlayhead(ms);
  }

  /** Detection events on the timeline (see Timeline.setMarkers). */
  setMarkers(markers) {
    this.timeline.setMarkers(markers);
  }

  /** The window currently shown: relative presets end now. */
  window() {
    if (this.preset === 'custom') return this.custom;
    const span = PRESETS.find((p) => p.id === this.preset).ms;
    const end = this.store.now();
    return { start: end - span, end };
  }

  choose(id) {
    this.preset = id;
    for (const b of this.presetButtons) b.setAttribute('aria-pressed', String(b.dataset.preset === id));
    this.customForm.hidden = id !== 'custom';
    if (id === 'custom') {
      this.fromInput.focus();
      return;
    }
    this.load();
  }

  applyCustom() {
    const start = fromLocalInput(this.fromInput.value);
    const end = fromLocalInput(this.toInput.value);
    if (start == null || end == null || end <= start) {
      toast('Choose a “From” time before the “To” time.', 'error');
      return;
    }
    this.custom = { start, end };
    this.load();
  }

  /** Lists the whole window again (window change, retry). */
  async load() {
    this.abort?.abort();
    const abort = (this.abort = new AbortController());
    const { start, end } = this.window();
    this.timeline.setWindow(start, end);
    this.timeline.setFragments([]);
    this.loadedEnd = null;
    this.el.setAttribute('aria-busy', 'true');
    setText(this.status, 'Loading recordings…');
    this.status.className = 'tl-status loading';
    try {
      const frags = await listFragments(this.stream, start, end, {
        signal: abort.signal,
        onProgress: (n) => setText(this.status, `Loading recordings… ${count(n)} fragments`),
      });
      if (abort.signal.aborted) return;
      this.frags = frags;
      this.loadedEnd = Math.min(end, this.store.now());
      this.timeline.setFragments(frags);
      this.showSummary();
    } catch (err) {
      if (err?.name === 'AbortError') return;
      this.status.className = 'tl-status error';
      setChildren(this.status, `Could not load recordings: ${err.message} `, h('button.link', { type: 'button', onclick: () => this.load() }, 'Retry'));
    } finally {
      if (this.abort === abort) this.el.removeAttribute('aria-busy');
    }
  }

  /** Windows reaching up to now grow (relative ones also slide): list only what arrived since the last look. */
  async refresh() {
    if (this.loadedEnd == null || document.hidden || this.el.hasAttribute('aria-busy')) return;
    const { start, end } = this.window();
    if (this.loadedEnd >= end) return;
    const upTo = Math.min(end, this.store.now());
    try {
      const fresh = await listFragments(this.stream, this.loadedEnd - 15_000, upTo);
      const known = new Set(this.frags.map((f) => f.n));
      this.frags = this.frags.filter((f) => f.t >= start).concat(fresh.filter((f) => !known.has(f.n)));
      this.frags.sort((a, b) => a.t - b.t);
      this.loadedEnd = upTo;
      this.timeline.setWindow(start, end);
      this.timeline.setFragments(this.frags);
      this.showSummary();
      // Re-render only when the selection's content changed: keeps keyboard focus on its buttons.
      if (this.selection && this.selectionKey() !== this.renderedKey) this.renderSelection();
    } catch {
      // the next tick retries; the grid's connection indicator shows the outage
    }
  }

  showSummary() {
    const total = this.frags.reduce((n, f) => n + f.size, 0);
    this.status.className = 'tl-status';
    if (!this.frags.length) {
      setText(this.status, 'No recordings in this window.');
      return;
    }
    const gaps = this.timeline.gapCount;
    setText(this.status, `${count(this.frags.length)} fragments · ${bytes(total)} · ${gaps ? `${count(gaps)} gap${gaps === 1 ? '' : 's'}` : 'no gaps'}`);
  }

  select(range) {
    // Playback and clips of server-timestamp ranges must end in the past.
    const clamped = range && { start: range.start, end: Math.min(range.end, this.store.now() - 1000) };
    this.selection = clamped && clamped.end - clamped.start >= 500 ? clamped : null;
    this.timeline.setSelection(this.selection);
    if (!this.download) this.resetProgress();
    this.renderSelection();
  }

  resetProgress() {
    this.progress.hidden = true;
    delete this.progress.dataset.done;
    this.progress.classList.remove('indeterminate');
    this.progress.querySelector('.bar span').style.width = '0';
    this.progress.querySelector('.progress-text').replaceChildren();
  }

  clearSelection() {
    this.selection = null;
    this.timeline.setSelection(null);
    this.renderSelection();
    this.timeline.el.focus();
  }

  /** The clip the server will produce for the selection: whole fragments, capped like KVS. */
  clipPlan() {
    const { start, end } = this.selection;
    // Start at the fragment that contains the selection start, so the clip begins where asked.
    const containing = this.frags.find((f) => f.t <= start && f.t + f.d > start);
    const from = containing ? containing.t : start;
    const { list, bytes: total } = this.timeline.fragmentsIn(from, end);
    let n = 0;
    let size = 0;
    while (n < list.length && n < CLIP_MAX_FRAGMENTS && size + list[n].size <= CLIP_MAX_BYTES) size += list[n++].size;
    const last = list[n - 1];
    return { from, to: end, list, total, kept: n, keptBytes: size, truncated: n < list.length, keptEnd: last ? last.t + last.d : from };
  }

  selectionKey() {
    const plan = this.clipPlan();
    return `${plan.list.length}:${plan.total}:${this.selection.start}:${this.selection.end}`;
  }

  renderSelection() {
    const panel = this.selPanel;
    this.renderedKey = this.selection ? this.selectionKey() : null;
    if (!this.selection) {
      panel.hidden = true;
      panel.replaceChildren();
      return;
    }
    const { start, end } = this.selection;
    const plan = this.clipPlan();
    panel.hidden = false;
    const tooLong = end - plan.from > MAX_CLIP_SPAN_MS;
    const empty = plan.list.length === 0;
    setChildren(
      panel,
      h(
        'p.sel-summary',
        {},
        h('strong', {}, `${dateTime(start)} – ${dateTime(end)}`),
        ` · ${duration(end - start)} · ${count(plan.list.length)} fragment${plan.list.length === 1 ? '' : 's'} · ${bytes(plan.total)}`,
      ),
      h(
        'div.sel-actions',
        {},
        h('button.btn', { type: 'button', disabled: empty, onclick: () => this.onPlayRange(plan.from, end) }, icon('play', 16), 'Play selection'),
        h('button.btn.primary', { type: 'button', disabled: empty || tooLong || Boolean(this.download), 'data-action': 'download-clip', onclick: () => this.downloadClip() }, icon('download', 16), 'Download clip'),
        h('button.btn.ghost', { type: 'button', onclick: () => this.clearSelection() }, 'Clear'),
      ),
      empty ? h('p.note', {}, 'There is no recorded video in the selection.') : null,
      tooLong ? h('p.note.warn', {}, 'A clip can span at most 24 hours. Select a shorter range.') : null,
      plan.truncated && !tooLong
        ? h(
            'p.note.warn',
            { dataset: { truncated: 'true' } },
            `The server limits a clip to ${CLIP_MAX_FRAGMENTS} fragments or ${bytes(CLIP_MAX_BYTES)}: this clip will stop at ${dateTime(plan.keptEnd)} ` +
              `(${count(plan.kept)} of ${count(plan.list.length)} fragments, about ${bytes(plan.keptBytes)}). Select the rest as another clip.`,
          )
        : null,
      this.progress,
    );
  }

  async downloadClip() {
    if (!this.selection || this.download) return;
    const plan = this.clipPlan();
    const name = fileStamp(this.stream, plan.list[0]?.t ?? plan.from, 'mp4');
    const abort = (this.download = new AbortController());
    const button = () => this.selPanel.querySelector('[data-action="download-clip"]');
    const bar = this.progress.querySelector('.bar span');
    const text = this.progress.querySelector('.progress-text');
    const cancel = h('button.link', { type: 'button', onclick: () => abort.abort() }, 'Cancel');
    this.progress.hidden = false;
    delete this.progress.dataset.done;
    this.progress.classList.add('indeterminate');
    button().disabled = true;
    setChildren(text, 'Preparing clip… ', cancel);
    try {
      const clip = await getClip(this.stream, plan.from, plan.to, {
        signal: abort.signal,
        onProgress: ({ received, total }) => {
          const expected = total ?? plan.keptBytes;
          this.progress.classList.toggle('indeterminate', !total);
          bar.style.width = `${Math.min(100, (received / Math.max(expected, 1)) * 100).toFixed(1)}%`;
          setChildren(text, `Downloading ${bytes(received)}${total ? ` of ${bytes(total)}` : ''}… `, cancel);
        },
      });
      saveBlob(clip.blob, name);
      this.progress.classList.remove('indeterminate');
      bar.style.width = '100%';
      setText(text, `Saved ${name} (${bytes(clip.size)})${plan.truncated ? ' — truncated by the server limit' : ''}`);
      this.progress.dataset.done = 'true';
      toast(`Clip saved: ${name}`, 'success');
    } catch (err) {
      this.progress.classList.remove('indeterminate');
      if (err?.name === 'AbortError') {
        setText(text, 'Download cancelled.');
      } else {
        setText(text, `Clip failed: ${err.message}`);
        toast(`Clip failed: ${err.message}`, 'error');
      }
    } finally {
      this.download = null;
      const b = button();
      if (b) b.disabled = false;
    }
  }
}
