// authrelay console: start-up and the hash router (#/overview, #/messages,
// #/message/ID, #/devices, #/upstreams, #/diagnostics, #/wizard, #/migration, #/signin). Pages render into <main>;
// a page may refresh itself with every(ms, fn) until the route changes.
/* global history, document, window, location, setInterval, clearInterval, URLSearchParams */
import { api, setCsrf } from './api.js';
import { fill, h } from './dom.js';
import { preferredLang, setLang, t } from './i18n.js';
import { renderSignIn } from './pages/signin.js';
import { renderOverview } from './pages/overview.js';
import { renderMessages } from './pages/messages.js';
import { renderMessage } from './pages/message.js';
import { renderDevices } from './pages/devices.js';
import { renderUpstreams } from './pages/upstreams.js';
import { renderWizard } from './pages/wizard.js';
import { renderDiagnostics } from './pages/diagnostics.js';
import { renderMigration } from './pages/migration.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const signOut = document.getElementById('signout');
let timers = [];
let generation = 0;
let signedIn = false;

const routes = {
  overview: renderOverview, messages: renderMessages, message: renderMessage, devices: renderDevices, upstreams: renderUpstreams, wizard: renderWizard,
  diagnostics: renderDiagnostics, migration: renderMigration,
};

function parseHash() {
  const [path, qs] = location.hash.replace(/^#\/?/, '').split('?');
  const [page, ...rest] = (path || 'overview').split('/');
  return { page, arg: rest.map(decodeURIComponent).join('/'), params: new URLSearchParams(qs ?? '') };
}

function setSignedIn(on) {
  signedIn = on;
  nav.hidden = !on;
  signOut.hidden = !on;
}

/** Called by the sign-in page once a session exists. */
export function onSignedIn(csrfToken, next) {
  setCsrf(csrfToken);
  setSignedIn(true);
  location.hash = next && !next.startsWith('#/signin') ? next : '#/overview';
}

async function route() {
  for (const id of timers) clearInterval(id);
  timers = [];
  const gen = ++generation;
  const { page, arg, params } = parseHash();
  for (const a of nav.querySelectorAll('a')) a.classList.toggle('current', a.getAttribute('href') === `#/${page === 'message' ? 'messages' : page}`);
  if (page === 'signin') {
    setSignedIn(false);
    return renderSignIn(main, params, onSignedIn);
  }
  if (!signedIn) {
    try {
      const s = await api('GET', '/session');
      setCsrf(s.csrfToken);
      setSignedIn(true);
    } catch {
      if (gen === generation) location.hash = `#/signin?next=${encodeURIComponent(location.hash || '#/overview')}`;
      return;
    }
  }
  const render = routes[page];
  if (!render) {
    fill(main, h('h1', {}, t('page.notFound')));
    return;
  }
  const ctx = {
    current: () => gen === generation,
    every: (ms, fn) => timers.push(setInterval(() => { if (gen === generation) void fn(); }, ms)),
    rerender: () => route(),
  };
  try {
    await render(main, arg, params, ctx);
  } catch (err) {
    if (gen === generation && err?.status !== 401) fill(main, h('p', { class: 'error', role: 'alert' }, t('error.load', { message: err.message })));
  }
}

async function start() {
  // The setup link printed at start, /setup#TOKEN: the first-start form with the token filled in (the token stays in the browser).
  if (location.pathname === '/setup') {
    const token = location.hash.slice(1);
    history.replaceState(null, '', `/#/signin${token ? `?setup=${encodeURIComponent(token)}` : ''}`);
  }
  const langSelect = document.getElementById('lang');
  await setLang(preferredLang());
  langSelect.value = document.documentElement.lang;
  langSelect.addEventListener('change', async () => {
    await setLang(langSelect.value, true);
    await route();
  });
  signOut.addEventListener('click', async () => {
    try {
      await api('DELETE', '/session');
    } finally {
      setCsrf('');
      setSignedIn(false);
      location.hash = '#/signin';
    }
  });
  window.addEventListener('hashchange', () => void route());
  await route();
}

void start();
