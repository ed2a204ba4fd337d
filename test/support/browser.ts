/**
 * Headless Chromium for end-to-end tests (toolchain.md §8): Debian's /usr/bin/chromium driven by
 * playwright-core, a throwaway profile per launch, screenshots kept under test-artifacts/.
 * Also the in-page hls.js harness the playback tests share.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.KESTREL_CHROMIUM || '/usr/bin/chromium';
export const ARTIFACTS = path.resolve('test-artifacts');

export interface TestBrowser {
  context: BrowserContext;
  /** A new tab; console errors and page errors are collected into `logs` for failure messages. */
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  logs: string[];
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1366, height: 860 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
  const logs: string[] = [];
  return {
    context,
    logs,
    async newPage(viewport) {
      const page = await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') logs.push(`[console.${m.type()}] ${m.text()}`);
      });
      page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
      return page;
    },
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a PNG of the page as test-artifacts/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string, fullPage = false): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  return file;
}

/** A same-origin blank page on `origin` (intercepted, so the server needs no test route). */
export async function openHarness(page: Page, origin: string): Promise<void> {
  const url = `${origin}/__e2e__/harness.html`;
  await page.route(url, (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: '<!doctype html><meta charset="utf-8"><title>hls harness</title><script src="/ui/vendor/hls.min.js"></script><video id="v" muted playsinline width="640" height="360"></video>',
    }),
  );
  await page.goto(url);
  await page.waitForFunction(() => typeof (window as unknown as { Hls?: unknown }).Hls === 'function');
}

/** Shaka Player's compiled build (npm shaka-player), served to the harness page from node_modules. */
const SHAKA_JS = path.resolve('node_modules/shaka-player/dist/shaka-player.compiled.js');

/**
 * Like openHarness, with Shaka Player loaded as well (served from node_modules by interception,
 * as the viewer serves hls.js: no download at test time).
 */
export async function openShakaHarness(page: Page, origin: string): Promise<void> {
  const url = `${origin}/__e2e__/shaka.html`;
  await page.route(`${origin}/__e2e__/shaka-player.compiled.js`, (route) =>
    route.fulfill({ contentType: 'application/javascript', body: fs.readFileSync(SHAKA_JS, 'utf8') }),
  );
  await page.route(url, (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: '<!doctype html><meta charset="utf-8"><title>shaka harness</title><script src="/__e2e__/shaka-player.compiled.js"></script><video id="v" muted playsinline width="640" height="360"></video>',
    }),
  );
  await page.goto(url);
  await page.waitForFunction(() => typeof (window as unknown as { shaka?: { Player?: unknown } }).shaka?.Player === 'function');
}

/** What a matrix play saw: decoded frames (getVideoPlaybackQuality), currentTime, errors. */
export interface FramesReport {
  frames: number;
  /** totalVideoFrames halfway through a live play (frames must keep rising after it). */
  midFrames: number;
  firstTime: number;
  lastTime: number;
  ended: boolean;
  errors: string[];
}

/**
 * Plays `url` in the harness page with hls.js or Shaka; live (`liveSeconds`): for that long after
 * playback starts; otherwise until the video element ends (or `timeoutMs`).
 */
export async function playFrames(page: Page, player: 'hls.js' | 'shaka', url: string, opts: { liveSeconds?: number; timeoutMs?: number } = {}): Promise<FramesReport> {
  await page.evaluate(
    async ({ url, player }) => {
      type W = {
        Hls: new (cfg: object) => { on(ev: string, cb: (e: string, d: { fatal: boolean; details: string }) => void): void; loadSource(u: string): void; attachMedia(v: HTMLVideoElement): void };
        shaka: { polyfill: { installAll(): void }; Player: new () => { attach(v: HTMLVideoElement): Promise<void>; load(u: string): Promise<void>; addEventListener(t: string, cb: (e: { detail?: { code?: number; data?: unknown[] } }) => void): void } };
        __errors: string[];
      };
      const w = window as unknown as W;
      w.__errors = [];
      const video = document.getElementById('v') as HTMLVideoElement;
      if (player === 'hls.js') {
        const hls = new w.Hls({ enableWorker: true, lowLatencyMode: false });
        hls.on('hlsError', (_e, d) => {
          if (d.fatal) w.__errors.push(`hls.js fatal ${d.details}`);
        });
        hls.attachMedia(video);
        hls.loadSource(url);
      } else {
        w.shaka.polyfill.installAll();
        const p = new w.shaka.Player();
        p.addEventListener('error', (e) => w.__errors.push(`shaka error ${e.detail?.code} ${JSON.stringify(e.detail?.data ?? []).slice(0, 300)}`));
        await p.attach(video);
        await p.load(url).catch((e: { code?: number; message?: string }) => w.__errors.push(`shaka load ${e.code} ${e.message ?? ''}`));
      }
      void video.play().catch(() => {});
    },
    { url, player },
  );
  const read = () =>
    page.evaluate(() => {
      const v = document.getElementById('v') as HTMLVideoElement;
      return { time: v.currentTime, ended: v.ended, frames: v.getVideoPlaybackQuality().totalVideoFrames, errors: [...(window as unknown as { __errors: string[] }).__errors] };
    });
  const deadline = Date.now() + (opts.timeoutMs ?? 40_000);
  let state = await read();
  let startedAt: number | undefined;
  let firstTime = 0;
  let midFrames = 0;
  while (Date.now() < deadline && state.errors.length === 0 && !state.ended) {
    await new Promise((r) => setTimeout(r, 200));
    state = await read();
    if (startedAt === undefined && state.time > 0) {
      startedAt = Date.now();
      firstTime = state.time;
    }
    if (opts.liveSeconds !== undefined && startedAt !== undefined) {
      const elapsed = Date.now() - startedAt;
      if (midFrames === 0 && elapsed >= (opts.liveSeconds * 1000) / 2) midFrames = state.frames;
      if (elapsed >= opts.liveSeconds * 1000) break;
    }
  }
  return { frames: state.frames, midFrames, firstTime, lastTime: state.time, ended: state.ended, errors: state.errors };
}

