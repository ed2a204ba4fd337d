// Stream grid: one card per stream with a still of its newest fragment, live/idle badge, last-seen
// time, bitrate and today's fragment count. Polls through the shared store; stills refresh slowly.
import { h, icon, setText, setChildren } from './dom.js';
import { ago, bitrate, clock, count, retention } from './format.js';
import { getStill } from './kvs.js';
import { fetchEventSummary } from './events-api.js';

/** Live stills are refreshed at most this often; idle streams keep the still of their last fragment. */
const STILL_REFRESH_MS = 30_000;
const STILL_RETRY_MS = 60_000;
/** Detection-event counts per card: events of the last hour, refreshed this often. */
const EVENTS_WINDOW_MS = 3600e3;
const EVENTS_REFRESH_MS = 10_000;

/** name → { url, fragmentNumber, fetchedAt, failed, loading } — kept across page changes. */
const stills = new Map();
let stillQueue = Promise.resolve();

/** Object URL of the newest still the grid has for `name` (the player uses it as its poster). */
export function cachedStill(name) {
  return stills.get(name)?.url ?? null;
}

export function gridPage({ store }) {
  const search = h('input.search', {
    type: 'search',
    placeholder: 'Filter streams',
    'aria-label': 'Filter streams by name',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-keyshortcuts': '/',
    oninput: () => render(store),
  });
  const summary = h('p.subtle', { 'aria-live': 'polite' });
  const body = h('div.grid-body');
  const el = h(
    'section.page.grid-page',
    { 'aria-labelledby': 'grid-title' },
    h('div.page-head', {}, h('div', {}, h('h1', { id: 'grid-title' }, 'Streams'), summary), h('label.search-box', {}, icon('search', 16), search)),
    body,
  );
  const cards = new Map();
  const eventCounts = { data: {}, at: 0, busy: false };
  const onKey = (e) => {
    if (e.key === '/' && !isTyping(e.target)) {
      e.preventDefault();
      search.focus();
    }
  };
  document.addEventListener('keydown', onKey);

  function render(s) {
    if (!s.data) {
      if (s.error) return showState('error', s);
      return showSkeleton();
    }
    const streams = s.data.streams;
    const live = streams.filter((x) => x.state === 'LIVE').length;
    setText(summary, streams.length ? `${streams.length} stream${streams.length === 1 ? '' : 's'} · ${live} live${s.error ? ' · showing last known state' : ''}` : '');
    el.classList.toggle('stale', Boolean(s.error));
    if (!streams.length) return showState('empty', s);
    const q = search.value.trim().toLowerCase();
    const shown = streams.filter((x) => !q || x.name.toLowerCase().includes(q));
    if (!shown.length) return showState('nomatch', s);
    let grid = body.querySelector('.grid');
    if (!grid) {
      grid = h('ul.grid', { 'aria-label': 'Streams' });
      setChildren(body, grid);
      cards.clear();
    }
    const now = s.now();
    const names = new Set(shown.map((x) => x.name));
    for (const [name, card] of cards) {
      if (!names.has(name)) {
        card.el.remove();
        cards.delete(name);
      }
    }
    shown.forEach((stream, i) => {
      let card = cards.get(stream.name);
      if (!card) cards.set(stream.name, (card = makeCard(stream)));
      updateCard(card, stream, now);
      updateEventChip(card, eventCounts.data[stream.name]);
      if (grid.children[i] !== card.el) grid.insertBefore(card.el, grid.children[i] ?? null);
      requestStill(stream, card);
    });
    refreshEventCounts(shown.map((x) => x.name).slice(0, 200));
  }

  /** One request for every shown card; a server without the events API just shows no chips. */
  function refreshEventCounts(names) {
    if (eventCounts.busy || !names.length || Date.now() - eventCounts.at < EVENTS_REFRESH_MS) return;
    eventCounts.busy = true;
    fetchEventSummary(names, Date.now() - EVENTS_WINDOW_MS)
      .then((res) => {
        eventCounts.data = res.streams ?? {};
        for (const [name, card] of cards) updateEventChip(card, eventCounts.data[name]);
      })
      .catch(() => {})
      .finally(() => {
        eventCounts.at = Date.now();
        eventCounts.busy = false;
      });
  }

  function showSkeleton() {
    if (body.querySelector('.skeleton')) return;
    setChildren(body, h('div.grid', { 'aria-busy': 'true', 'aria-label': 'Loading streams' }, [1, 2, 3, 4].map(() => h('div.card.skeleton', {}, h('div.thumb'), h('div.card-body', {}, h('div.sk-line'), h('div.sk-line.short'))))));
  }

  function showState(kind, s) {
    cards.clear();
    const origin = location.origin;
    const states = {
      error: [icon('alert', 40), h('h2', {}, 'Cannot reach the Kestrel server'), h('p', {}, s.error?.message ?? ''), h('button.btn', { onclick: () => s.refresh() }, icon('refresh', 16), 'Try again')],
      nomatch: [h('h2', {}, 'No matching streams'), h('p', {}, `Nothing is named like “${search.value}”.`)],
      empty: [
        icon('camera', 40),
        h('h2', {}, 'No streams yet'),
        h('p', {}, 'Create a stream and push a camera or a file to it. It shows up here within a few seconds.'),
        h('pre.code', { tabindex: '0' }, `npx kestrel push recording.mp4 --stream front-door --create --endpoint ${origin}\n\n# or pull an RTSP camera\nnpx kestrel ingest rtsp://camera/stream1 --stream front-door --create --endpoint ${origin}`),
      ],
    };
    const key = `state-${kind}`;
    if (body.firstElementChild?.dataset.state === key) {
      // Same state: refresh the message only, so a focused "Try again" keeps its focus.
      if (kind === 'error') setText(body.querySelector('.empty-state p'), s.error?.message ?? '');
      return;
    }
    setChildren(body, h('div.empty-state', { dataset: { state: key }, role: kind === 'error' ? 'alert' : null }, states[kind]));
  }

  const unsubscribe = store.subscribe(render);
  const tick = setInterval(() => store.data && render(store), 1000);
  return {
    el,
    destroy() {
      unsubscribe();
      clearInterval(tick);
      document.removeEventListener('keydown', onKey);
    },
  };
}

