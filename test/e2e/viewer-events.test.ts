/**
 * Detection in the web viewer, end to end in headless Chromium: a server with in-process person
 * detection (CenterNet ONNX), the people fixture pushed live in a loop (one paced PutMedia session
 * per pass, RELATIVE timecodes anchored at the wall clock, like a camera), and the viewer: the grid card counts events, the stream page
 * lists them with snapshot thumbnails, draws boxes over the live video, marks them on the timeline,
 * and plays one back when it is clicked. Screenshots: test-artifacts/viewer-events-*.png.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFfmpeg } from '../../src/media-tools/ffmpeg.ts';
import { launchBrowser, screenshot, type TestBrowser } from '../support/browser.ts';
import { signedFetch } from '../support/auth.ts';
import { signInViewer } from '../support/sign-in.ts';
import { createStream, waitForFragments } from '../support/live-push.ts';
import { pacedPieces } from '../support/paced-mkv.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const FIXTURE = path.resolve('fixtures/people_vtest_3s.mkv');
const STREAM = 'lobby';
const LAPTOP = { width: 1366, height: 860 };
const PHONE = { width: 390, height: 844 };

let srv: TestServer;
let browser: TestBrowser;
let camera: { stop(): Promise<void>; errors: string[] } | undefined;
let page: Page;
let tmp: string;
let people: string;

interface ApiEvent {
  id: string;
  state: string;
  startTime: number;
  endTime: number | null;
  snapshot: { clean: { url: string } } | null;
  latest: { serverTimestamp: number; frameTime: number };
}

/**
 * The people clip at real time, over and over: a camera whose producer clock is the wall clock.
 * One PutMedia session per pass (a single ffmpeg `-stream_loop` session stalls the in-process
 * detector after a few fragments; see the report of this change).
 */
