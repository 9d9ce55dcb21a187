// authrelay console: Migration — the board of every mailbox that still sends
// with basic-auth SMTP AUTH (found by the tenant scans: the email apps usage
// report and the Entra sign-in logs), matched against authrelay's own
// devices and messages: still on basic auth, moved, quiet or ignored, with
// "N of M senders moved; K left; D days to the deadline". Scan now, see what
// each source answered and what to do, export CSV, mark a sender as ignored
// with a reason, and add a sender as a device (POST /api/v1/devices, applied
// at once) with the settings to type into it.
/* global navigator */
import { api, listeners } from '../api.js';
import { badge, fill, h, table } from '../dom.js';
import { t, when } from '../i18n.js';
import { appliedNote } from './devices.js';

const PERIODS = ['D7', 'D30', 'D90', 'D180'];
const SOURCES = ['usage-report', 'report-settings', 'sign-ins'];

export async function renderMigration(main, _arg, _params, ctx) {
  const view = { main, current: ctx?.current ?? (() => true), result: h('div', { class: 'migration-result', id: 'migration-result' }) };
  view.redraw = () => draw(view);
  await draw(view);
}

async function draw(view) {
  const board = await api('GET', '/migration');
  if (!view.current()) return;
  const s = board.summary;
  fill(view.main,
    h('h1', {}, t('migration.title')),
    h('section', { class: 'card migration-summary', id: 'migration-summary', 'data-moved': s.moved, 'data-total': s.total },
      h('p', { class: 'headline', id: 'migration-headline' },
        s.daysLeft >= 0 ? t('migration.headline', { moved: s.moved, total: s.total, left: s.left, days: s.daysLeft })
          : t('migration.headlinePast', { moved: s.moved, total: s.total, left: s.left, days: -s.daysLeft })),
      h('p', { class: 'notice' }, t('migration.deadline', { date: s.deadline })),
      h('div', { class: 'grid' },
        stat(t('migration.state.basic-auth'), s.basicAuth, 'count-basic-auth'), stat(t('migration.state.quiet'), s.quiet, 'count-quiet'),
        stat(t('migration.state.moved'), s.moved, 'count-moved'), stat(t('migration.state.ignored'), s.ignored, 'count-ignored'))),
    scanCard(view, board),
    view.result,
    h('h2', {}, t('migration.senders')),
    board.rows.length ? senders(view, board) : h('p', { class: 'notice', id: 'migration-empty' }, t(board.latestScan ? 'migration.noSenders' : 'migration.noScan')),
    history(board));
}

function stat(label, value, id) {
  return h('div', { class: 'stat' }, h('div', { class: 'n', id }, String(value)), h('div', { class: 'l' }, label));
}

/** The latest scan: when, with which app, what each source answered (and what to do); scan now; CSV export. */
function scanCard(view, board) {
  const scan = board.latestScan;
  const period = h('select', { id: 'scan-period' }, PERIODS.map((p) => h('option', { value: p }, t(`migration.period.${p}`))));
  period.value = scan?.period ?? board.settings?.period ?? 'D30';
  const button = h('button', { type: 'button', id: 'scan-now' }, t('migration.scanNow'));
  const status = h('span', { role: 'status', id: 'scan-status' }, board.scanning ? t('migration.scanning') : '');
  button.addEventListener('click', async () => {
    button.disabled = true;
    fill(status, t('migration.scanning'));
    try {
      await api('POST', '/migration/scan', { period: period.value });
      await view.redraw();
    } catch (err) {
      button.disabled = false;
      fill(status, h('span', { class: 'error', role: 'alert' }, err.message));
    }
  });
  const names = scan ? { appId: scan.appId, tenant: scan.tenant } : {};
  return h('section', { class: 'card', id: 'migration-scan' },
    h('h2', {}, t('migration.latestScan')),
    scan ? h('p', { id: 'scan-when' }, t('migration.scanLine', { when: when(scan.finishedAt), period: t(`migration.period.${scan.period}`), tenant: scan.tenant, app: scan.app }))
      : h('p', { class: 'notice' }, t('migration.noScan')),
    scan ? h('ul', { class: 'sources', id: 'scan-sources' }, SOURCES.map((name) => scan.sources.find((x) => x.source === name)).filter(Boolean).map((x) => source(x, names))) : '',
    h('div', { class: 'actions' },
      h('label', {}, t('migration.period'), ' ', period), button, ' ',
      h('a', { class: 'button', href: '/api/v1/migration?format=csv', download: 'authrelay-migration.csv', id: 'migration-csv' }, t('migration.exportCsv')), ' ', status),
    h('p', { class: 'notice' }, t('migration.permissions')));
}

