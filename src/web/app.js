// Kestrel web viewer: hash router (#/ = stream grid, #/streams/NAME = player), the shared stream
// overview poller and the connection indicator. Views are plain functions returning { el, destroy }.
import { fetchOverview } from './kvs.js';
import { startOfDay } from './format.js';
import { gridPage } from './grid.js';
import { streamPage } from './stream-page.js';

const POLL_MS = 5000;

/** Polls api/v1/streams while someone listens; views subscribe for updates. */
class OverviewStore {
  constructor() {
    this.data = null;
    this.error = null;
    this.clockOffsetMs = 0;
    this.listeners = new Set();
    this.timer = 0;
    this.inflight = null;
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && this.listeners.size) this.refresh();
    });
  }

  /** Server time estimate (the server's clock decides "live" and PROGRAM-DATE-TIME). */
  now() {
    return Date.now() + this.clockOffsetMs;
  }

  stream(name) {
    return this.data?.streams.find((s) => s.name === name) ?? null;
  }

  subscribe(fn) {
    this.listeners.add(fn);
    if (this.data || this.error) fn(this);
    if (this.listeners.size === 1) this.refresh();
    return () => {
      this.listeners.delete(fn);
      if (!this.listeners.size) clearTimeout(this.timer);
    };
  }

  refresh() {
    clearTimeout(this.timer);
    this.inflight ??= fetchOverview(startOfDay(Date.now()))
      .then((data) => {
        this.data = data;
        this.error = null;
        this.clockOffsetMs = Math.abs(data.clockOffsetMs) > 1000 ? data.clockOffsetMs : 0;
      })
      .catch((err) => {
        this.error = err;
      })
      .finally(() => {
        this.inflight = null;
        setConnection(!this.error);
        for (const fn of this.listeners) fn(this);
        if (this.listeners.size && !document.hidden) this.timer = setTimeout(() => this.refresh(), POLL_MS);
      });
    return this.inflight;
  }
}

function setConnection(ok) {
  const el = document.getElementById('conn');
  if (!el) return;
  el.dataset.state = ok ? 'ok' : 'down';
  el.querySelector('.conn-text').textContent = ok ? 'Connected' : 'Server unreachable';
}

const store = new OverviewStore();
const main = document.getElementById('main');
let view = null;

function parseRoute() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = hash.split('?');
  const params = new URLSearchParams(query);
  const m = /^\/streams\/([^/]+)$/.exec(path);
  if (m) return { name: 'stream', stream: decodeURIComponent(m[1]), params };
  return { name: 'grid', params };
}

function route() {
  const r = parseRoute();
  const key = r.name === 'stream' ? `stream:${r.stream}` : 'grid';
  // Query-only changes (the player records its position in ?at=) keep the current view.
  if (view?.key === key) return;
  view?.destroy();
  const ctx = { store, params: r.params };
  view = r.name === 'stream' ? streamPage(r.stream, ctx) : gridPage(ctx);
  view.key = key;
  main.replaceChildren(view.el);
  document.title = r.name === 'stream' ? `${r.stream} · Kestrel` : 'Streams · Kestrel';
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (r.name === 'grid') a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  // Move focus for keyboard and screen-reader users, without scrolling jumps on first load.
  if (document.activeElement && document.activeElement !== document.body) main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

window.addEventListener('hashchange', route);
route();
