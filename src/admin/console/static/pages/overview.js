// authrelay console: Overview — counts by state, queue depth, the oldest
// waiting message, each upstream's status, warnings, a line chart (inline
// SVG) of accepted, delivered and failed messages over the last 24 hours or
// 7 days, and a bar chart of the messages kept in the queue now.
import { api } from '../api.js';
import { badge, fill, h, s, table } from '../dom.js';
import { ago, t, when } from '../i18n.js';

const STATES = ['incoming', 'active', 'deferred', 'held', 'delivered', 'failed'];

const COLOURS = { accepted: '#1f5fbf', delivered: '#1b7f3b', failed: '#b3261e' };

export async function renderOverview(main, _arg, params, ctx) {
  const range = params.get('range') === '7d' ? '7d' : '24h';
  const draw = async () => {
    const o = await api('GET', `/overview?range=${range}`);
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
      h('h2', {}, t('overview.activity')),
      h('div', { class: 'card chart', id: 'activity' },
        h('p', { class: 'range' },
          ['24h', '7d'].map((r) => (r === range ? h('strong', { id: `range-${r}` }, t(`overview.range${r}`))
            : h('a', { href: `#/overview?range=${r}`, id: `range-${r}` }, t(`overview.range${r}`)))).flatMap((el, i) => (i ? [' · ', el] : [el]))),
        activityChart(o.activity),
        h('p', { class: 'notice' }, t('overview.activityNote'))),
      h('h2', {}, t('overview.nowChart')),
      h('div', { class: 'card chart' }, chart([
        [t('overview.accepted'), total, COLOURS.accepted], [t('state.delivered'), counts.delivered ?? 0, COLOURS.delivered], [t('state.failed'), counts.failed ?? 0, COLOURS.failed],
      ]), h('p', { class: 'notice' }, t('overview.nowNote'))),
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

/** Time labels under the chart: hours for a day, dates and hours for a week. */
function tick(iso, bucketMinutes) {
  const d = new Date(iso);
  const hh = `${String(d.getHours()).padStart(2, '0')}:00`;
  return bucketMinutes >= 360 ? `${d.getMonth() + 1}/${d.getDate()} ${hh}` : hh;
}

/** Lines for accepted, delivered and failed per bucket, with a legend in the UI language. */
function activityChart(activity) {
  const buckets = activity?.buckets ?? [];
  const series = ['accepted', 'delivered', 'failed'];
  const names = { accepted: t('overview.accepted'), delivered: t('overview.delivered'), failed: t('overview.failed') };
  const label = (k) => names[k];
  const totals = Object.fromEntries(series.map((k) => [k, buckets.reduce((n, b) => n + b[k], 0)]));
  const max = Math.max(1, ...buckets.flatMap((b) => series.map((k) => b[k])));
  const [width, left, right, top, plotH] = [560, 36, 10, 28, 150];
  const plotW = width - left - right;
  const x = (i) => left + (buckets.length > 1 ? (plotW * i) / (buckets.length - 1) : plotW / 2);
  const y = (v) => top + plotH - (plotH * v) / max;
  const ticks = buckets.length ? [0, Math.floor((buckets.length - 1) / 2), buckets.length - 1] : [];
  return s('svg', {
    viewBox: `0 0 ${width} ${top + plotH + 24}`, role: 'img', id: 'activity-chart', 'data-buckets': buckets.length,
    'aria-label': t('overview.activityLabel', totals),
  },
  // Legend: a short line in the series' colour and its name.
  series.map((k, i) => s('g', { class: 'legend', 'data-series': k },
    s('line', { x1: left + i * 150, y1: 10, x2: left + i * 150 + 24, y2: 10, stroke: COLOURS[k], 'stroke-width': 3 }),
    s('text', { x: left + i * 150 + 30, y: 14 }, `${label(k)} (${totals[k]})`))),
  // Axes and the top value.
  s('line', { x1: left, y1: top + plotH, x2: width - right, y2: top + plotH, stroke: '#888' }),
  s('line', { x1: left, y1: top, x2: left, y2: top + plotH, stroke: '#888' }),
  s('text', { x: left - 6, y: top + 4, 'text-anchor': 'end' }, String(max)),
  s('text', { x: left - 6, y: top + plotH + 4, 'text-anchor': 'end' }, '0'),
  ticks.map((i) => s('text', { x: x(i), y: top + plotH + 18, 'text-anchor': i === 0 ? 'start' : i === buckets.length - 1 ? 'end' : 'middle' },
    tick(buckets[i].start, activity.bucketMinutes))),
  series.map((k) => s('polyline', {
    class: 'series', 'data-series': k, fill: 'none', stroke: COLOURS[k], 'stroke-width': 2,
    points: buckets.map((b, i) => `${x(i).toFixed(1)},${y(b[k]).toFixed(1)}`).join(' '),
  }, s('title', {}, label(k)))));
}
