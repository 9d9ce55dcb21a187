// authrelay console: Routes and upstreams — where each upstream delivers, the
// kind of credential (never the credential), the routes using it, live status,
// and per upstream a form that sends one real test message straight through
// it and shows each step, the outcome and, on failure, what it means.
import { api } from '../api.js';
import { badge, fill, h, table } from '../dom.js';
import { t, when } from '../i18n.js';

function where(u) {
  if (u.host) return `${u.host}:${u.port}${u.tls ? ` (${u.tls})` : ''}`;
  if (u.tenant) return `${t('upstreams.tenant')} ${u.tenant}${u.mailbox ? `, ${u.mailbox}` : ''}`;
  if (u.domain) return `${u.domain}${u.mx ? ` → ${u.mx}` : ''}`;
  return t('upstreams.local');
}

function listing(upstreams) {
  return table([t('col.name'), t('col.type'), t('upstreams.where'), t('upstreams.credential'), t('upstreams.routes'), t('col.status'), t('col.inflight'), t('col.failures'), t('col.lastError')],
    upstreams.map((u) => ({
      attrs: { 'data-upstream': u.name },
      cells: [u.name, u.type, where(u), u.credential + (u.user ? ` (${u.user})` : ''),
        u.routes.length ? u.routes.map((r) => r ?? t('upstreams.unnamed')).join(', ') : t('upstreams.noRoute'),
        h('span', {}, badge(u.status.state, t(`upstream.${u.status.state}`)), u.status.pausedUntil ? ` ${t('upstreams.until', { when: when(u.status.pausedUntil) })}` : '',
          u.status.fallback ? h('small', { class: 'fallback-reason' }, ` ${t('upstreams.fallbackSince', { when: when(u.status.fallback.since), reason: u.status.fallback.localized?.reason ?? u.status.fallback.reason })}`) : ''),
        String(u.status.inflight), String(u.status.failures), u.status.lastError ?? ''],
    })), { id: 'upstream-list' });
}

/** The explanation lines of a failed attempt ("what it means", "what to do", "reference"). */
const EXPLAINS = /^\S+\s+(what it means|what to do|how to fix it|reference|the upstream may have taken it|the test could not be sent)/;

function outcome(r) {
  const steps = h('ol', { class: 'trail test-steps' }, r.steps.map((s) => h('li', EXPLAINS.test(s) ? { class: 'explain' } : {}, s)));
  const verdict = r.ok
    ? h('p', { class: 'test-outcome', 'data-ok': 'true' }, badge('delivered', t('sendTest.works')))
    : h('p', { class: 'test-outcome error', 'data-ok': 'false', role: 'alert' }, badge('failed', t('sendTest.failed')), ' ', t('sendTest.failedHint'));
  return [steps, verdict];
}

function sendTestForm(u, ctx) {
  const to = h('input', { type: 'email', name: 'to', required: true, autocomplete: 'off', class: 'test-to', placeholder: 'someone@example.com' });
  const from = h('input', { type: 'email', name: 'from', autocomplete: 'off', class: 'test-from', placeholder: u.mailbox ?? '' });
  const send = h('button', { type: 'submit', class: 'test-send' }, t('sendTest.send'));
  const out = h('div', { class: 'test-result', 'aria-live': 'polite' });
  const form = h('form', { class: 'search' },
    h('label', { class: 'field' }, t('sendTest.to'), to), h('label', { class: 'field' }, t('sendTest.from'), from), h('div', {}, send));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    send.disabled = true;
    fill(out, h('p', { class: 'notice test-sending' }, t('sendTest.sending', { name: u.name })));
    try {
      const body = { to: to.value.trim(), ...(from.value.trim() ? { from: from.value.trim() } : {}) };
      const r = await api('POST', `/upstreams/${encodeURIComponent(u.name)}/test`, body);
      if (ctx.current()) fill(out, outcome(r));
    } catch (err) {
      if (ctx.current()) fill(out, h('p', { class: 'error test-error', role: 'alert' }, t('sendTest.error', { message: err.message })));
    } finally {
      send.disabled = false;
    }
  });
  return h('section', { class: 'card send-test', 'data-test-upstream': u.name },
    h('h3', {}, t('sendTest.titleFor', { name: u.name })), form, out);
}

export async function renderUpstreams(main, _arg, _params, ctx) {
  const { upstreams } = await api('GET', '/upstreams');
  if (!ctx.current()) return;
  // The listing refreshes itself; the test forms stay as typed.
  const list = h('div', { id: 'upstream-listing' }, listing(upstreams));
  fill(main, h('h1', {}, t('upstreams.title')), list, h('p', { class: 'notice' }, t('upstreams.note')),
    h('h2', {}, t('sendTest.title')), h('p', { class: 'notice' }, t('sendTest.intro')),
    upstreams.filter((u) => u.type !== 'capture').map((u) => sendTestForm(u, ctx)));
  ctx.every(5000, async () => {
    const fresh = await api('GET', '/upstreams');
    if (ctx.current()) fill(list, listing(fresh.upstreams));
  });
}
