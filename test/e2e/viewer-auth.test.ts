/**
 * Signing in to the viewer, in headless Chromium against a real server with authentication on:
 * the sign-in form and the 401/403 data endpoints before it, wrong passwords refused, the session
 * cookie's attributes, the admin's users & keys page (a key made there works with the AWS SDK until
 * revoked), a viewer-role user who sees no delete control and is refused by the server, CSRF from
 * "evil" pages on another port (same-site, so the cookie IS sent) and on another host name
 * (cross-site), a password reset ending that user's session, sign-out, and the login rate limit.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { KinesisVideoClient, ListStreamsCommand } from '@aws-sdk/client-kinesis-video';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedFetch, TEST_ADMIN_PASSWORD } from '../support/auth.ts';
import { launchBrowser, screenshot, type TestBrowser } from '../support/browser.ts';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';
import { signInHttp, signInViewer } from '../support/sign-in.ts';
import { until } from '../support/wait.ts';

let srv: TestServer;
let admin: TestBrowser;
let other: TestBrowser | undefined;
let page: Page;
let evil: http.Server;
let evilPort = 0;

const VIC_PASSWORD = 'vic-password-123';
const OPS_PASSWORD = 'ops-password-123';

async function kvs<T = Record<string, unknown>>(op: string, body: unknown): Promise<{ status: number; body: T; type: string }> {
  const res = await signedFetch(`${srv.url}/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T, type: (res.headers.get('x-amzn-errortype') ?? '').split(':')[0]! };
}

const streamNames = async () => (await kvs<{ StreamInfoList: Array<{ StreamName: string }> }>('listStreams', {})).body.StreamInfoList.map((s) => s.StreamName).sort();
const userNames = async () => ((await (await signedFetch(`${srv.url}/api/v1/users`)).json()) as { users: Array<{ name: string }> }).users.map((u) => u.name).sort();

/** Waits on `fn`; on a timeout the error carries the servers' last log lines. */
async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  await until(fn, what, timeoutMs).catch((err: Error) => {
    throw new Error(`${err.message}\n${[...admin.logs, ...(other?.logs ?? [])].slice(-20).join('\n')}`);
  });
}

beforeAll(async () => {
  // A small login budget so the rate-limit test needs few attempts (every failure below counts).
  srv = await startTestServer({ viewerSessions: { login: { maxFailuresPerUser: 3, maxFailuresPerAddress: 12, windowMs: 10 * 60_000 } } });
  for (const name of ['front-door', 'backyard', 'garage']) expect((await kvs('createStream', { StreamName: name, DataRetentionInHours: 24 })).status).toBe(200);
  // The "evil" site: any page on another port of the same host.
  evil = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><meta charset="utf-8"><title>cute cats</title><h1>cats</h1>'));
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', () => resolve()));
  evilPort = (evil.address() as AddressInfo).port;
  admin = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await other?.close();
  await admin?.close();
  await new Promise((r) => evil?.close(r));
  await srv?.close();
});

