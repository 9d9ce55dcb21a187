// authrelay console: Messages — search by sender, recipient, device, subject,
// state and received time; the list refreshes itself every few seconds.
import { api, query } from '../api.js';
/* global location */
import { badge, fill, h, table } from '../dom.js';
import { bytes, t, when } from '../i18n.js';

const STATES = ['incoming', 'active', 'deferred', 'held', 'delivered', 'failed'];

export async function renderMessages(main, _arg, params, ctx) {
  const field = (name, type = 'search') => h('input', { type, name, id: `search-${name}`, value: params.get(name) ?? '' });
  const sender = field('sender');
  const recipient = field('recipient');
  const device = field('device');
  const subject = field('subject');
  // Times are typed in local time (datetime-local) and sent to the API in UTC.
  const since = field('since', 'datetime-local');
  const until = field('until', 'datetime-local');
  const state = h('select', { name: 'state', id: 'search-state' },
    h('option', { value: '' }, t('messages.anyState')),
    STATES.map((st) => h('option', { value: st, selected: params.get('state') === st }, t(`state.${st}`))));
  const form = h('form', { class: 'search', id: 'search-form', role: 'search' },
    h('label', { class: 'field' }, t('col.sender'), sender),
    h('label', { class: 'field' }, t('col.recipient'), recipient),
    h('label', { class: 'field' }, t('col.device'), device),
    h('label', { class: 'field' }, t('col.subject'), subject),
    h('label', { class: 'field' }, t('col.state'), state),
    h('label', { class: 'field' }, t('messages.since'), since),
    h('label', { class: 'field' }, t('messages.until'), until),
    h('button', { type: 'submit' }, t('messages.search')));
  const results = h('div', { id: 'message-results' });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/messages${query({
      sender: sender.value, recipient: recipient.value, device: device.value, subject: subject.value, state: state.value, since: since.value, until: until.value,
    })}`;
  });
  fill(main, h('h1', {}, t('messages.title')), form, results);

  const filters = {
    sender: params.get('sender'), recipient: params.get('recipient'), device: params.get('device'), subject: params.get('subject'), state: params.get('state'),
    since: utc(params.get('since')), until: utc(params.get('until'), 59_999),
  };
  const draw = async () => {
    const { messages } = await api('GET', `/messages${query({ ...filters, limit: 200 })}`);
    if (!ctx.current()) return;
    if (!messages.length) return fill(results, h('p', { class: 'notice' }, t('messages.none')));
    fill(results, table(
      [t('col.received'), t('col.state'), t('col.sender'), t('col.recipients'), t('col.subject'), t('col.device'), t('col.size')],
      messages.map((m) => ({
        attrs: { 'data-id': m.id },
        cells: [
          h('a', { href: `#/message/${encodeURIComponent(m.id)}` }, when(m.receivedAt)), badge(m.state, t(`state.${m.state}`)), m.sender || '<>',
          m.recipients.map((r) => r.address).join(', '), m.subject ?? '', m.device ?? '', bytes(m.size),
        ],
      })), { id: 'message-list' }));
  };
  await draw();
  ctx.every(2000, draw);
}

/** A datetime-local value (minutes, local time) as an ISO time in UTC; extra ms makes "until" cover its whole minute. */
function utc(local, extraMs = 0) {
  if (!local) return '';
  const ms = new Date(local).getTime();
  // Without seconds (the browser's default) the value names a whole minute.
  return Number.isNaN(ms) ? '' : new Date(ms + (local.length === 16 ? extraMs : 0)).toISOString();
}
