// authrelay console: sign-in, and the first-start setup with the one-time
// token from the relay's log (event admin-setup).
import { api } from '../api.js';
import { fill, h } from '../dom.js';
import { t } from '../i18n.js';

export function renderSignIn(main, params, onSignedIn) {
  const next = params.get('next') ?? '';
  const error = h('p', { class: 'error', role: 'alert', id: 'signin-error' });
  const password = h('input', { type: 'password', id: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const signInForm = h('form', { id: 'signin-form' },
    h('label', { class: 'field' }, t('signin.password'), password),
    h('button', { type: 'submit', id: 'signin-submit' }, t('signin.submit')));
  const token = h('input', { type: 'text', id: 'setup-token', name: 'setupToken', autocomplete: 'off', required: true });
  const newPass = h('input', { type: 'password', id: 'setup-password', name: 'password', autocomplete: 'new-password', minlength: 12, required: true });
  const again = h('input', { type: 'password', id: 'setup-again', autocomplete: 'new-password', minlength: 12, required: true });
  const setupForm = h('form', { id: 'setup-form', hidden: true },
    h('p', { class: 'notice' }, t('setup.explain')),
    h('label', { class: 'field' }, t('setup.token'), token),
    h('label', { class: 'field' }, t('setup.password'), newPass),
    h('label', { class: 'field' }, t('setup.again'), again),
    h('button', { type: 'submit', id: 'setup-submit' }, t('setup.submit')));
  const toggle = h('a', { href: '#', id: 'setup-link' }, t('setup.link'));
  const showSetup = (on) => {
    setupForm.hidden = !on;
    signInForm.hidden = on;
    toggle.textContent = on ? t('setup.back') : t('setup.link');
  };
  // The one-time setup link printed at start (/setup#TOKEN) arrives here with the token.
  const given = params.get('setup');
  if (given) {
    token.value = given;
    showSetup(true);
  }
  toggle.addEventListener('click', (e) => {
    e.preventDefault();
    error.textContent = '';
    showSetup(signInForm.hidden === false);
  });

  const signIn = async (pw) => {
    const s = await api('POST', '/session', { password: pw });
    onSignedIn(s.csrfToken, next);
  };
  signInForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    try {
      await signIn(password.value);
    } catch (err) {
      if (err.code === 'setup-needed') showSetup(true);
      error.textContent = messageFor(err);
    }
  });
  setupForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    if (newPass.value !== again.value) {
      error.textContent = t('setup.mismatch');
      return;
    }
    try {
      await api('POST', '/setup', { setupToken: token.value.trim(), password: newPass.value });
      await signIn(newPass.value);
    } catch (err) {
      error.textContent = messageFor(err);
    }
  });
  // Sign-in with Entra ID, when configured: a plain navigation to the relay,
  // which sends the browser to Microsoft and back.
  const entra = h('p', { id: 'entra-signin', hidden: true },
    h('a', { class: 'button', id: 'entra-link', href: `/api/v1/session/entra?next=${encodeURIComponent(next || '#/overview')}` }, t('signin.entra')));
  const refused = params.get('entra');
  if (refused) {
    const detail = params.get('detail');
    error.textContent = `${t(`signin.entra.${refused}`)}${detail ? ` (${detail})` : ''}`;
  }
  api('GET', '/session/methods').then((m) => {
    entra.hidden = !m.entra;
    if (m.setupNeeded && !refused) showSetup(true);
    // No password exists yet: there is no sign-in to go back to.
    if (m.setupNeeded) toggle.hidden = true;
    if (m.setupNeeded && given) newPass.focus();
  }).catch(() => undefined);
  fill(main, h('section', { class: 'card signin' }, h('h1', {}, t('signin.title')), error, signInForm, setupForm, entra, h('p', {}, toggle)));
  password.focus();
}

function messageFor(err) {
  const known = { 'wrong-password': 'signin.wrong', 'setup-needed': 'signin.setupNeeded', 'locked-out': 'signin.locked',
    'wrong-setup-token': 'setup.wrongToken', 'setup-done': 'setup.done', 'invalid-request': 'setup.invalid' };
  return known[err.code] ? t(known[err.code]) : err.message;
}
