// Kestrel web viewer: hash router (#/ = stream grid, #/streams/NAME = player, #/admin = users and
// keys), the sign-in gate, the shared stream overview poller and the connection indicator. Views are
// plain functions returning { el, destroy }.
import { fetchOverview } from './kvs.js';
import { startOfDay } from './format.js';
import { gridPage } from './grid.js';
import { streamPage } from './stream-page.js';
import { adminPage } from './admin.js';
import { signInPage } from './sign-in.js';
import { isAdmin, loadSession, onSessionLost, session, signOut } from './session.js';
import { h } from './dom.js';

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
  if (path === '/admin' && isAdmin()) return { name: 'admin', params };
  return { name: 'grid', params };
}

function show(next, key, title) {
  view?.destroy();
  view = next;
  view.key = key;
  main.replaceChildren(view.el);
  document.title = title;
}

function route() {
  if (!session()) return showSignIn();
  const r = parseRoute();
  const key = r.name === 'stream' ? `stream:${r.stream}` : r.name;
  // Query-only changes (the player records its position in ?at=) keep the current view.
  if (view?.key === key) return;
  const ctx = { store, params: r.params };
  if (r.name === 'stream') show(streamPage(r.stream, ctx), key, `${r.stream} · Kestrel`);
  else if (r.name === 'admin') show(adminPage(), key, 'Users & keys · Kestrel');
  else show(gridPage(ctx), key, 'Streams · Kestrel');
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === (r.name === 'admin' ? 'admin' : 'streams') && r.name !== 'stream') a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  // Move focus for keyboard and screen-reader users, without scrolling jumps on first load.
  if (document.activeElement && document.activeElement !== document.body) main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

function showSignIn(notice) {
  renderUser();
  setConnection(true);
  if (view?.key === 'signin') return;
  show(signInPage({ notice, onSignedIn: () => { renderUser(); view?.destroy(); view = null; route(); } }), 'signin', 'Sign in · Kestrel');
}

/** The user, their role and Sign out in the top bar; the admin link for admins only. */
function renderUser() {
  const s = session();
  const menu = document.getElementById('user-menu');
  menu.hidden = !s;
  menu.querySelector('.user-name').textContent = s?.user ?? '';
  const chip = menu.querySelector('.role-chip');
  chip.textContent = s?.role ?? '';
  chip.dataset.role = s?.role ?? '';
  // --insecure-no-auth: the server treats everyone as admin; there is nothing to sign out of.
  menu.querySelector('[data-action="sign-out"]').hidden = Boolean(s?.insecureNoAuth);
  document.querySelector('.topnav').hidden = !s;
  document.querySelector('[data-nav="admin"]').hidden = !isAdmin();
  document.body.dataset.role = s?.role ?? '';
}

document.querySelector('[data-action="sign-out"]').addEventListener('click', async () => {
  await signOut();
  showSignIn();
});
onSessionLost(() => showSignIn('Your session has ended. Please sign in again.'));
window.addEventListener('hashchange', route);

loadSession()
  .then(() => {
    renderUser();
    route();
  })
  .catch(() => {
    setConnection(false);
    const retry = h('button.btn', { type: 'button', onclick: () => location.reload() }, 'Try again');
    main.replaceChildren(h('section.page', {}, h('p.empty', {}, 'Cannot reach the Kestrel server.'), retry));
  });