/** One source's outcome: its status, and for a refusal what it means and what to do (the catalogue's entry, in the UI language). */
function source(x, names) {
  const ok = x.status === 'ok' || x.status === 'not-modified';
  const hintKey = x.ref ? `migration.ref.${x.ref}.hint` : '';
  const fixKey = x.ref ? `migration.ref.${x.ref}.fix` : '';
  const hint = hintKey && t(hintKey, names) !== hintKey ? t(hintKey, names) : x.detail;
  const fix = fixKey && t(fixKey, names) !== fixKey ? t(fixKey, names) : x.fix;
  return h('li', { 'data-source': x.source, 'data-status': x.status, 'data-ref': x.ref ?? '' },
    h('strong', {}, t(`migration.source.${x.source}`)), ' ', badge(ok ? 'delivered' : x.status === 'partial' ? 'deferred' : 'failed', t(`migration.status.${x.status}`)),
    ok && !x.ref ? h('span', { class: 'notice' }, ' ', t(`migration.ok.${x.source}`, { rows: x.rows ?? 0, pages: x.pages ?? 0 })) : '',
    !ok || x.ref ? h('div', { class: 'explain' },
      x.httpStatus ? h('p', { class: 'answer' }, h('code', {}, `${x.httpStatus}${x.code ? ` ${x.code}` : ''}${x.message ? `: ${x.message}` : ''}`)) : '',
      h('p', {}, h('strong', {}, t('migration.meaning')), ' ', hint),
      fix ? h('p', {}, h('strong', {}, t('migration.todo')), ' ', fix) : '',
      x.ref ? h('p', { class: 'notice' }, t('migration.ref', { ref: x.ref })) : '') : '');
}

function senders(view, board) {
  const headers = [t('migration.col.mailbox'), t('migration.col.state'), t('migration.col.lastBasic'), t('migration.col.count'), t('migration.col.addresses'),
    t('migration.col.relay'), t('migration.col.actions')];
  return table(headers, board.rows.map((r) => ({
    attrs: { 'data-sender': r.key, 'data-state': r.state },
    cells: [
      h('span', {}, r.concealed ? h('code', { title: t('migration.concealedTitle') }, r.key.replace(/^concealed:/, '')) : r.mailbox,
        r.displayName ? h('div', { class: 'notice' }, r.displayName) : '', r.concealed ? h('div', { class: 'notice' }, t('migration.concealed')) : ''),
      h('span', {}, badge(stateClass(r.state), t(`migration.state.${r.state}`)),
        r.ignored ? h('div', { class: 'notice' }, t('migration.ignoredBy', { by: r.ignored.by, reason: r.ignored.reason, when: when(r.ignored.at) })) : '',
        r.basicAfterRelay && r.state === 'basic-auth' ? h('div', { class: 'notice' }, t('migration.basicAfterRelay')) : ''),
      lastUse(r),
      r.countInPeriod === null ? t('migration.unknown') : t('migration.signIns', { n: r.countInPeriod, refused: r.failures }),
      r.addresses.length ? r.addresses.map((a) => a.ip).join(', ') : t('migration.unknown'),
      r.seenAtRelay ? h('span', {}, when(r.seenAtRelay.lastSeen), h('div', { class: 'notice' }, t('migration.relayMessages', { n: r.seenAtRelay.messages, devices: r.devices.join(', ') || '—' })))
        : r.devices.length ? t('migration.deviceNoMail', { devices: r.devices.join(', ') }) : t('migration.notSeen'),
      actions(view, r),
    ],
  })), { id: 'migration-rows' });
}

function stateClass(state) {
  return { 'basic-auth': 'failed', moved: 'delivered', quiet: 'held', ignored: 'pending' }[state] ?? 'pending';
}

function lastUse(r) {
  if (!r.lastBasicAuth) return t('migration.unknown');
  return r.lastBasicAuthPrecision === 'day' ? t('migration.onDay', { day: r.lastBasicAuth.slice(0, 10) }) : when(r.lastBasicAuth);
}

