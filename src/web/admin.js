// Users & keys (admins only; the server refuses everyone else): list users, add a user with a role,
// set a user's password, create and revoke access keys. A new key's secret is shown once.
// Talks to /api/v1/users and /api/v1/keys (src/auth/users-routes.ts).
import { h, setChildren, setText, toast } from './dom.js';
import { ApiError, failed } from './kvs.js';
import { csrfHeaders, session } from './session.js';

const ROLES = ['viewer', 'operator', 'producer', 'admin'];

async function call(method, url, body) {
  let res;
  try {
    res = await fetch(url, {
      method,
      cache: 'no-store',
      headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(method === 'GET' ? {} : csrfHeaders()) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch {
    throw new ApiError('NetworkError', 'Cannot reach the Kestrel server.', 0);
  }
  if (!res.ok) throw await failed(res);
  return res.status === 204 ? null : res.json();
}

export function adminPage() {
  const status = h('p.subtle', { role: 'status' });
  const usersBody = h('tbody');
  const secretBox = h('div.secret-box', { hidden: true, role: 'alert' });

  const name = h('input', { id: 'new-user-name', name: 'name', required: true, autocomplete: 'off' });
  const role = h('select', { id: 'new-user-role', name: 'role' }, ROLES.map((r) => h('option', { value: r }, r)));
  const pass = h('input', { id: 'new-user-password', name: 'password', type: 'password', autocomplete: 'new-password', minlength: 8 });
  const addForm = h(
    'form.admin-form',
    { 'aria-label': 'Add a user', onsubmit: (e) => void addUser(e) },
    h('label.field', { for: 'new-user-name' }, h('span', {}, 'User name'), name),
    h('label.field', { for: 'new-user-role' }, h('span', {}, 'Role'), role),
    h('label.field', { for: 'new-user-password' }, h('span', {}, 'Password (optional for key-only users)'), pass),
    h('button.btn.primary', { type: 'submit' }, 'Add user'),
  );

  const el = h(
    'section.page.admin-page',
    { 'aria-labelledby': 'admin-title' },
    h('div.page-head', {}, h('h1', { id: 'admin-title' }, 'Users & keys'), status),
    secretBox,
    h('section.panel', { 'aria-labelledby': 'users-title' }, h('h2', { id: 'users-title' }, 'Users'),
      h('table.users-table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'User'), h('th', {}, 'Role'), h('th', {}, 'Access keys'), h('th', {}, 'Actions'))), usersBody)),
    h('section.panel', { 'aria-labelledby': 'add-user-title' }, h('h2', { id: 'add-user-title' }, 'Add a user'), addForm),
  );

  let alive = true;

  async function load() {
    try {
      const [{ users }, { keys }] = await Promise.all([call('GET', 'api/v1/users'), call('GET', 'api/v1/keys')]);
      if (!alive) return;
      setText(status, `${users.length} users · ${keys.length} access keys`);
      setChildren(usersBody, users.map((u) => userRow(u, keys.filter((k) => k.user === u.name))));
    } catch (err) {
      if (alive) setText(status, err.message);
    }
  }

  function userRow(u, keys) {
    const me = u.name === session()?.user;
    const pw = h('input', { type: 'password', autocomplete: 'new-password', minlength: 8, 'aria-label': `New password for ${u.name}`, placeholder: 'New password' });
    const setPw = h('form.inline-form', { onsubmit: (e) => void resetPassword(e, u.name, pw) }, pw, h('button.btn', { type: 'submit' }, 'Set password'));
    return h(
      'tr',
      { dataset: { user: u.name } },
      h('td', {}, u.name, me ? h('span.subtle', {}, ' (you)') : null),
      h('td', {}, h('span.role-chip', { dataset: { role: u.role } }, u.role)),
      h('td', {}, h('ul.key-list', {}, keys.map((k) => h('li', { dataset: { key: k.accessKeyId } }, h('code', {}, k.accessKeyId), ' ',
        h('button.link', { type: 'button', 'data-action': 'revoke-key', onclick: () => void revokeKey(k.accessKeyId) }, 'Revoke'))))),
      h('td.actions', {}, h('button.btn', { type: 'button', 'data-action': 'create-key', onclick: () => void createKey(u.name) }, 'Create key'), setPw),
    );
  }

  async function addUser(e) {
    e.preventDefault();
    try {
      await call('POST', 'api/v1/users', { name: name.value.trim(), role: role.value, ...(pass.value ? { password: pass.value } : {}) });
      toast(`User ${name.value.trim()} added.`, 'success');
      addForm.reset();
      await load();
    } catch (err) {
      toast(err.message, 'error');
    }
  }

  async function resetPassword(e, user, input) {
    e.preventDefault();
    try {
      await call('PATCH', `api/v1/users/${encodeURIComponent(user)}`, { password: input.value });
      input.value = '';
      toast(`Password of ${user} set; their sessions have ended.`, 'success');
    } catch (err) {
      toast(err.message, 'error');
    }
  }

  async function createKey(user) {
    try {
      const key = await call('POST', 'api/v1/keys', { user });
      // The secret is stored encrypted on the server and never shown again.
      setChildren(
        secretBox,
        h('h2', {}, `New access key for ${user}`),
        h('p', {}, 'Copy the secret now: it is not shown again.'),
        h('dl.details', {}, h('dt', {}, 'Access key id'), h('dd', {}, h('code.key-id', {}, key.accessKeyId)), h('dt', {}, 'Secret access key'), h('dd', {}, h('code.key-secret', {}, key.secretAccessKey))),
        h('button.btn', { type: 'button', onclick: () => { secretBox.hidden = true; secretBox.replaceChildren(); } }, 'Done'),
      );
      secretBox.hidden = false;
      await load();
    } catch (err) {
      toast(err.message, 'error');
    }
  }

  async function revokeKey(id) {
    try {
      await call('DELETE', `api/v1/keys/${encodeURIComponent(id)}`);
      toast(`Key ${id} revoked.`, 'success');
      await load();
    } catch (err) {
      toast(err.message, 'error');
    }
  }

  void load();
  return {
    el,
    destroy() {
      alive = false;
    },
  };
}