export interface PlaybackReport {
  /** currentTime when playback was first seen moving, and the latest value. */
  firstTime: number;
  lastTime: number;
  fatalErrors: string[];
  errors: string[];
  width: number;
  height: number;
  /** Wall-clock ms of the playing frame (PROGRAM-DATE-TIME), if any. */
  playingDateMs: number | null;
  usedParts: boolean;
}

/**
 * Plays `url` with hls.js in the harness page and waits until video.currentTime has advanced by
 * `advanceSec` past the first time it was seen playing (or `untilTime` is reached), or `timeoutMs`.
 */
export async function playWithHlsJs(
  page: Page,
  url: string,
  opts: { lowLatencyMode?: boolean; advanceSec?: number; untilTime?: number; timeoutMs?: number } = {},
): Promise<PlaybackReport> {
  await page.evaluate(
    ({ url, lowLatencyMode }) => {
      type HlsLike = {
        new (cfg: object): {
          on(ev: string, cb: (e: string, d: { fatal: boolean; type: string; details: string; reason?: string; error?: Error }) => void): void;
          loadSource(u: string): void;
          attachMedia(v: HTMLVideoElement): void;
          destroy(): void;
          playingDate: Date | null;
          levels: Array<{ details?: { partList?: unknown[] | null } }>;
        };
        Events: { ERROR: string; MANIFEST_PARSED: string };
      };
      const w = window as unknown as { Hls: HlsLike; __hls?: InstanceType<HlsLike>; __fatal: string[]; __errors: string[] };
      w.__hls?.destroy();
      w.__fatal = [];
      w.__errors = [];
      const video = document.getElementById('v') as HTMLVideoElement;
      const hls = new w.Hls({ lowLatencyMode, enableWorker: true });
      w.__hls = hls;
      hls.on(w.Hls.Events.ERROR, (_e, d) =>
        (d.fatal ? w.__fatal : w.__errors).push(`${d.type}:${d.details}${d.reason || d.error ? ` (${d.reason ?? d.error?.message})` : ''}`),
      );
      hls.on(w.Hls.Events.MANIFEST_PARSED, () => void video.play().catch(() => {}));
      hls.attachMedia(video);
      hls.loadSource(url);
    },
    { url, lowLatencyMode: opts.lowLatencyMode ?? false },
  );
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let first: number | undefined;
  let state = await readState(page);
  while (Date.now() < deadline) {
    state = await readState(page);
    if (state.fatalErrors.length) break;
    if (first === undefined && state.time > 0 && !state.paused) first = state.time;
    if (first !== undefined && state.time - first >= (opts.advanceSec ?? 1)) {
      if (opts.untilTime === undefined || state.time >= opts.untilTime) break;
    }
    if (state.ended) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    firstTime: first ?? state.time,
    lastTime: state.time,
    fatalErrors: state.fatalErrors,
    errors: state.errors,
    width: state.width,
    height: state.height,
    playingDateMs: state.playingDateMs,
    usedParts: state.usedParts,
  };
}

async function readState(page: Page) {
  return page.evaluate(() => {
    const w = window as unknown as {
      __fatal: string[];
      __errors: string[];
      __hls?: { playingDate: Date | null; levels: Array<{ details?: { partList?: unknown[] | null } }> };
    };
    const v = document.getElementById('v') as HTMLVideoElement;
    return {
      time: v.currentTime,
      paused: v.paused,
      ended: v.ended,
      width: v.videoWidth,
      height: v.videoHeight,
      fatalErrors: [...w.__fatal],
      errors: [...w.__errors],
      playingDateMs: w.__hls?.playingDate?.getTime() ?? null,
      usedParts: (w.__hls?.levels ?? []).some((l) => (l.details?.partList?.length ?? 0) > 0),
    };
  });
}
