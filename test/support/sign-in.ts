/**
 * Signing in to the viewer in tests: through the real sign-in form in Chromium, or over HTTP for a
 * session cookie + CSRF token to use from node. The test server's `admin` has TEST_ADMIN_PASSWORD.
 */
import type { Page } from 'playwright-core';
import { TEST_ADMIN_PASSWORD } from './auth.ts';

export const TEST_ADMIN_USER = 'admin';

/** Opens `url + path`, fills the sign-in form and waits until the viewer shows the signed-in user. */
export async function signInViewer(page: Page, url: string, opts: { user?: string; password?: string; path?: string } = {}): Promise<void> {
  await page.goto(`${url}${opts.path ?? '/'}`);
  await page.waitForSelector('form.signin-form');
  await page.fill('#signin-user', opts.user ?? TEST_ADMIN_USER);
  await page.fill('#signin-pass', opts.password ?? TEST_ADMIN_PASSWORD);
  await page.click('form.signin-form button[type="submit"]');
  await page.waitForSelector('#user-menu:not([hidden])', { timeout: 15_000 });
}

export interface HttpSession {
  cookie: string;
  csrfToken: string;
  role: string;
}

/** Signs in over HTTP (POST /api/v1/session); throws with the server's answer when refused. */
export async function signInHttp(url: string, user = TEST_ADMIN_USER, password = TEST_ADMIN_PASSWORD): Promise<HttpSession> {
  const res = await fetch(`${url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user, password }) });
  if (!res.ok) throw new Error(`sign-in as ${user} → ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { csrfToken: string; role: string };
  return { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]!, csrfToken: body.csrfToken, role: body.role };
}
