// The signed-in user: the session the server keeps behind an HttpOnly cookie, as this page knows
// it (user, role, CSRF token). Every state-changing call sends the token in `x-kestrel-csrf`; any
// 401 means the session ended (sign-out elsewhere, expiry, password reset) and shows the sign-in form.

export const CSRF_HEADER = 'x-kestrel-csrf';
const UNAUTHORIZED_EVENT = 'kestrel:unauthorized';

/** { user, role, csrfToken, expiresAt } or null. */
let current = null;

export function session() {
  return current;
}

/** Roles that may change streams (delete); the server decides anyway. */
export function canManageStreams() {
  return current?.role === 'admin' || current?.role === 'operator';
}

export function isAdmin() {
  return current?.role === 'admin';
}

/** Headers for a state-changing request. */
export function csrfHeaders() {
  return current ? { [CSRF_HEADER]: current.csrfToken } : {};
}

/** Call when the server answered 401: the session is gone. */
export function sessionLost() {
  if (!current) return;
  current = null;
  window.dispatchEvent(new window.CustomEvent(UNAUTHORIZED_EVENT));
}

export function onSessionLost(fn) {
  window.addEventListener(UNAUTHORIZED_EVENT, fn);
}

/** Asks the server who we are; null when not signed in. Throws when the server cannot be reached. */
export async function loadSession() {
  const res = await fetch('api/v1/session', { cache: 'no-store' });
  if (res.status === 401) {
    current = null;
    return null;
  }
  if (!res.ok) throw new Error(`The server answered ${res.status}.`);
  current = await res.json();
  return current;
}

/** Returns { ok: true } or { ok: false, message }. */
export async function signIn(username, password) {
  let res;
  try {
    res = await fetch('api/v1/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
      cache: 'no-store',
    });
  } catch {
    return { ok: false, message: 'Cannot reach the Kestrel server.' };
  }
  if (res.ok) {
    current = await res.json();
    return { ok: true };
  }
  let message = res.status === 401 ? 'Wrong user name or password.' : `Sign-in failed (${res.status}).`;
  try {
    message = (await res.json()).message ?? message;
  } catch {
    // keep the default
  }
  return { ok: false, message, status: res.status };
}

export async function signOut() {
  const headers = csrfHeaders();
  current = null;
  await fetch('api/v1/session', { method: 'DELETE', headers, cache: 'no-store' }).catch(() => {});
}