function actions(view, r) {
  const out = [];
  if (r.addAsDevice && r.state !== 'ignored') {
    const add = h('button', { type: 'button', class: 'add-as-device' }, t('migration.addAsDevice'));
    add.addEventListener('click', () => showAddForm(view, r));
    out.push(add);
  }
  if (r.state === 'ignored') {
    const back = h('button', { type: 'button', class: 'secondary unignore' }, t('migration.unignore'));
    back.addEventListener('click', async () => {
      try {
        await api('DELETE', `/migration/ignore/${encodeURIComponent(r.key)}`);
        await view.redraw();
      } catch (err) {
        fill(view.result, h('p', { class: 'error', role: 'alert' }, err.message));
      }
    });
    out.push(back);
  } else {
    const reason = h('input', { name: 'reason', class: 'ignore-reason', placeholder: t('migration.reason'), 'aria-label': t('migration.reason'), maxlength: 500 });
    const ignore = h('button', { type: 'button', class: 'secondary ignore' }, t('migration.ignore'));
    ignore.addEventListener('click', async () => {
      if (!reason.value.trim()) {
        reason.setAttribute('aria-invalid', 'true');
        reason.focus();
        return;
      }
      try {
        await api('PUT', `/migration/ignore/${encodeURIComponent(r.key)}`, { reason: reason.value.trim() });
        await view.redraw();
      } catch (err) {
        fill(view.result, h('p', { class: 'error', role: 'alert' }, err.message));
      }
    });
    out.push(h('span', { class: 'ignore-form' }, reason, ' ', ignore));
  }
  return h('div', { class: 'actions' }, out);
}

/** "Add as device": the form prefilled from the board (name from the mailbox, sendAs the mailbox, a generated password). */
function showAddForm(view, r) {
  const name = h('input', { name: 'name', id: 'add-device-name', required: true, pattern: '[A-Za-z0-9][A-Za-z0-9._-]*', value: r.addAsDevice.name });
  const sendAs = h('input', { name: 'sendAs', id: 'add-device-sendas', type: 'email', value: r.addAsDevice.sendAs, readonly: true });
  const form = h('form', { class: 'card add-device', id: 'add-device-form', 'data-for': r.key },
    h('h2', {}, t('migration.addTitle', { mailbox: r.mailbox })),
    h('p', { class: 'notice' }, t('migration.addHelp')),
    h('label', {}, t('devices.name'), ' ', name), ' ', h('label', {}, t('devices.sendAs'), ' ', sendAs), ' ',
    h('button', { type: 'submit', id: 'add-device-submit' }, t('migration.addSubmit')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const answer = await api('POST', '/devices', { name: name.value, password: true, sendAs: sendAs.value });
      const smtp = await listeners();
      await view.redraw();
      if (view.current()) showAdded(view.result, answer, r, smtp);
    } catch (err) {
      fill(view.result, form, h('p', { class: 'error', role: 'alert' }, err.message, ...(err.problems ?? []).map((p) => h('div', {}, p))));
    }
  });
  fill(view.result, form);
  name.focus();
}

/** After adding: applied or not, the password once, and the settings to type into the device. */
function showAdded(result, answer, r, smtp) {
  fill(result, h('section', { class: 'card', id: 'device-added', 'data-new-password': answer.name },
    h('h2', {}, t('migration.added', { name: answer.name, mailbox: r.mailbox })),
    appliedNote(answer),
    h('p', {}, `${t('devices.password')}: `, h('code', { class: 'new-password' }, answer.password), ' ', t('devices.shownOnce')),
    h('p', {}, t('migration.typeIn')),
    h('div', { class: 'grid' }, smtp.listeners.map((l) => {
      // The address a device can reach the relay at (publicAddress, or this machine's own), as on the Devices page.
      const server = l.addresses?.[0]?.address ?? smtp.hostname ?? '?';
      const text = [`${t('devices.server')}: ${server}`, `${t('devices.port')}: ${l.port}`, `${t('devices.security')}: ${t(`tls.${l.tls}`)}`,
        `${t('devices.user')}: ${answer.username}`, `${t('devices.password')}: ${answer.password}`, `${t('migration.fromAddress')}: ${r.mailbox}`].join('\n');
      const copy = h('button', { type: 'button', class: 'secondary' }, t('devices.copy'));
      copy.addEventListener('click', async () => {
        try {
          await navigator.clipboard.writeText(text);
          copy.textContent = t('devices.copied');
        } catch {
          copy.textContent = t('devices.copyFailed');
        }
      });
      return h('div', {}, h('p', {}, h('strong', {}, l.name ?? `:${l.port}`)), h('pre', { class: 'copy', 'data-listener': l.name ?? '' }, text), copy);
    })),
    h('p', { class: 'notice' }, t('migration.afterAdd'))));
}

function history(board) {
  if (!board.history.length) return '';
  return [h('h2', {}, t('migration.history')),
    table([t('migration.col.scanned'), t('migration.col.period'), t('migration.col.found'), t('migration.col.sources')],
      [...board.history].reverse().map((x) => ({
        cells: [when(x.at), t(`migration.period.${x.period}`), String(x.senders),
          SOURCES.filter((n) => x.sources[n]).map((n) => `${t(`migration.source.${n}`)}: ${t(`migration.status.${x.sources[n]}`)}`).join(' · ')],
      })), { id: 'migration-history' })];
}
