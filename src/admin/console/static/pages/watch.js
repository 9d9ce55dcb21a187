// authrelay console: watching a device connect. On a device's card (and for
// addresses that are no known device), the last SMTP sessions with every
// step, then each new step as it happens (server-sent events from
// /api/v1/devices/NAME/watch). A refusal or a failed TLS handshake shows
// what it means and what to do, in the console's language (each event carries
// both). Passwords never appear.
/* global EventSource */
import { api } from '../api.js';
import { fill, h } from '../dom.js';
import { lang, t, when } from '../i18n.js';

/** The "watch sessions" button and panel of one device ('*unknown': addresses that are no device). */
export function watchPanel(name, current) {
  const list = h('ol', { class: 'watch-events', 'data-watch': name, 'aria-live': 'polite' });
  const state = h('p', { class: 'notice watch-state' });
  const panel = h('div', { class: 'watch', hidden: true }, state, list);
  const button = h('button', { type: 'button', class: 'secondary watch-device', 'aria-expanded': 'false' }, t('watch.open'));
  let source;
  const close = () => {
    source?.close();
    source = undefined;
    panel.hidden = true;
    button.textContent = t('watch.open');
    button.setAttribute('aria-expanded', 'false');
  };
  const add = (e) => {
    list.append(eventItem(e));
    while (list.children.length > 500) list.firstChild.remove();
    list.lastChild.scrollIntoView?.({ block: 'nearest' });
  };
  button.addEventListener('click', async () => {
    if (source) return close();
    panel.hidden = false;
    button.textContent = t('watch.close');
    button.setAttribute('aria-expanded', 'true');
    fill(list);
    fill(state, t('watch.loading'));
    try {
      const { sessions } = await api('GET', `/devices/${encodeURIComponent(name)}/sessions`);
      for (const s of sessions) {
        list.append(h('li', { class: 'watch-session' }, t('watch.session', { id: s.id.slice(-6), ip: s.clientIp, listener: s.listener, at: when(s.startedAt) })));
        for (const e of s.events) add(e);
      }
    } catch (err) {
      fill(state, h('span', { class: 'error' }, err.message));
      return;
    }
    source = new EventSource(`/api/v1/devices/${encodeURIComponent(name)}/watch`);
    source.addEventListener('open', () => fill(state, t('watch.live')));
    source.addEventListener('message', (m) => {
      if (!current()) return close();
      add(JSON.parse(m.data));
    });
    source.addEventListener('error', () => fill(state, t('watch.reconnecting')));
  });
  return { button, panel, close };
}

function eventItem(e) {
  const time = new Date(e.at).toLocaleTimeString();
  const problem = Boolean(e.reason);
  // The relay's own words in the console's language; commands and replies as they were sent.
  const ja = lang() === 'ja' && e.ja ? e.ja : {};
  const text = ja.text ?? e.text;
  const x = ja.reason ? { reason: ja.reason, fix: ja.fix, lang: 'ja' } : { reason: e.reason, fix: e.fix, lang: 'en' };
  return h('li', { class: `watch-event kind-${e.kind}${problem ? ' problem' : ''}`, 'data-kind': e.kind, ...(e.ref ? { 'data-ref': e.ref } : {}) },
    h('span', { class: 'watch-time' }, time), ' ',
    h('span', { class: 'watch-session-id' }, String(e.session).slice(-6)), ' ',
    h('code', { class: 'watch-text', ...(ja.text ? { lang: 'ja' } : {}) }, text),
    x.reason ? h('p', { class: 'watch-why' }, h('strong', {}, t('watch.why')), ' ', h('span', { lang: x.lang }, x.reason)) : '',
    x.fix ? h('p', { class: 'watch-fix' }, h('strong', {}, t('watch.fix')), ' ', h('span', { lang: x.lang }, x.fix)) : '');
}