describe('viewer sign-in', () => {
  it('shows the sign-in form to a visitor without a session, and the data endpoints refuse', async () => {
    page = await admin.newPage();
    await page.goto(`${srv.url}/#/streams/front-door`);
    await page.waitForSelector('form.signin-form');
    expect(await page.locator('a.card').count()).toBe(0);
    expect(await page.locator('#user-menu').isHidden()).toBe(true);
    expect(await page.locator('.topnav').isHidden()).toBe(true);
    await screenshot(page, 'viewer-auth-signin');
    for (const p of ['/api/v1/streams', '/api/v1/events?stream=front-door', '/api/v1/events/stream', '/api/v1/events/summary?streams=front-door', '/api/v1/session', '/snapshots/front-door/x.jpg', '/api/v1/users']) {
      expect([p, (await fetch(`${srv.url}${p}`)).status]).toEqual([p, 401]);
    }
    for (const op of ['listStreams', 'getHLSStreamingSessionURL', 'deleteStream', 'getClip']) {
      const res = await fetch(`${srv.url}/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect([op, res.status, res.headers.get('x-amzn-errortype')?.split(':')[0]]).toEqual([op, 403, 'MissingAuthenticationTokenException']);
    }
    // The viewer's own files are public.
    for (const p of ['/', '/ui/app.js', '/ui/styles.css', '/ui/vendor/hls.min.js']) expect([p, (await fetch(`${srv.url}${p}`)).status]).toEqual([p, 200]);
  });

  it('refuses a wrong password, then signs in with HttpOnly, SameSite=Strict cookie and returns to the page asked for', async () => {
    await page.fill('#signin-user', 'admin');
    await page.fill('#signin-pass', 'not-the-password');
    await page.click('form.signin-form button[type="submit"]');
    await page.waitForSelector('.form-error:not([hidden])');
    expect(await page.locator('.form-error').innerText()).toMatch(/wrong user name or password/i);
    expect(await admin.context.cookies(srv.url)).toEqual([]);

    await page.fill('#signin-pass', TEST_ADMIN_PASSWORD);
    await page.click('form.signin-form button[type="submit"]');
    await page.waitForSelector('.stream-page[data-stream="front-door"]');
    expect(await page.locator('#user-menu .user-name').innerText()).toBe('admin');
    expect(await page.locator('#user-menu .role-chip').innerText()).toBe('admin');
    expect(await page.locator('[data-action="delete-stream"]').isVisible()).toBe(true);
    const [cookie, ...more] = await admin.context.cookies(srv.url);
    expect(more).toEqual([]);
    expect(cookie).toMatchObject({ name: 'kestrel_session', httpOnly: true, sameSite: 'Strict', secure: false, path: '/' });
    // Not readable from script.
    expect(await page.evaluate(() => document.cookie)).toBe('');
    await page.goto(`${srv.url}/`);
    await waitFor('the grid', async () => (await page.locator('a.card').count()) === 3);
    expect(await page.locator('#conn').getAttribute('data-state')).toBe('ok');
  });

  it('lets an admin add users, and create a key that works with the AWS SDK until it is revoked', async () => {
    await page.click('[data-nav="admin"]');
    await page.waitForSelector('.admin-page');
    await waitFor('the user list', async () => (await page.locator('tr[data-user="admin"]').count()) === 1);
    for (const [name, role, password] of [['vic', 'viewer', VIC_PASSWORD], ['ops', 'operator', OPS_PASSWORD]] as const) {
      await page.fill('#new-user-name', name);
      await page.selectOption('#new-user-role', role);
      await page.fill('#new-user-password', password);
      await page.click('.admin-form button[type="submit"]');
      await page.waitForSelector(`tr[data-user="${name}"]`);
      expect(await page.locator(`tr[data-user="${name}"] .role-chip`).innerText()).toBe(role);
    }
    expect(await userNames()).toEqual(['admin', 'ops', 'vic']);

    await page.click('tr[data-user="ops"] [data-action="create-key"]');
    await page.waitForSelector('.secret-box:not([hidden]) .key-secret');
    const accessKeyId = await page.locator('.secret-box .key-id').innerText();
    const secretAccessKey = await page.locator('.secret-box .key-secret').innerText();
    await screenshot(page, 'viewer-auth-admin');
    await page.waitForSelector(`tr[data-user="ops"] li[data-key="${accessKeyId}"]`);
    const sdk = new KinesisVideoClient({ ...sdkConfig(srv.url), credentials: { accessKeyId, secretAccessKey } });
    expect((await sdk.send(new ListStreamsCommand({}))).StreamInfoList?.length).toBe(3);
    // Shown once: gone from the page after "Done" and after a reload.
    await page.click('.secret-box button');
    expect(await page.locator('.key-secret').count()).toBe(0);

    await page.click(`li[data-key="${accessKeyId}"] [data-action="revoke-key"]`);
    await page.waitForSelector(`li[data-key="${accessKeyId}"]`, { state: 'detached' });
    await expect(sdk.send(new ListStreamsCommand({}))).rejects.toMatchObject({ name: 'UnrecognizedClientException' });
    sdk.destroy();
  });

  it('shows a viewer-role user no delete or admin controls, and the server refuses them anyway', async () => {
    other = await launchBrowser();
    const vic = await other.newPage();
    await signInViewer(vic, srv.url, { user: 'vic', password: VIC_PASSWORD });
    await waitFor('the grid', async () => (await vic.locator('a.card').count()) === 3);
    expect(await vic.locator('#user-menu .role-chip').innerText()).toBe('viewer');
    expect(await vic.locator('[data-nav="admin"]').isHidden()).toBe(true);
    await vic.locator('a.card[data-stream="garage"]').click();
    await vic.waitForSelector('.stream-page[data-stream="garage"] .details');
    expect(await vic.locator('[data-action="delete-stream"]').count()).toBe(0);
    await vic.goto(`${srv.url}/#/admin`);
    await vic.waitForSelector('.grid, .empty');
    expect(await vic.locator('.admin-page').count()).toBe(0);

    // The same calls the admin's viewer makes, from vic's page with vic's valid CSRF token.
    const refused = await vic.evaluate(async () => {
      const me = (await (await fetch('api/v1/session')).json()) as { csrfToken: string };
      const h = { 'content-type': 'application/json', 'x-kestrel-csrf': me.csrfToken };
      const list = (await (await fetch('listStreams', { method: 'POST', headers: h, body: '{}' })).json()) as { StreamInfoList: Array<{ StreamName: string; StreamARN: string }> };
      const arn = list.StreamInfoList.find((s) => s.StreamName === 'garage')!.StreamARN;
      const del = await fetch('deleteStream', { method: 'POST', headers: h, body: JSON.stringify({ StreamARN: arn }) });
      const users = await fetch('api/v1/users', { method: 'POST', headers: h, body: JSON.stringify({ name: 'vic2', role: 'admin', password: 'whatever-123' }) });
      return { del: del.status, delType: del.headers.get('x-amzn-errortype')?.split(':')[0], users: users.status, listUsers: (await fetch('api/v1/users')).status };
    });
    expect(refused).toEqual({ del: 403, delType: 'AccessDeniedException', users: 403, listUsers: 403 });
    expect(await streamNames()).toEqual(['backyard', 'front-door', 'garage']);
    expect(await userNames()).toEqual(['admin', 'ops', 'vic']);
  });

  it('cannot be used by another site to change anything (CSRF)', async () => {
    const arn = (await kvs<{ StreamInfo: { StreamARN: string } }>('describeStream', { StreamName: 'backyard' })).body.StreamInfo.StreamARN;
    const target = srv.url;
    const seen: Array<{ url: string; method: string; type: string; cookie: boolean; status: number | undefined }> = [];
    const watch = (p: Page) => {
      p.on('response', (res) => {
        const r = res.request();
        if (!r.url().startsWith(target)) return;
        void (async () => {
          const headers = await r.allHeaders();
          seen.push({ url: r.url().slice(target.length), method: r.method(), type: r.resourceType(), cookie: /kestrel_session=/.test(headers.cookie ?? ''), status: res.status() });
        })();
      });
      p.on('requestfailed', (r) => {
        if (r.url().startsWith(target)) seen.push({ url: r.url().slice(target.length), method: r.method(), type: r.resourceType(), cookie: false, status: undefined });
      });
    };

    for (const evilOrigin of [`http://127.0.0.1:${evilPort}`, `http://localhost:${evilPort}`]) {
      seen.length = 0;
      const bad = await admin.newPage();
      watch(bad);
      await bad.goto(`${evilOrigin}/cats.html`);
      const results = await bad.evaluate(async ({ target, arn }) => {
        const out: Record<string, string> = {};
        const json = (o: unknown) => JSON.stringify(o);
        // A "simple" cross-origin request: sent with cookies, response opaque.
        await fetch(`${target}/deleteStream`, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: json({ StreamARN: arn }) }).then(() => (out.noCors = 'sent'), (e: Error) => (out.noCors = e.message));
        await fetch(`${target}/api/v1/users`, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: json({ name: 'evil', role: 'admin', password: 'evil-password-1' }) }).then(() => (out.users = 'sent'), (e: Error) => (out.users = e.message));
        // JSON with a guessed token needs a CORS preflight, which the server does not grant.
        await fetch(`${target}/deleteStream`, { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json', 'x-kestrel-csrf': 'guess' }, body: json({ StreamARN: arn }) }).then((r) => (out.cors = String(r.status)), () => (out.cors = 'blocked'));
        // The CSRF token cannot be read from another origin.
        await fetch(`${target}/api/v1/session`, { credentials: 'include' }).then(async (r) => (out.read = await r.text()), () => (out.read = 'blocked'));
        // Classic form posts into a hidden frame: delete, and sign the victim in as someone else.
        const frame = document.createElement('iframe');
        frame.name = 'sink';
        document.body.append(frame);
        const post = (action: string, field: string, value: string) => {
          const f = document.createElement('form');
          f.method = 'POST';
          f.action = action;
          f.enctype = 'text/plain';
          f.target = 'sink';
          const i = document.createElement('input');
          i.name = field;
          i.value = value;
          f.append(i);
          document.body.append(f);
          f.submit();
        };
        post(`${target}/deleteStream`, `{"StreamARN":"${arn}","x":"`, '"}');
        await new Promise((r) => frame.addEventListener('load', r, { once: true }));
        post(`${target}/api/v1/session`, '{"username":"vic","password":"', `${'vic-password-123'}"}`);
        await new Promise((r) => frame.addEventListener('load', r, { once: true }));
        return out;
      }, { target, arn });
      expect(results.cors).toBe('blocked');
      expect(results.read).toBe('blocked');
      const forms = () => seen.filter((x) => x.method === 'POST' && x.type === 'document');
      await waitFor('both form posts to be answered', async () => forms().length === 2);
      // On another port of the same host the browser does send the SameSite=Strict cookie with the
      // form posts ("same-site"); from another host name it does not. Either way the server refuses.
      const sameSite = evilOrigin.includes('127.0.0.1');
      for (const f of forms()) expect([f.url, f.cookie, f.status]).toEqual([f.url, sameSite, 403]);
      // Nothing the page sent got a success (fetches: refused, or blocked before being sent).
      for (const x of seen) expect(x.status === undefined || x.status >= 400, `${evilOrigin} ${x.method} ${x.url} → ${x.status}`).toBe(true);
      await bad.close();
    }
    expect(await streamNames()).toEqual(['backyard', 'front-door', 'garage']);
    expect(await userNames()).toEqual(['admin', 'ops', 'vic']);
    // Still the admin's own session: the login-CSRF form did not swap it for vic's.
    expect(await page.evaluate(async () => ((await (await fetch('api/v1/session')).json()) as { user: string }).user)).toBe('admin');

    // Control: from the viewer's own page, the same call without the token is refused as CSRF…
    const own = await page.evaluate(async (arn) => {
      const r = await fetch('deleteStream', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ StreamARN: arn }) });
      return { status: r.status, message: ((await r.json()) as { Message: string }).Message };
    }, arn);
    expect(own).toMatchObject({ status: 403, message: expect.stringMatching(/CSRF/) });
    // …and the viewer's Delete button (which sends it) works.
    await page.goto(`${srv.url}/#/streams/backyard`);
    await page.click('[data-action="delete-stream"]');
    await page.click('dialog[open] [data-action="confirm-delete"]');
    await waitFor('the grid without backyard', async () => page.url().endsWith('#/') && (await page.locator('a.card').count()) === 2);
    expect(await streamNames()).toEqual(['front-door', 'garage']);
  });

  it('ends the sessions of a user whose password an admin resets', async () => {
    const vic = other!.context.pages().at(-1)!;
    await vic.goto(`${srv.url}/`);
    await vic.waitForSelector('a.card');
    await page.goto(`${srv.url}/#/admin`);
    await page.waitForSelector('tr[data-user="vic"]');
    await page.fill('tr[data-user="vic"] input[type="password"]', 'vic-password-456');
    await page.click('tr[data-user="vic"] .inline-form button');
    // vic's next poll of the grid gets 401 and the viewer shows the sign-in form.
    await vic.waitForSelector('form.signin-form', { timeout: 20_000 });
    expect(await vic.locator('.form-error').innerText()).toMatch(/session has ended/i);
    await signInViewer(vic, srv.url, { user: 'vic', password: 'vic-password-456' });
  });

  it('signs out: the cookie is dropped and the session no longer works on the server', async () => {
    const [cookie] = await admin.context.cookies(srv.url);
    const header = `kestrel_session=${cookie!.value}`;
    expect((await fetch(`${srv.url}/api/v1/streams`, { headers: { cookie: header } })).status).toBe(200);
    await page.goto(`${srv.url}/`);
    await page.click('[data-action="sign-out"]');
    await page.waitForSelector('form.signin-form');
    expect(await admin.context.cookies(srv.url)).toEqual([]);
    expect((await fetch(`${srv.url}/api/v1/streams`, { headers: { cookie: header } })).status).toBe(401);
    await page.reload();
    await page.waitForSelector('form.signin-form');
  });

  it('rate-limits sign-in attempts per user: after 3 failures even the right password gets 429', async () => {
    for (let i = 0; i < 3; i++) {
      await page.fill('#signin-user', 'ops');
      await page.fill('#signin-pass', `guess-${i}`);
      await page.click('form.signin-form button[type="submit"]');
      await waitFor('the refusal', async () => (await page.locator('.form-error').getAttribute('data-status')) === '401' && (await page.locator('#signin-pass').inputValue()) === '');
    }
    await page.fill('#signin-user', 'ops');
    await page.fill('#signin-pass', OPS_PASSWORD);
    await page.click('form.signin-form button[type="submit"]');
    await waitFor('the rate limit', async () => (await page.locator('.form-error').getAttribute('data-status')) === '429');
    expect(await page.locator('.form-error').innerText()).toMatch(/too many failed sign-in attempts/i);
    await screenshot(page, 'viewer-auth-rate-limited');
    const res = await fetch(`${srv.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'ops', password: OPS_PASSWORD }) });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(60);
    // Other users from the same address are not locked out by ops's failures.
    await signInViewer(page, srv.url);
    expect(admin.logs.filter((l) => /Content Security Policy|\[pageerror\]/.test(l))).toEqual([]);
  });

  it('keeps sessions in the index database: a session survives a server restart', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-sessions-'));
    try {
      let server = await startTestServer({ dataDir });
      const session = await signInHttp(server.url);
      expect((await fetch(`${server.url}/api/v1/streams`, { headers: { cookie: session.cookie } })).status).toBe(200);
      await server.close();
      server = await startTestServer({ dataDir });
      const me = await fetch(`${server.url}/api/v1/session`, { headers: { cookie: session.cookie } });
      expect(await me.json()).toMatchObject({ user: 'admin', csrfToken: session.csrfToken });
      await server.close();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
