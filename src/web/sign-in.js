// The sign-in page: user name and password. Shown when there is no session (first visit, after
// sign-out, or when a call answers 401); on success the app routes to where the user was going.
import { h, setText } from './dom.js';
import { signIn } from './session.js';

export function signInPage({ onSignedIn, notice }) {
  const user = h('input', { id: 'signin-user', name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: false });
  const pass = h('input', { id: 'signin-pass', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button.btn.primary', { type: 'submit' }, 'Sign in');
  const error = h('p.form-error', { role: 'alert', hidden: !notice }, notice ?? '');
  const form = h(
    'form.signin-form',
    {
      'aria-labelledby': 'signin-title',
      onsubmit: async (e) => {
        e.preventDefault();
        submit.disabled = true;
        error.hidden = true;
        const r = await signIn(user.value.trim(), pass.value);
        submit.disabled = false;
        if (r.ok) return onSignedIn();
        pass.value = '';
        setText(error, r.message);
        error.dataset.status = String(r.status ?? 0);
        error.hidden = false;
        pass.focus();
      },
    },
    h('h1', { id: 'signin-title' }, 'Sign in to Kestrel'),
    h('label.field', { for: 'signin-user' }, h('span', {}, 'User name'), user),
    h('label.field', { for: 'signin-pass' }, h('span', {}, 'Password'), pass),
    error,
    submit,
  );
  const el = h('section.page.signin-page', {}, form);
  setTimeout(() => user.focus(), 0);
  return { el, destroy() {} };
}