function makeCard(stream) {
  const img = h('img', { alt: '', decoding: 'async', hidden: true });
  const placeholder = h('div.placeholder', {}, icon('camera', 32), h('span', {}, 'No image yet'));
  const badge = h('span.badge');
  const events = h('span.event-chip', { hidden: true });
  const time = h('span.thumb-time');
  const title = h('h2.card-title', {}, stream.name);
  const seen = h('span');
  const rate = h('span');
  const today = h('span');
  const keep = h('span');
  const node = h('span.node', { hidden: true });
  const link = h(
    'a.card',
    { href: `#/streams/${encodeURIComponent(stream.name)}`, dataset: { stream: stream.name } },
    h('div.thumb', {}, placeholder, img, badge, events, time),
    h('div.card-body', {}, title, h('p.meta', {}, seen, h('span.sep', { 'aria-hidden': 'true' }, '·'), rate), h('p.meta.dim', {}, today, h('span.sep', { 'aria-hidden': 'true' }, '·'), keep, node)),
  );
  const el = h('li.card-item', {}, link);
  img.addEventListener('load', () => {
    img.hidden = false;
    placeholder.hidden = true;
  });
  return { el, link, img, placeholder, badge, events, time, seen, rate, today, keep, node };
}

/** "3" people events in the last hour on the thumbnail; pulsing while someone is still there. */
function updateEventChip(card, sum) {
  const n = sum?.count ?? 0;
  card.events.hidden = n === 0;
  card.link.dataset.events = String(n);
  if (!n) return;
  card.events.classList.toggle('active', sum.active > 0);
  const text = `${n}${sum.more ? '+' : ''}`;
  if (card.events.dataset.text !== text) {
    card.events.dataset.text = text;
    setChildren(card.events, icon('person', 13), text);
  }
  card.events.title = `${text} ${n === 1 ? 'person event' : 'person events'} in the last hour${sum.active ? ` · ${sum.active} active now` : ''}`;
}

function updateCard(card, s, now) {
  const label = { LIVE: 'Live', IDLE: 'Idle', EMPTY: 'No video' }[s.state];
  card.link.dataset.state = s.state;
  card.badge.className = `badge ${s.state.toLowerCase()}`;
  setText(card.badge, label);
  const last = s.lastFragment;
  setText(card.time, last ? clock(last.serverTimestampMs) : '');
  card.time.hidden = !last;
  setText(card.seen, last ? `Seen ${ago(last.serverTimestampMs + last.durationMs, now)}` : 'Never received video');
  setText(card.rate, s.state === 'LIVE' ? bitrate(s.recentBitrateBps) : last ? `was ${bitrate(s.recentBitrateBps)}` : '–');
  setText(card.today, `${count(s.fragmentsToday)} fragment${s.fragmentsToday === 1 ? '' : 's'} today`);
  setText(card.keep, retention(s.dataRetentionInHours));
  // In a cluster, which node owns the stream now (its producer's node); nothing while no one does.
  card.node.hidden = !s.ownerNode;
  setText(card.node, s.ownerNode ? ` · on ${s.ownerNode}` : '');
  card.link.dataset.node = s.ownerNode ?? '';
  card.link.setAttribute('aria-label', `${s.name}: ${label}${last ? `, last video ${ago(last.serverTimestampMs + last.durationMs, now)}, ${bitrate(s.recentBitrateBps)}` : ', no video yet'}`);
  const still = stills.get(s.name);
  if (still?.url && card.img.getAttribute('src') !== still.url) card.img.src = still.url;
  card.img.alt = still?.url ? `Latest image from ${s.name}` : '';
}

function requestStill(stream, card) {
  const last = stream.lastFragment;
  if (!last || stream.dataRetentionInHours === 0) return;
  const cur = stills.get(stream.name) ?? {};
  if (cur.loading) return;
  const age = Date.now() - (cur.fetchedAt ?? 0);
  if (cur.fragmentNumber === last.fragmentNumber) return;
  if (cur.failed && age < STILL_RETRY_MS) return;
  if (cur.url && age < STILL_REFRESH_MS) return;
  cur.loading = true;
  stills.set(stream.name, cur);
  // One request at a time: stills decode video on the server.
  stillQueue = stillQueue.then(async () => {
    try {
      const still = await getStill(stream.name, last.serverTimestampMs, { heightPixels: 270, quality: 75 });
      if (still) {
        if (cur.url) URL.revokeObjectURL(cur.url);
        cur.url = URL.createObjectURL(still.blob);
        cur.failed = false;
      } else {
        cur.failed = true;
      }
    } catch {
      cur.failed = true;
    }
    cur.fragmentNumber = last.fragmentNumber;
    cur.fetchedAt = Date.now();
    cur.loading = false;
    if (cur.url && card.img.getAttribute('src') !== cur.url) card.img.src = cur.url;
  });
}

function isTyping(target) {
  return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}
