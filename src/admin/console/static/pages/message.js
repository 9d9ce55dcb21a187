// authrelay console: one message — envelope, size, origin, each recipient's
// outcome with the upstream's reply, what it means, what to do and the
// catalogue reference; the trail; retry, release, delete and download .eml.
// Explanations and trail lines come from the API in the console's language
// (`localized`); what exists only in English is marked lang="en".
/* global location */
import { api } from '../api.js';
import { badge, fill, h, kv } from '../dom.js';
import { bytes, t, when } from '../i18n.js';

export async function renderMessage(main, id, _params, ctx) {
  const status = h('p', { id: 'action-status', role: 'status' });
  let last = '';
  const draw = async () => {
    const m = await api('GET', `/messages/${encodeURIComponent(id)}`);
    if (!ctx.current()) return;
    last = m.state;
    fill(main,
      h('p', {}, h('a', { href: '#/messages' }, t('message.back'))),
      h('h1', {}, t('message.title'), ' ', h('code', {}, m.id), ' ', badge(m.state, t(`state.${m.state}`))),
      actions(m, status, draw), status,
      h('section', { class: 'card' }, h('h2', {}, t('message.envelope')), kv([
        [t('col.sender'), m.sender || '<>'], [t('col.recipients'), m.recipients.map((r) => r.address).join(', ')],
        [t('col.subject'), m.subject], [t('message.headerFrom'), m.headerFrom], [t('message.messageId'), m.messageId],
        [t('col.size'), bytes(m.size)], [t('col.received'), when(m.receivedAt)], [t('message.route'), m.route],
        [t('message.attempts'), String(m.attempts)], [t('message.next'), when(m.nextAttemptAt)], [t('message.expires'), when(m.expiresAt)],
      ])),
      h('section', { class: 'card' }, h('h2', {}, t('message.origin')), kv([
        [t('col.device'), m.origin.device], [t('message.clientIp'), m.origin.clientIp], [t('message.listener'), m.origin.listener],
        [t('message.tls'), m.origin.tlsVersion ?? t('message.noTls')], [t('message.auth'), m.origin.authMechanism ? `${m.origin.authMechanism} (${m.origin.authUser ?? ''})` : t('message.noAuth')],
        [t('message.helo'), m.origin.heloName],
      ])),
      h('h2', {}, t('message.recipients')),
      h('div', { id: 'recipients' }, m.recipients.map(recipient)),
      m.notes.length ? h('section', { class: 'card' }, h('h2', {}, t('message.notes')), h('ul', { id: 'notes', lang: m.localized?.notesLang ?? 'en' },
        (m.localized?.notes ?? m.notes).map((n) => h('li', {}, typeof n === 'string' ? n : JSON.stringify(n))))) : null,
      h('h2', {}, t('message.trail')),
      h('ol', { class: 'trail', id: 'trail' }, m.trail.map(trailEntry)));
  };
  await draw();
  // Settled messages change only by an action here (which redraws); the others are watched.
  ctx.every(2000, () => (SETTLED.includes(last) ? undefined : draw()));
}

const SETTLED = ['delivered', 'failed', 'held'];

function trailEntry(e) {
  const kind = t(`trail.${e.kind}`) === `trail.${e.kind}` ? (e.localized?.kind ?? e.kind) : t(`trail.${e.kind}`);
  const line = e.localized ?? { lang: 'en', text: e.text };
  return h('li', { 'data-kind': e.kind },
    h('time', { datetime: e.at }, when(e.at)), h('strong', {}, kind), ' — ', h('span', { class: 'line', lang: line.lang }, line.text));
}

function recipient(r) {
  const o = r.outcome;
  // The explanation in the console's language (English when the catalogue has no Japanese for it yet).
  const x = o?.localized ?? { lang: 'en', hint: o?.hint, fix: o?.fix, ref: o?.ref };
  return h('section', { class: 'card recipient', 'data-address': r.address },
    h('p', {}, h('strong', {}, r.address), ' ', badge(r.state, t(`rstate.${r.state}`)), ' ', h('span', { class: 'notice' }, t('message.tries', { n: r.attempts }))),
    o ? kv([
      [t('message.reply'), o.response ?? [o.code, o.enhancedCode].filter(Boolean).join(' ')],
      [t('message.category'), o.category],
    ]) : h('p', { class: 'notice' }, t('message.noAttempt')),
    o && (x.hint || x.fix || x.ref) ? h('div', { class: 'explain' },
      x.hint ? h('p', { class: 'hint' }, h('strong', {}, t('message.means')), ' ', h('span', { lang: x.lang }, x.hint)) : null,
      x.fix ? h('p', { class: 'fix' }, h('strong', {}, t('message.todo')), ' ', h('span', { lang: x.lang }, x.fix)) : null,
      x.ref ? h('p', { class: 'ref' }, h('strong', {}, t('message.ref')), ' ', h('code', {}, x.ref), ' ', h('span', { class: 'notice' }, t('message.refWhere'))) : null) : null);
}

function actions(m, status, redraw) {
  const run = (label, fn) => async () => {
    status.textContent = '';
    try {
      await fn();
      status.textContent = t(label);
      await redraw();
    } catch (err) {
      status.textContent = t('message.actionFailed', { message: err.message });
    }
  };
  const canRetry = ['failed', 'deferred', 'held'].includes(m.state);
  const del = h('button', { type: 'button', class: 'danger', id: 'delete', disabled: m.state === 'active' }, t('message.delete'));
  del.addEventListener('click', async () => {
    if (del.dataset.confirm !== 'yes') {
      del.dataset.confirm = 'yes';
      del.textContent = t('message.deleteConfirm');
      return;
    }
    try {
      await api('DELETE', `/messages/${encodeURIComponent(m.id)}`);
      location.hash = '#/messages';
    } catch (err) {
      status.textContent = t('message.actionFailed', { message: err.message });
    }
  });
  return h('div', { class: 'actions' },
    h('button', { type: 'button', id: 'retry', disabled: !canRetry, onclick: run('message.retried', () => api('POST', `/messages/${encodeURIComponent(m.id)}/retry`)) }, t('message.retry')),
    h('button', { type: 'button', id: 'release', class: 'secondary', disabled: m.state !== 'held', onclick: run('message.released', () => api('POST', `/messages/${encodeURIComponent(m.id)}/release`)) }, t('message.release')),
    h('a', { href: `/api/v1/messages/${encodeURIComponent(m.id)}/eml`, download: `${m.id}.eml`, id: 'download' }, t('message.download')),
    del);
}
