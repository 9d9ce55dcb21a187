// authrelay console: Diagnostics — runs the doctor's checks against the
// running relay (listeners and certificates, each upstream, the queue) on
// request, and shows them grouped by section, each with its mark and its fix,
// in the console's language (the API gives every text as { en, ja }).
import { api, query } from '../api.js';
import { fill, h } from '../dom.js';
import { lang, t } from '../i18n.js';

/** A doctor text in the console's language (a plain string as it is). */
function say(text) {
  if (text === null || text === undefined) return '';
  if (typeof text === 'string') return text;
  return text[lang()] || text.en || '';
}

/** The colour classes of the console's state badges, per check status. */
const MARK_CLASS = { pass: 'state-up', warn: 'state-held', fail: 'state-failed', info: 'state-pending' };

function mark(status) {
  return h('span', { class: `state ${MARK_CLASS[status] ?? ''}`, 'data-status': status }, t(`diag.status.${status}`));
}

function check(c) {
  const detail = say(c.detail);
  const fix = say(c.fix);
  return h('li', { class: 'check', 'data-check': c.id, 'data-status': c.status, ...(c.ref ? { 'data-ref': c.ref } : {}) },
    mark(c.status), ' ', h('strong', { class: 'check-title' }, say(c.title)),
    detail ? h('pre', { class: 'check-detail' }, detail) : null,
    fix ? h('p', { class: 'check-fix explain' }, h('strong', {}, t('diag.fix')), ' ', fix) : null);
}

function results(r) {
  const sections = [];
  for (const c of r.checks) {
    const last = sections.at(-1);
    const title = say(c.section);
    if (last && last.title === title) last.checks.push(c);
    else sections.push({ title, checks: [c] });
  }
  return [
    h('p', { id: 'diag-summary', class: r.counts.fail ? 'error' : 'notice' },
      t('diag.summary', { pass: r.counts.pass, warn: r.counts.warn, fail: r.counts.fail, info: r.counts.info, ms: r.ms })),
    sections.map((s) => h('section', { class: 'card diag-section', 'data-section': s.title },
      h('h2', {}, s.title), h('ul', { class: 'checks' }, s.checks.map(check)))),
  ];
}

export async function renderDiagnostics(main, _arg, _params, ctx) {
  const ip = h('input', { id: 'diag-public-ip', name: 'publicIp', type: 'text', inputmode: 'decimal', autocomplete: 'off', placeholder: '203.0.113.7' });
  const run = h('button', { id: 'diag-run', type: 'submit' }, t('diag.run'));
  const out = h('div', { id: 'diag-results', 'aria-live': 'polite' }, h('p', { class: 'notice' }, t('diag.intro')));
  const form = h('form', { class: 'search', id: 'diag-form' },
    h('label', { class: 'field' }, t('diag.publicIp'), ip), h('div', {}, run));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    run.disabled = true;
    fill(out, h('p', { class: 'notice', id: 'diag-running' }, t('diag.running')));
    try {
      const r = await api('GET', `/diagnostics${query({ publicIp: ip.value })}`);
      if (ctx.current()) fill(out, results(r));
    } catch (err) {
      if (ctx.current()) fill(out, h('p', { class: 'error', role: 'alert', id: 'diag-error' }, t('diag.failed', { message: err.message })));
    } finally {
      run.disabled = false;
    }
  });
  fill(main, h('h1', {}, t('diag.title')), h('p', { class: 'notice' }, t('diag.publicIpHint')), form, out);
}
