// authrelay console: Overview — counts by state, queue depth, the oldest
// waiting message, each upstream's status, warnings, and a bar chart (inline
// SVG) of accepted, delivered and failed messages as the API reports them now.
import { api } from '../api.js';
import { badge, fill, h, s, table } from '../dom.js';
import { ago, t, when } from '../i18n.js';

const STATES = ['incoming', 'active', 'deferred', 'held', 'delivered', 'failed'];

export async function renderOverview(main, _arg, _params, ctx) {
  const draw = async () => {
    const o = await api('GET', '/overview');
    if (!ctx.current()) return;
    const counts = o.counts ?? {};
    const total = STATES.reduce((n, st) => n + (counts[st] ?? 0), 0);
    fill(main,
      h('h1', {}, t('overview.title')),
      warnings(o, counts),
      h('div', { class: 'grid' },
        stat(t('overview.queueDepth'), o.queueDepth, 'queue-depth'),
        stat(t('overview.oldest'), o.oldestWaiting ? ago(o.oldestWaiting.ageSeconds) : t('overview.none'), 'oldest',
          o.oldestWaiting ? when(o.oldestWaiting.receivedAt) : ''),
        ...STATES.map((st) => stat(t(`state.${st}`), counts[st] ?? 0, `count-${st}`, '', `#/messages?state=${st}`))),
      h('h2', {}, t('overview.chart')),
      h('div', { class: 'card chart' }, chart([
        [t('overview.accepted'), total, '#1f5fbf'], [t('state.delivered'), counts.delivered ?? 0, '#1b7f3b'], [t('state.failed'), counts.failed ?? 0, '#b3261e'],
      ]), h('p', { class: 'notice' }, t('overview.chartNote'))),
      h('h2', {}, t('overview.upstreams')),
      table([t('col.name'), t('col.type'), t('col.status'), t('col.inflight'), t('col.failures'), t('col.lastError')],
        o.upstreams.map((u) => ({ cells: [u.name, u.type, badge(u.state, t(`upstream.${u.state}`)), String(u.inflight), String(u.failures), u.lastError ?? ''] })),
        { id: 'overview-upstreams' }));
  };
  await draw();
  ctx.every(5000, draw);
}

function stat(label, value, id, sub = '', href = '') {
  const n = h('div', { class: 'n', id }, String(value));
  return h('div', { class: 'stat' }, href ? h('a', { href }, n) : n, h('div', { class: 'l' }, label), sub ? h('div', { class: 'notice' }, sub) : null);
}

function warnings(o, counts) {
  const list = [];
  if (counts.failed) list.push(h('div', { class: 'warning' }, t('warn.failed', { n: counts.failed }), ' ', h('a', { href: '#/messages?state=failed' }, t('warn.show'))));
  if (counts.held) list.push(h('div', { class: 'warning' }, t('warn.held', { n: counts.held }), ' ', h('a', { href: '#/messages?state=held' }, t('warn.show'))));
  for (const u of o.upstreams) {
    if (u.state === 'paused') list.push(h('div', { class: 'warning' }, t('warn.paused', { name: u.name, until: when(u.pausedUntil) }), u.lastError ? ` — ${u.lastError}` : ''));
  }
  if (o.oldestWaiting && o.oldestWaiting.ageSeconds > 3600) list.push(h('div', { class: 'warning' }, t('warn.old', { age: ago(o.oldestWaiting.ageSeconds) })));
  return h('section', { id: 'warnings', 'aria-label': t('overview.warnings') }, list.length ? list : h('p', { class: 'notice' }, t('overview.noWarnings')));
}

/** Horizontal bars: [label, value, colour][]. */
function chart(bars) {
  const max = Math.max(1, ...bars.map((b) => b[1]));
  const rowH = 34;
  const labelW = 130;
  const width = 480;
  return s('svg', { viewBox: `0 0 ${width} ${bars.length * rowH + 8}`, role: 'img', 'aria-label': bars.map((b) => `${b[0]} ${b[1]}`).join(', '), id: 'overview-chart' },
    bars.map(([label, value, colour], i) => {
      const y = 4 + i * rowH;
      const w = Math.round(((width - labelW - 60) * value) / max);
      return s('g', {},
        s('text', { x: 0, y: y + 20 }, label),
        s('rect', { x: labelW, y: y + 4, width: Math.max(w, 1), height: 22, rx: 3, fill: colour }),
        s('text', { x: labelW + Math.max(w, 1) + 6, y: y + 20 }, String(value)));
    }));
}
