// Playback of one HLS session in a <video>: hls.js (bundled, loaded on first use) over MSE, or the
// browser's native HLS (iOS Safari) when MSE is missing. Recovers from transient errors, reports the
// wall-clock time being shown (EXT-X-PROGRAM-DATE-TIME) so the page can show live latency.

let hlsLoading;

/** How many fragments behind the live edge plain (not LL) HLS plays. */
export const PLAIN_HLS_SYNC_FRAGMENTS = 1.25;

/** Loads ui/vendor/hls.min.js once; resolves to the Hls class. */
export function loadHls() {
  if (window.Hls) return Promise.resolve(window.Hls);
  hlsLoading ??= new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = 'ui/vendor/hls.min.js';
    s.async = true;
    s.onload = () => (window.Hls ? resolve(window.Hls) : reject(new Error('hls.js did not load')));
    s.onerror = () => {
      hlsLoading = undefined;
      reject(new Error('Could not load the video player (hls.js).'));
    };
    document.head.append(s);
  });
  return hlsLoading;
}

/**
 * state: 'idle' | 'loading' | 'playing' | 'waiting' | 'ended' | 'error'.
 * onState(state, detail) — detail is an error message for 'error'.
 */
export class Player {
  constructor(video, { onState } = {}) {
    this.video = video;
    this.onState = onState ?? (() => {});
    this.hls = null;
    this.native = false;
    this.session = 0;
    this.state = 'idle';
    this.fatalErrors = [];
    for (const [ev, st] of [
      ['playing', 'playing'],
      ['waiting', 'waiting'],
      ['ended', 'ended'],
    ]) {
      video.addEventListener(ev, () => this.setState(st));
    }
    video.addEventListener('error', () => {
      if (this.native) this.setState('error', 'The browser could not play this video.');
    });
  }

  setState(state, detail) {
    if (this.state === state && state !== 'error') return;
    this.state = state;
    this.onState(state, detail);
  }

  /**
   * Plays `url` (a master playlist). `live` tunes buffering for the live edge; `lowLatency` lets
   * hls.js use LL-HLS parts and blocking reloads when the playlist offers them.
   */
  async load(url, { live = false, lowLatency = false } = {}) {
    const session = ++this.session;
    this.teardown();
    this.setState('loading');
    const video = this.video;
    video.muted = true;
    video.playsInline = true;
    let Hls;
    try {
      Hls = await loadHls();
    } catch (err) {
      if (!video.canPlayType('application/vnd.apple.mpegurl')) throw err;
    }
    if (session !== this.session) return;

    if (!Hls?.isSupported()) {
      if (!video.canPlayType('application/vnd.apple.mpegurl')) {
        this.setState('error', 'This browser cannot play HLS video.');
        return;
      }
      this.native = true;
      video.src = url;
      this.tryPlay();
      return;
    }

    const hls = new Hls({
      // Blocking playlist reloads (_HLS_msn) for every live session: Kestrel answers them on plain
      // playlists too, so a new segment is fetched as soon as it is stored.
      lowLatencyMode: live || lowLatency,
      enableWorker: true,
      backBufferLength: live ? 30 : 90,
      // Keep live latency from drifting: play slightly fast when behind the target (peers.md §1.6).
      maxLiveSyncPlaybackRate: live ? 1.25 : 1,
      // LL-HLS: hold back what the playlist advertises (PART-HOLD-BACK, three parts); any
      // liveSync* setting here would override it. Plain HLS: 1.25 fragments instead of hls.js's
      // three: with blocking reloads the next segment is listed as soon as it is stored, so a
      // quarter of a fragment covers delivery (glass-to-glass bench: no stalls at 2 s GOPs).
      ...(lowLatency ? {} : { liveSyncDurationCount: PLAIN_HLS_SYNC_FRAGMENTS }),
      manifestLoadingMaxRetry: 3,
      levelLoadingMaxRetry: 4,
      fragLoadingMaxRetry: 4,
    });
    this.hls = hls;
    let recoveries = 0;
    hls.on(Hls.Events.ERROR, (_e, data) => {
      if (!data.fatal) return;
      this.fatalErrors.push(`${data.type}:${data.details}`);
      if (session !== this.session) return;
      // One recovery attempt per kind keeps a glitch from ending playback, without looping forever.
      if (recoveries < 3 && data.type === Hls.ErrorTypes.MEDIA_ERROR) {
        recoveries++;
        hls.recoverMediaError();
        return;
      }
      if (recoveries < 3 && data.type === Hls.ErrorTypes.NETWORK_ERROR && data.details !== Hls.ErrorDetails.MANIFEST_LOAD_ERROR) {
        recoveries++;
        hls.startLoad();
        return;
      }
      this.setState('error', describeHlsError(data));
    });
    hls.on(Hls.Events.FRAG_BUFFERED, () => {
      recoveries = 0;
    });
    hls.on(Hls.Events.MANIFEST_PARSED, () => this.tryPlay());
    hls.attachMedia(video);
    hls.loadSource(url);
  }

  tryPlay() {
    const p = this.video.play();
    if (p && typeof p.catch === 'function') p.catch(() => {});
  }

  /** True when the current playlist has LL-HLS parts (EXT-X-PART). */
  get usingParts() {
    const details = this.hls?.levels?.[this.hls.currentLevel >= 0 ? this.hls.currentLevel : 0]?.details;
    return Boolean(details?.partList?.length);
  }

  /** Wall-clock ms of the frame being shown, from PROGRAM-DATE-TIME; null when unknown. */
  get playingDateMs() {
    if (this.hls) {
      const d = this.hls.playingDate;
      return d ? d.getTime() : null;
    }
    if (this.native && typeof this.video.getStartDate === 'function') {
      const start = this.video.getStartDate().getTime();
      return Number.isFinite(start) ? start + this.video.currentTime * 1000 : null;
    }
    return null;
  }

  teardown() {
    if (this.hls) {
      this.hls.destroy();
      this.hls = null;
    }
    if (this.native) {
      this.video.removeAttribute('src');
      this.video.load();
      this.native = false;
    }
  }

  stop() {
    this.session++;
    this.teardown();
    this.setState('idle');
  }
}

function describeHlsError(data) {
  const status = data.response?.code;
  if (status === 404) return 'No video is available for this time.';
  if (status === 403) return 'The playback session expired.';
  if (data.type === 'networkError') return 'Lost the connection to the server.';
  if (data.type === 'mediaError') return 'The video could not be decoded in this browser.';
  return `Playback failed (${data.details}).`;
}
