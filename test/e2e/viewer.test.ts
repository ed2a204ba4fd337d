/**
 * The web viewer end to end in headless Chromium: a camera pushed live with ffmpeg shows up in the
 * grid as live with a still, its page plays live video, the timeline lists its fragments, a range
 * selected on the timeline downloads as an MP4 that ffprobe reads, and a still can be taken.
 * Screenshots at laptop and phone size go to test-artifacts/viewer-*.png.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.ts';
import { makeH264Mkv } from '../support/media.ts';
import { launchBrowser, screenshot, type TestBrowser } from '../support/browser.ts';
import { signInViewer } from '../support/sign-in.ts';
import { createStream, listAll, pushLive, pushOnce, waitForFragments } from '../support/live-push.ts';
import { probe, type FfmpegProcess } from '../../src/media-tools/ffmpeg.ts';

let srv: TestServer;
let browser: TestBrowser;
let camera: FfmpegProcess | undefined;
let tmp: string;
let page: Page;

const LAPTOP = { width: 1366, height: 860 };
const PHONE = { width: 390, height: 844 };

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-viewer-'));
  srv = await startTestServer();
  await createStream(srv.url, 'front-door');
  await createStream(srv.url, 'backyard', 48);
  await createStream(srv.url, 'garage');
  const [live, short] = await Promise.all([
    makeH264Mkv({ seconds: 6, fps: 25, gop: 25, bframes: 0, size: '640x360' }),
    makeH264Mkv({ seconds: 3, fps: 25, gop: 25, bframes: 0, size: '320x240' }),
  ]);
  camera = pushLive(srv.url, 'front-door', live);
  // At real time: a producer that finishes instantly can lose fragments on the server (see report).
  await pushOnce(srv.url, 'backyard', short, true);
  await waitForFragments(srv.url, 'front-door', 4);
  browser = await launchBrowser();
}, 90_000);

afterAll(async () => {
  await camera?.stop(2000);
  await browser?.close();
  await srv?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const logs = () => browser.logs.slice(-20).join('\n');

async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${logs()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function waitForLiveCard(p: Page): Promise<void> {
  const card = p.locator('a.card[data-stream="front-door"]');
  await waitFor('the front-door card to be live', async () => (await card.getAttribute('data-state').catch(() => null)) === 'LIVE');
  // The card's still (GetImages on the newest fragment) has loaded.
  await waitFor('the card still', () => card.locator('img').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0 && !img.hidden));
}

async function waitForPlayback(p: Page): Promise<void> {
  await p.waitForSelector('.stream-page[data-player="playing"]', { timeout: 30_000 });
  const t0 = await p.$eval('video', (v: HTMLVideoElement) => v.currentTime);
  await waitFor('currentTime to advance by 1 s', async () => (await p.$eval('video', (v: HTMLVideoElement) => v.currentTime)) >= t0 + 1);
}

describe('web viewer', () => {
  it('lists the pushed stream as live, with a still, next to idle and empty ones', async () => {
    page = await browser.newPage(LAPTOP);
    // Signs in as the test admin through the viewer's form; the session cookie serves every tab below.
    await signInViewer(page, srv.url);
    await waitForLiveCard(page);
    expect(await page.locator('a.card[data-stream="garage"]').getAttribute('data-state')).toBe('EMPTY');
    expect(await page.locator('a.card[data-stream="backyard"]').count()).toBe(1);
    expect(await page.locator('#conn').getAttribute('data-state')).toBe('ok');
    await screenshot(page, 'viewer-grid-laptop');
  }, 60_000);

  it('plays the stream live when its card is clicked, with latency shown and fragments on the timeline', async () => {
    await page.locator('a.card[data-stream="front-door"]').click();
    await waitForPlayback(page);
    await waitFor('the latency read-out', async () => /behind real time/.test(await page.locator('.play-status').innerText()));
    expect(await page.getAttribute('.stream-page', 'data-mode')).toBe('LIVE');
    await waitFor('fragments on the timeline', async () => Number(await page.getAttribute('.tl-track', 'data-fragments')) > 0);
    expect(await page.locator('.tl-status').innerText()).toMatch(/\d+ fragments/);
  }, 60_000);

  it('switches live playback to LL-HLS with the low-latency toggle', async () => {
    await page.locator('label.switch', { hasText: 'Low latency' }).click();
    const chip = page.locator('.play-info .chip');
    await waitFor('LL-HLS parts in use', async () => !(await chip.isHidden()) && (await chip.innerText()) === 'LL-HLS');
    await waitForPlayback(page);
    await page.locator('label.switch', { hasText: 'Low latency' }).click();
    await waitFor('standard HLS again', () => chip.isHidden());
    await waitForPlayback(page);
  }, 60_000);

  it('downloads a range selected on a custom timeline window as an MP4 clip', async () => {
    await page.click('button[data-preset="custom"]');
    const [from, to] = await page.evaluate(() => {
      const pad = (n: number) => String(n).padStart(2, '0');
      const local = (ms: number) => {
        const d = new Date(ms);
        return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
      };
      return [local(Date.now() - 2 * 60_000), local(Date.now() + 60_000)];
    });
    await page.fill('.custom-range input[aria-label="From"]', from);
    await page.fill('.custom-range input[aria-label="To"]', to);
    await page.click('.custom-range button[type="submit"]');
    await waitFor('the custom window to load', async () =>
      (await page.locator('.recordings').getAttribute('aria-busy')) === null && Number(await page.getAttribute('.tl-track', 'data-fragments')) > 2,
    );

    // Drag across the recorded part of the window, from just inside the first fragment to now.
    const track = page.locator('.tl-track');
    await track.scrollIntoViewIfNeeded();
    const box = (await track.boundingBox())!;
    const start = Number(await track.getAttribute('data-start'));
    const end = Number(await track.getAttribute('data-end'));
    const frags = await listAll(srv.url, 'front-door');
    const x = (ms: number) => box.x + ((ms - start) / (end - start)) * box.width;
    const y = box.y + 20;
    await page.mouse.move(x(frags[0]!.ServerTimestamp * 1000 + 100), y);
    await page.mouse.down();
    await page.mouse.move(x(Date.now() + 5000), y, { steps: 8 });
    await page.mouse.up();
    await page.waitForSelector('.selection:not([hidden]) [data-action="download-clip"]:not([disabled])');
    expect(await page.locator('.sel-summary').innerText()).toMatch(/\d+ fragments/);

    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), page.click('[data-action="download-clip"]')]);
    expect(download.suggestedFilename()).toMatch(/^front-door-\d{8}-\d{6}\.mp4$/);
    const file = path.join(tmp, download.suggestedFilename());
    await download.saveAs(file);
    const info = await probe(file);
    const video = info.streams.find((s) => s.type === 'video');
    expect(video?.codec).toBe('h264');
    expect(video?.width).toBe(640);
    expect(info.durationSec ?? 0).toBeGreaterThan(1);
    await page.waitForSelector('.progress[data-done="true"]');
    expect(await page.locator('.progress-text').innerText()).toContain('Saved');
  }, 90_000);

  it('plays the selected range on demand, and replays from a clicked moment', async () => {
    await page.click('.sel-actions button:has-text("Play selection")');
    await waitFor('on-demand mode', async () => (await page.getAttribute('.stream-page', 'data-mode')) === 'ON_DEMAND');
    await waitForPlayback(page);

    const track = page.locator('.tl-track');
    await track.scrollIntoViewIfNeeded();
    const box = (await track.boundingBox())!;
    const start = Number(await track.getAttribute('data-start'));
    const end = Number(await track.getAttribute('data-end'));
    const [first] = await listAll(srv.url, 'front-door');
    await page.mouse.click(box.x + ((first!.ServerTimestamp * 1000 + 2000 - start) / (end - start)) * box.width, box.y + 20);
    await waitFor('replay mode', async () => (await page.getAttribute('.stream-page', 'data-mode')) === 'LIVE_REPLAY');
    await waitForPlayback(page);
    expect(page.url()).toMatch(/#\/streams\/front-door\?at=\d+$/);
  }, 60_000);

  it('takes a still at the playing time and offers it as a JPEG', async () => {
    await page.click('[data-action="still"]');
    await page.waitForSelector('dialog.still-dialog[open] img.still-image');
    await waitFor('the still image', () => page.$eval('img.still-image', (img: HTMLImageElement) => img.complete && img.naturalWidth > 0));
    expect(await page.$eval('img.still-image', (img: HTMLImageElement) => img.naturalWidth)).toBe(640);
    await screenshot(page, 'viewer-still-laptop');
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog.still-dialog[open]', { state: 'detached', timeout: 5000 }).catch(() => {});
    expect(await page.locator('.stills-list li').count()).toBe(1);
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, 'viewer-player-laptop', true);
  }, 60_000);

  it('works on a phone-sized screen', async () => {
    const phone = await browser.newPage(PHONE);
    await phone.goto(`${srv.url}/`);
    await waitForLiveCard(phone);
    await screenshot(phone, 'viewer-grid-phone', true);
    await phone.locator('a.card[data-stream="front-door"]').click();
    await waitForPlayback(phone);
    await waitFor('fragments on the timeline', async () => Number(await phone.getAttribute('.tl-track', 'data-fragments')) > 0);
    await screenshot(phone, 'viewer-player-phone', true);
    await phone.close();
    // Nothing was blocked by the viewer's Content-Security-Policy and no script threw.
    expect(browser.logs.filter((l) => /Content Security Policy|\[pageerror\]/.test(l))).toEqual([]);
  }, 60_000);
});
