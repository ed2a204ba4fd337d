// Events panel of the stream page: the stream's detection events newest first (GET api/v1/events,
// paged with nextToken), kept current by the live SSE feed. Each row: snapshot thumbnail, label and
// best score, start time and duration, zone, an "active" badge while the person is still tracked.
// Clicking a row plays the event back.
import { h, icon, setChildren, setText } from './dom.js';
import { clock as clockTime, count, dateTime, duration } from './format.js';
import { mergeEvent, snapshotSrc } from './detections.js';
import { listEvents, openEventFeed } from './events-api.js';

const PAGE = 20;

export class EventsPanel {
  /**
   * clock — StreamClock (fed with every event seen); onMessage(msg) — each live message (for the
   * overlay); onPlay(event) — a row was chosen; onChange() — the list changed (timeline markers).
   */
  constructor({ stream, store, clock, onMessage, onPlay, onChange }) {
    this.stream = stream;
    this.store = store;
    this.clock = clock;
    this.onMessage = onMessage;
    this.onPlay = onPlay;
    this.onChange = onChange;
    this.rows = [];
    this.version = 0;
    this.nextToken = undefined;
    this.loaded = false;
    this.selectedId = null;
    this.items = new Map();
    this.feedState = h('span.feed-state', { title: 'Live event feed' });
    this.summary = h('span.subtle.events-count');
    this.list = h('ul.event-list', { 'aria-label': `Detection events of ${stream}` });
    this.status = h('div.events-status', { 'aria-live': 'polite' });
    this.moreBtn = h('button.btn.ghost.more', { type: 'button', hidden: true, onclick: () => this.loadMore() }, 'Load older events');
    this.el = h(
      'section.panel.events-panel',
      { 'aria-labelledby': 'events-title' },
      h('div.panel-head', {}, h('h2', { id: 'events-title' }, 'Events'), h('div.events-head-info', {}, this.summary, this.feedState)),
      this.status,
      this.list,
      this.moreBtn,
    );
    this.closeFeed = openEventFeed(stream, {
      onMessage: (msg) => this.receive(msg),
      onState: (s) => this.setFeedState(s),
      onReopen: () => this.load(),
    });
    this.ticker = setInterval(() => this.refreshTimes(), 1000);
    this.load();
  }

  destroy() {
    this.closeFeed();
    clearInterval(this.ticker);
    this.abort?.abort();
  }

  setFeedState(state) {
    this.feedState.dataset.state = state;
    setText(this.feedState, state === 'open' ? 'Live' : 'Reconnecting…');
  }

  receive(msg) {
    if (msg?.stream?.name && msg.stream.name !== this.stream) return;
    this.clock.observe(msg);
    this.rows = mergeEvent(this.rows, msg);
    this.onMessage?.(msg);
    this.changed();
  }

  /** First page (again): keeps rows the feed added that the page does not cover. */
  async load() {
    this.abort?.abort();
    const abort = (this.abort = new AbortController());
    if (!this.loaded) this.showStatus('loading');
    try {
      const page = await listEvents(this.stream, { limit: PAGE, signal: abort.signal });
      if (abort.signal.aborted) return;
      this.take(page);
      this.loaded = true;
      this.error = null;
    } catch (err) {
      if (err?.name === 'AbortError') return;
      this.error = err;
    }
    this.changed();
  }

  async loadMore() {
    if (!this.nextToken) return;
    this.moreBtn.disabled = true;
    try {
      this.take(await listEvents(this.stream, { limit: PAGE, nextToken: this.nextToken }));
      this.changed();
    } catch (err) {
      this.error = err;
      this.changed();
    } finally {
      this.moreBtn.disabled = false;
    }
  }

  take(page) {
    for (const ev of page.events ?? []) {
      this.clock.observe(ev.latest);
      this.rows = mergeEvent(this.rows, ev);
    }
    // The cursor continues after the oldest row listed so far.
    this.nextToken = page.nextToken;
  }

  changed() {
    this.version++;
    this.render();
    this.onChange?.();
  }

  select(id) {
    this.selectedId = id;
    for (const [rid, item] of this.items) item.button.setAttribute('aria-current', String(rid === id));
  }

  showStatus(kind) {
    this.status.dataset.kind = kind;
    if (kind === 'loading') setChildren(this.status, h('p.tl-status.loading', {}, 'Loading events…'));
    else if (kind === 'error')
      setChildren(this.status, h('p.tl-status.error', {}, `Could not load events: ${this.error.message} `, h('button.link', { type: 'button', onclick: () => this.load() }, 'Retry')));
    else if (kind === 'empty')
      setChildren(
        this.status,
        h(
          'div.events-empty',
          {},
          icon('person', 26),
          h('p', {}, 'No people detected yet'),
          h('p.subtle', {}, 'Events show up here as they happen when Kestrel runs person detection (', h('code', {}, 'kestrel serve --detect'), ').'),
        ),
      );
    else this.status.replaceChildren();
    this.status.hidden = kind === 'none';
  }

