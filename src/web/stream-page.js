// Stream page: the player (live, replay from a moment, or a selected range), live latency, boxes
// around detected people, stills, the detection events, stream details, and the recordings timeline.
import { h, icon, setChildren, setText, toast } from './dom.js';
import { ago, bitrate, count, dateTime, duration } from './format.js';
import { cachedStill } from './grid.js';
import { deleteStream, hlsSessionUrl } from './kvs.js';
import { canManageStreams } from './session.js';
import { StreamClock } from './detections.js';
import { getEvent } from './events-api.js';
import { EventsPanel } from './events.js';
import { DetectionOverlay } from './overlay.js';
import { Player } from './player.js';
import { Recordings } from './recordings.js';
import { Stills } from './stills.js';

const LL_KEY = 'kestrel.lowLatency';
const BOXES_KEY = 'kestrel.boxes';
/** An event plays from this long before the person was first seen… */
const EVENT_PREROLL_MS = 4000;
/** …until this long after they were last seen (at least EVENT_MIN_MS in all). */
const EVENT_POSTROLL_MS = 3000;
const EVENT_MIN_MS = 10_000;

export function streamPage(name, { store, params }) {
  // The grid's still shows while the player starts (no black box for the first seconds).
  const video = h('video', { controls: true, muted: true, autoplay: true, playsinline: true, poster: cachedStill(name), 'aria-label': `Video from ${name}` });
  const overlay = h('div.overlay', { role: 'status', 'aria-live': 'polite' });
  const pill = h('span.mode-pill');
  const statusText = h('span.play-status');
  const llChip = h('span.chip', { hidden: true, title: 'The playlist carries LL-HLS partial segments' }, 'LL-HLS');
  const goLive = h('button.btn', { type: 'button', 'aria-keyshortcuts': 'L', title: 'Go live (L)', onclick: () => start({ kind: 'LIVE' }) }, icon('live', 16), 'Go live');
  const llInput = h('input', { type: 'checkbox', role: 'switch', checked: localStorage.getItem(LL_KEY) === '1', onchange: () => toggleLowLatency() });
  const llSwitch = h('label.switch', { title: 'Low-latency HLS (live only)' }, llInput, h('span.track', { 'aria-hidden': 'true' }), h('span', {}, 'Low latency'));
  const snap = h('button.btn', { type: 'button', 'aria-keyshortcuts': 'S', title: 'Take a still (S)', 'data-action': 'still', onclick: () => takeStill() }, icon('still', 16), 'Still');
  const boxesInput = h('input', { type: 'checkbox', role: 'switch', checked: localStorage.getItem(BOXES_KEY) !== '0', onchange: () => toggleBoxes() });
  const boxesSwitch = h('label.switch', { title: 'Draw boxes around detected people' }, boxesInput, h('span.track', { 'aria-hidden': 'true' }), h('span', {}, 'Boxes'));
  const badge = h('span.badge');
  const details = h('dl.details');
  // Operators and admins only; the server refuses DeleteStream to viewers anyway.
  const del = canManageStreams() ? h('button.btn.danger', { type: 'button', 'data-action': 'delete-stream', onclick: () => confirmDelete() }, 'Delete stream') : null;
  const confirm = h('dialog.confirm-dialog', { 'aria-labelledby': 'confirm-title' });

  const stills = new Stills(name);
  const recordings = new Recordings({
    stream: name,
    store,
    onPlayFrom: (ms) => start({ kind: 'LIVE_REPLAY', startMs: ms }),
    onPlayRange: (a, b) => start({ kind: 'ON_DEMAND', startMs: a, endMs: b }),
    onMarker: (id) => {
      const ev = events.rows.find((e) => e.id === id);
      if (ev) playEvent(ev);
    },
  });
  const player = new Player(video, { onState: (state, detail) => showPlayerState(state, detail) });
  const clock = new StreamClock();
  const boxes = new DetectionOverlay(video, { clock, playingMs: () => player.playingDateMs });
  boxes.setEnabled(boxesInput.checked);
  const events = new EventsPanel({ stream: name, store, clock, onMessage: (msg) => boxes.add(msg), onPlay: (ev) => playEvent(ev) });

  const el = h(
    'section.page.stream-page',
    { 'aria-labelledby': 'stream-title', dataset: { stream: name } },
    h('div.page-head', {}, h('a.back', { href: '#/' }, icon('back', 18), 'All streams'), h('h1', { id: 'stream-title' }, name), badge, del),
    h(
      'div.stream-layout',
      {},
      h(
        'div.stream-main',
        {},
        h('div.video-wrap', {}, video, boxes.el, overlay),
        h('div.player-bar', {}, h('div.play-info', {}, pill, statusText, llChip), h('div.play-actions', {}, goLive, llSwitch, boxesSwitch, snap)),
        recordings.el,
      ),
      h('aside.stream-side', {}, events.el, h('section.panel.details-panel', { 'aria-labelledby': 'details-title' }, h('h2', { id: 'details-title' }, 'Details'), details), stills.el),
    ),
  );

  let mode = null;
  let attempt = 0;

  async function start(next) {
    mode = next;
    const my = ++attempt;
    el.dataset.mode = next.kind;
    goLive.disabled = next.kind === 'LIVE';
    llInput.disabled = next.kind !== 'LIVE';
    const label = next.label ?? { LIVE: 'Live', LIVE_REPLAY: 'Replay', ON_DEMAND: 'Selection' }[next.kind];
    if (next.eventId === undefined) {
      events.select(null);
      delete el.dataset.eventId;
    }
    pill.className = `mode-pill ${next.kind.toLowerCase()}`;
    setText(pill, label);
    setText(statusText, next.kind === 'LIVE' ? 'Connecting…' : `from ${dateTime(next.startMs)}`);
    rememberPosition(next.kind === 'LIVE' ? null : next.startMs);
    showOverlay('loading', next.kind === 'LIVE' ? 'Connecting to the live stream…' : `Loading video from ${dateTime(next.startMs)}…`);
    const lowLatency = next.kind === 'LIVE' && llInput.checked;
    try {
      const url = await hlsSessionUrl(name, { mode: next.kind, startMs: next.startMs, endMs: next.endMs, lowLatency });
      if (my !== attempt) return;
      await player.load(url, { live: next.kind !== 'ON_DEMAND', lowLatency });
    } catch (err) {
      if (my !== attempt) return;
      if (lowLatency && err.type === 'InvalidArgumentException') {
        llInput.checked = false;
        toast('This server does not offer low-latency HLS; using standard HLS.', 'info');
        return start(next);
      }
      player.stop();
      if (err.type === 'ResourceNotFoundException' && next.kind === 'LIVE') {
        const last = store.stream(name)?.lastFragment;
        showOverlay(
          'idle',
          'This camera is not sending video right now.',
          last ? h('button.btn.primary', { type: 'button', onclick: () => start({ kind: 'LIVE_REPLAY', startMs: Math.max(last.serverTimestampMs - 60_000, 0) }) }, icon('play', 16), 'Play the last minute') : null,
        );
        setText(statusText, last ? `last video ${ago(last.serverTimestampMs, store.now())}` : 'no video yet');
      } else if (err.type === 'ResourceNotFoundException') {
        showOverlay('idle', 'There is no recorded video at that time.', retryButton());
        setText(statusText, 'no video');
      } else {
        showOverlay('error', err.message || 'Playback failed.', retryButton());
        setText(statusText, 'not playing');
      }
    }
  }

  function retryButton() {
    return h('button.btn', { type: 'button', onclick: () => mode && start(mode) }, icon('refresh', 16), 'Try again');
  }

  function showOverlay(kind, message, ...actions) {
    overlay.hidden = false;
    overlay.dataset.kind = kind;
    setChildren(overlay, kind === 'loading' ? h('span.spinner', { 'aria-hidden': 'true' }) : null, h('p', {}, message), actions.length ? h('div.overlay-actions', {}, actions) : null);
  }

  function showPlayerState(state, detail) {
    el.dataset.player = state;
    if (state === 'playing') overlay.hidden = true;
    else if (state === 'waiting') showOverlay('loading', 'Buffering…');
    else if (state === 'error') showOverlay('error', detail ?? 'Playback failed.', retryButton());
    else if (state === 'ended')
      showOverlay('ended', mode?.eventId ? 'End of the event.' : mode?.kind === 'ON_DEMAND' ? 'End of the selection.' : 'End of the recording.', h('button.btn', { type: 'button', onclick: () => start({ kind: 'LIVE' }) }, icon('live', 16), 'Go live'), retryButton());
  }

  /**
   * Plays an event from a few seconds before the person appeared: the finished ones as a short
   * on-demand clip, the ones still going as a replay that runs on into live. The event's history
   * feeds the boxes, so they show during the replay too.
   */
  function playEvent(ev) {
    const from = Math.max(0, clock.eventStart(ev) - EVENT_PREROLL_MS);
    const end = clock.eventEnd(ev);
    const to = end == null ? null : Math.min(Math.max(end + EVENT_POSTROLL_MS, from + EVENT_MIN_MS), store.now() - 1000);
    const base = { label: 'Event', eventId: ev.id, startMs: from };
    start(to != null && to - from >= 2000 ? { ...base, kind: 'ON_DEMAND', endMs: to } : { ...base, kind: 'LIVE_REPLAY' });
    events.select(ev.id);
    el.dataset.eventId = ev.id;
    el.querySelector('.video-wrap').scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    getEvent(ev.id)
      .then((full) => {
        for (const msg of full.history ?? []) boxes.add(msg);
      })
      .catch(() => {});
  }

  function confirmDelete() {
    const arn = store.stream(name)?.arn;
    if (!arn) {
      toast('The stream is not known to the server (any more).', 'error');
      return;
    }
    const yes = h('button.btn.danger', { type: 'button', 'data-action': 'confirm-delete', onclick: () => void remove(arn) }, 'Delete');
    setChildren(
      confirm,
      h('div.dialog-head', {}, h('h2', { id: 'confirm-title' }, `Delete ${name}?`)),
      h('p.dialog-body', {}, 'The stream and all of its recorded video are deleted. This cannot be undone.'),
      h('div.dialog-actions', {}, h('button.btn.ghost', { type: 'button', onclick: () => confirm.close() }, 'Cancel'), yes),
    );
    if (!confirm.isConnected) document.body.append(confirm);
    confirm.showModal();
    async function remove(streamArn) {
      yes.disabled = true;
      try {
        await deleteStream(streamArn);
        confirm.close();
        toast(`${name} was deleted.`, 'success');
        location.hash = '#/';
        store.refresh();
      } catch (err) {
        yes.disabled = false;
        toast(err.message || 'The stream could not be deleted.', 'error');
      }
    }
  }

  function toggleBoxes() {
    localStorage.setItem(BOXES_KEY, boxesInput.checked ? '1' : '0');
    boxes.setEnabled(boxesInput.checked);
  }

  function toggleLowLatency() {
    localStorage.setItem(LL_KEY, llInput.checked ? '1' : '0');
    if (mode?.kind === 'LIVE') start(mode);
  }

  async function takeStill() {
    const at = player.playingDateMs ?? (mode?.kind === 'LIVE' ? store.stream(name)?.lastFragment?.serverTimestampMs : mode?.startMs);
    if (at == null) {
      toast('Start playback first, then take a still.', 'info');
      return;
    }
    snap.disabled = true;
    try {
      await stills.take(at);
    } finally {
      snap.disabled = false;
    }
  }

  /** Keeps ?at= in the address so a reload or a shared link returns to the same moment. */
  function rememberPosition(ms) {
    const base = `#/streams/${encodeURIComponent(name)}`;
    history.replaceState(null, '', ms == null ? base : `${base}?at=${Math.round(ms)}`);
  }

  let markersKey = '';
  function updateMarkers() {
    clock.setFragments(recordings.frags);
    const key = `${events.version}:${recordings.frags.length}:${recordings.frags.at(-1)?.n}`;
    if (key === markersKey) return;
    markersKey = key;
    recordings.setMarkers(
      events.rows.map((ev) => ({
        id: ev.id,
        a: clock.eventStart(ev),
        b: clock.eventEnd(ev) ?? clock.toServer(ev.latest?.frameTime ?? ev.startTime, ev.latest?.after?.fragmentNumber),
        title: `${ev.label} ${Math.round(ev.topScore * 100)}%${ev.state === 'end' ? '' : ' (active)'}`,
      })),
    );
  }

  function tick() {
    const playing = player.playingDateMs;
    recordings.setPlayhead(playing);
    updateMarkers();
    // "When supported": a server or stream without LL-HLS parts plays standard HLS, and says so.
    const askedLl = mode?.kind === 'LIVE' && llInput.checked && player.state === 'playing';
    llChip.hidden = !(mode?.kind === 'LIVE' && (player.usingParts || askedLl));
    llChip.classList.toggle('off', !player.usingParts);
    setText(llChip, player.usingParts ? 'LL-HLS' : 'LL-HLS unavailable');
    if (playing != null) el.dataset.playingMs = String(Math.round(playing));
    if (player.state !== 'playing' || playing == null || !mode) return;
    if (mode.kind === 'LIVE') {
      const latency = Math.max(0, store.now() - playing);
      el.dataset.latencyMs = String(Math.round(latency));
      statusText.className = `play-status ${latency > 10_000 ? 'bad' : latency > 5_000 ? 'meh' : 'good'}`;
      setText(statusText, `${(latency / 1000).toFixed(1)} s behind real time`);
    } else {
      statusText.className = 'play-status';
      setText(statusText, dateTime(playing, store.now()));
    }
  }

  function renderDetails(s) {
    const info = s.stream(name);
    if (!info) {
      if (s.data && !s.error) setChildren(details, h('p.note.warn', {}, 'This stream does not exist (any more).'));
      return;
    }
    badge.className = `badge ${info.state.toLowerCase()}`;
    setText(badge, { LIVE: 'Live', IDLE: 'Idle', EMPTY: 'No video' }[info.state]);
    const last = info.lastFragment;
    const rows = [
      ['Last video', last ? ago(last.serverTimestampMs + last.durationMs, s.now()) : 'never'],
      ['Bitrate', bitrate(info.recentBitrateBps)],
      ['Fragments today', count(info.fragmentsToday)],
      ['Fragment length', last ? duration(last.durationMs) : '–'],
      ['Resolution', video.videoWidth ? `${video.videoWidth} × ${video.videoHeight}` : '–'],
      ['Retention', info.dataRetentionInHours ? `${count(info.dataRetentionInHours)} h` : 'none'],
      ['Media type', info.mediaType ?? '–'],
      ['Created', dateTime(info.creationTimeMs, s.now())],
    ];
    setChildren(
      details,
      rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
      h('dt', {}, 'ARN'),
      h('dd.mono', {}, h('span.arn', { title: info.arn }, info.arn)),
    );
  }

  const onKey = (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target) || document.querySelector('dialog[open]')) return;
    if (e.key === 'l' || e.key === 'L') start({ kind: 'LIVE' });
    else if (e.key === 's' || e.key === 'S') takeStill();
  };
  document.addEventListener('keydown', onKey);
  const unsubscribe = store.subscribe(renderDetails);
  const ticker = setInterval(tick, 250);
  video.addEventListener('loadedmetadata', () => renderDetails(store));

  const at = Number(params.get('at'));
  start(Number.isFinite(at) && at > 0 ? { kind: 'LIVE_REPLAY', startMs: at } : { kind: 'LIVE' });

  return {
    el,
    destroy() {
      attempt++;
      clearInterval(ticker);
      unsubscribe();
      document.removeEventListener('keydown', onKey);
      player.stop();
      recordings.destroy();
      stills.destroy();
      events.destroy();
      boxes.destroy();
      confirm.remove();
    },
  };
}

function isTyping(target) {
  return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}