function pushPeopleLive(url: string, stream: string) {
  const abort = new AbortController();
  const errors: string[] = [];
  const loop = (async () => {
    while (!abort.signal.aborted) {
      const res = await rawPutMedia(url, stream, pacedPieces(people, { signal: abort.signal }), {
        'x-amzn-fragment-timecode-type': 'RELATIVE',
        'x-amzn-producer-start-timestamp': (Date.now() / 1000).toFixed(3),
      }).catch((err: Error) => ({ status: 0, acks: [], body: err.message }));
      if (res.status !== 200) errors.push(`PutMedia ${res.status}: ${res.body.slice(0, 200)}`);
      if (errors.length > 20) break;
    }
  })();
  return {
    errors,
    async stop() {
      abort.abort();
      await loop;
    },
  };
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-viewer-events-'));
  // The fixture four times over (12 s per PutMedia session), without B-frames: the first fragment of
  // a session with B-frames cannot be packaged as fMP4 (negative decode time; see the report).
  people = path.join(tmp, 'people-12s.mkv');
  await runFfmpeg(['-stream_loop', '3', '-i', FIXTURE, '-an', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '28', '-bf', '0',
    '-g', '10', '-keyint_min', '10', '-sc_threshold', '0', '-pix_fmt', 'yuv420p', '-f', 'matroska', people]);
  // The default 2 fps. (At 1 fps the 3 s loop put each person back in the same place every 3 s, which
  // only kept tracks alive while the tracker revived tracks older than endAfterMs; it no longer does.)
  srv = await startTestServer({
    detection: { enabled: true, detect: { sampling: 2, endAfterMs: 2500 }, discoveryIntervalMs: 200 },
  });
  await createStream(srv.url, STREAM);
  await createStream(srv.url, 'parking');
  camera = pushPeopleLive(srv.url, STREAM);
  await waitForFragments(srv.url, STREAM, 3);
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await camera?.stop();
  await browser?.close();
  await srv?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const logs = () => browser.logs.slice(-20).join('\n');

async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${logs()}${camera?.errors.length ? `\ncamera: ${camera.errors.slice(-3).join('\n')}` : ''}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function apiEvents(): Promise<ApiEvent[]> {
  return ((await (await signedFetch(`${srv.url}/api/v1/events?stream=${STREAM}&order=desc`)).json()) as { events: ApiEvent[] }).events;
}

/** At least one event row whose snapshot thumbnail has loaded. */
async function waitForThumbnail(p: Page): Promise<void> {
  await waitFor('an event row with a loaded thumbnail', () =>
    p.$$eval('.event-row .event-thumb img', (imgs) => imgs.some((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0 && i.classList.contains('loaded'))),
  );
}

/** Waits until the overlay shows a box, and returns the box and video rects at that moment. */
async function waitForBox(p: Page) {
  let shot: { count: number; boxes: Array<{ x: number; y: number; w: number; h: number }>; video: { x: number; y: number; w: number; h: number }; mode: string | undefined } | undefined;
  await waitFor('a box over the live video', async () => {
    // Read inside an animation frame, after the overlay's own render for that frame.
    shot = await p.evaluate(async () => {
      await new Promise((r) => requestAnimationFrame(r));
      const layer = document.querySelector('.det-layer') as HTMLElement;
      const r = (el: Element) => {
        const b = el.getBoundingClientRect();
        return { x: b.x, y: b.y, w: b.width, h: b.height };
      };
      return {
        count: Number(layer.dataset.boxCount),
        boxes: [...layer.querySelectorAll('.det-box:not([hidden])')].map(r),
        video: r(document.querySelector('.video-wrap video')!),
        mode: (document.querySelector('.stream-page') as HTMLElement).dataset.mode,
      };
    });
    return shot.count > 0 && shot.mode === 'LIVE';
  }, 90_000);
  return shot!;
}

describe('detection in the web viewer', () => {
  it('counts recent events on the grid card of the stream with people', async () => {
    page = await browser.newPage(LAPTOP);
    page.on('response', (r) => {
      if (r.status() >= 500) browser.logs.push(`[http ${r.status()}] ${r.url()}`);
    });
    await signInViewer(page, srv.url);
    const card = page.locator(`a.card[data-stream="${STREAM}"]`);
    await waitFor('an events count on the card', async () => Number(await card.getAttribute('data-events').catch(() => '0')) > 0, 90_000);
    expect(await card.locator('.event-chip').isVisible()).toBe(true);
    expect(await page.locator('a.card[data-stream="parking"] .event-chip').isHidden()).toBe(true);
    await waitFor('the card still', () => card.locator('.thumb img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0));
    await screenshot(page, 'viewer-events-grid-laptop');
  }, 120_000);

  it('lists events with thumbnails, draws boxes over live video and marks the timeline', async () => {
    await page.locator(`a.card[data-stream="${STREAM}"]`).click();
    await page.waitForSelector('.stream-page[data-player="playing"]', { timeout: 30_000 });
    await waitForThumbnail(page);
    const first = page.locator('.event-row').first();
    expect(await first.locator('.event-label').innerText()).toBe('Person');
    expect(await first.locator('.event-score').innerText()).toMatch(/^\d{1,3}%$/);
    expect(await first.locator('.event-time').innerText()).toMatch(/\d\d:\d\d:\d\d · \d+ (s|min)/);

    const shot = await waitForBox(page);
    expect(shot.boxes.length).toBe(shot.count);
    // The 4:3 picture is pillarboxed in the 16:9 player: every box lies inside the picture, not on the bars.
    const pictureW = (shot.video.h * 768) / 576;
    const left = shot.video.x + (shot.video.w - pictureW) / 2;
    for (const b of shot.boxes) {
      expect(b.w).toBeGreaterThan(2);
      expect(b.x).toBeGreaterThanOrEqual(left - 1);
      expect(b.x + b.w).toBeLessThanOrEqual(left + pictureW + 1);
      expect(b.y).toBeGreaterThanOrEqual(shot.video.y - 1);
      expect(b.y + b.h).toBeLessThanOrEqual(shot.video.y + shot.video.h + 1);
    }
    await screenshot(page, 'viewer-events-live-laptop');

    // The 15-minute window spreads the markers out.
    await page.click('button[data-preset="15m"]');
    await waitFor('event markers on the timeline', async () => Number(await page.getAttribute('.tl-track', 'data-markers')) > 0);
    expect(browser.logs.filter((l) => /Content Security Policy|\[pageerror\]/.test(l))).toEqual([]);
  }, 180_000);

  it('plays an event back from just before it started when it is clicked', async () => {
    await waitFor('an ended event in the list', async () => (await page.locator('.event-row[data-state="end"]').count()) > 0);
    const id = (await page.locator('.event-row[data-state="end"]').first().getAttribute('data-event-id'))!;
    const row = page.locator(`.event-row[data-event-id="${id}"]`);
    const ev = (await apiEvents()).find((e) => e.id === id)!;
    expect(ev).toBeTruthy();
    // The camera's clock is the wall clock here, so producer and server times nearly agree.
    const startServerMs = ev.startTime + (ev.latest.serverTimestamp - ev.latest.frameTime);

    await row.locator('button.event-item').click();
    await waitFor('event playback', async () => (await page.getAttribute('.stream-page', 'data-event-id')) === id);
    expect(await page.getAttribute('.stream-page', 'data-mode')).toMatch(/^(ON_DEMAND|LIVE_REPLAY)$/);
    expect(await row.locator('button.event-item').getAttribute('aria-current')).toBe('true');
    await page.waitForSelector('.stream-page[data-player="playing"]', { timeout: 30_000 });
    const t0 = await page.$eval('video', (v: HTMLVideoElement) => v.currentTime);
    await waitFor('currentTime to advance', async () => (await page.$eval('video', (v: HTMLVideoElement) => v.currentTime)) >= t0 + 1);
    const playingMs = Number(await page.getAttribute('.stream-page', 'data-playing-ms'));
    // Playback starts a few seconds before the event: the playing date is near its start, not at live.
    expect(Math.abs(playingMs - startServerMs)).toBeLessThan(12_000);
    expect(await page.locator('.mode-pill').innerText()).toMatch(/event/i);
    // The event's own history draws its boxes during the replay.
    await waitFor('a box during the event replay', async () =>
      page.$eval('.det-layer', (l) => [...l.querySelectorAll('.det-box:not([hidden])')].some((b) => (b as HTMLElement).dataset.eventId === document.querySelector<HTMLElement>('.stream-page')!.dataset.eventId)),
    );
    await screenshot(page, 'viewer-events-playback-laptop', true);
  }, 90_000);

  it('works on a phone-sized screen', async () => {
    const phone = await browser.newPage(PHONE);
    await phone.goto(`${srv.url}/#/streams/${STREAM}`);
    await phone.waitForSelector('.stream-page[data-player="playing"]', { timeout: 30_000 });
    await waitForThumbnail(phone);
    await waitForBox(phone);
    await screenshot(phone, 'viewer-events-phone');
    await screenshot(phone, 'viewer-events-phone-full', true);
    await phone.close();
    expect(browser.logs.filter((l) => /Content Security Policy|\[pageerror\]/.test(l))).toEqual([]);
  }, 150_000);
});