  render() {
    if (this.error && !this.rows.length) this.showStatus('error');
    else if (!this.loaded && !this.rows.length) this.showStatus('loading');
    else if (!this.rows.length) this.showStatus('empty');
    else this.showStatus(this.error ? 'error' : 'none');
    const active = this.rows.filter((e) => e.state !== 'end').length;
    const n = this.rows.length;
    setText(this.summary, n ? `${count(n)}${this.nextToken ? '+' : ''} event${n === 1 ? '' : 's'}${active ? ` · ${active} active` : ''}` : '');
    this.el.dataset.events = String(this.rows.length);
    this.moreBtn.hidden = !this.nextToken;
    const keep = new Set(this.rows.map((e) => e.id));
    for (const [id, item] of this.items) {
      if (keep.has(id)) continue;
      item.li.remove();
      this.items.delete(id);
    }
    let prev = null;
    for (const ev of this.rows) {
      let item = this.items.get(ev.id);
      if (!item) this.items.set(ev.id, (item = this.makeRow(ev)));
      this.updateRow(item, ev);
      const want = prev ? prev.nextSibling : this.list.firstChild;
      if (want !== item.li) this.list.insertBefore(item.li, want);
      prev = item.li;
    }
  }

  makeRow(ev) {
    // Not [hidden]: a lazy image that is not rendered never loads. It fades in over the placeholder.
    const img = h('img', { alt: '', loading: 'lazy', decoding: 'async' });
    const placeholder = h('span.event-noimg', {}, icon('person', 22));
    const badge = h('span.event-active', { hidden: true }, 'Active');
    const title = h('span.event-label');
    const score = h('span.event-score');
    const time = h('span.event-time');
    const meta = h('span.event-meta');
    const button = h(
      'button.event-item',
      { type: 'button', 'aria-current': String(ev.id === this.selectedId), onclick: () => this.onPlay?.(this.rows.find((e) => e.id === ev.id) ?? ev) },
      h('span.event-thumb', {}, placeholder, img, badge),
      h('span.event-body', {}, h('span.event-title', {}, title, score), time, meta),
      h('span.event-play', { 'aria-hidden': 'true' }, icon('play', 14)),
    );
    img.addEventListener('load', () => img.classList.add('loaded'));
    img.addEventListener('error', () => img.classList.remove('loaded'));
    const li = h('li.event-row', { dataset: { eventId: ev.id } }, button);
    return { li, button, img, placeholder, badge, title, score, time, meta };
  }

  updateRow(item, ev) {
    const activeNow = ev.state !== 'end';
    item.li.dataset.state = ev.state;
    item.badge.hidden = !activeNow;
    const src = snapshotSrc(ev.snapshot);
    if (src && item.img.getAttribute('src') !== src) item.img.src = src;
    item.img.alt = src ? `${ev.label} at ${clockTime(this.clock.eventStart(ev))}` : '';
    setText(item.title, ev.label === 'person' ? 'Person' : ev.label);
    setText(item.score, `${Math.round(ev.topScore * 100)}%`);
    item.score.className = `event-score ${ev.topScore >= 0.75 ? 'high' : ev.topScore >= 0.6 ? 'mid' : 'low'}`;
    setText(item.time, this.timeText(ev));
    const frags = ev.fragmentNumbers ?? [];
    setChildren(
      item.meta,
      ev.zone ? h('span.zone', {}, ev.zone) : null,
      h('span', { title: frags.length ? `Fragments ${frags[0]}${frags.length > 1 ? ` … ${frags.at(-1)}` : ''}` : '' }, `${count(frags.length)} fragment${frags.length === 1 ? '' : 's'}`),
    );
    item.button.setAttribute('aria-label', `${ev.label} ${Math.round(ev.topScore * 100)}%, ${this.timeText(ev)}${activeNow ? ', still active' : ''}. Play`);
  }

  /** Start in server time (what the timeline and the player show), and how long the person stayed. */
  timeText(ev) {
    const startMs = this.clock.eventStart(ev);
    const start = dateTime(startMs, this.store.now());
    if (ev.state === 'end' && ev.endTime != null) return `${start} · ${duration(Math.max(ev.endTime - ev.startTime, 0))}`;
    // Still going (the row has the Active badge): how long so far.
    return `${start} · ${duration(Math.max(this.store.now() - startMs, 0))}`;
  }

  refreshTimes() {
    for (const ev of this.rows) {
      const item = this.items.get(ev.id);
      if (item && ev.state !== 'end') setText(item.time, this.timeText(ev));
    }
  }
}
