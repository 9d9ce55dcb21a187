// authrelay console: Devices — the inventory (addresses seen, AUTH mechanism,
// TLS version, last seen, counts) and, for each device, the settings to type
// into it (server, port, security, user) ready to copy. Add a device, edit its
// settings (networks, user, send-as address, allowed From addresses, route),
// reset its password (shown once, with the settings) or remove it (click
// twice): these edit the relay's config file, which the relay applies at once.
// The list shows the devices as the file has them; changes made to the file
// by hand and not applied yet are marked, with a button that applies them.
// A reader device (one with mailboxes, docs/imap-pop.md) also shows what it
// read over IMAP/POP3: last login, mailbox, bytes, sessions, the last error
// and its fix, and the settings to type into the reading program.
/* global navigator */
import { api, listeners } from '../api.js';
import { fill, h, kv, table } from '../dom.js';
import { t, when } from '../i18n.js';
import { watchPanel } from './watch.js';

/** The built-in route that keeps messages for inspection (always a valid device route). */
const CAPTURE = 'capture';

export async function renderDevices(main, _arg, _params, ctx) {
  await draw(main, ctx?.current ?? (() => true));
}

/**
 * Draws the page from the API; resolves to the new result area and the
 * configured devices' cards by name (for what to show after a change).
 */
async function draw(main, current) {
  const [{ devices, fileError, reloadNeeded, readerListeners }, smtp, { upstreams }] = await Promise.all([api('GET', '/devices'), listeners(), api('GET', '/upstreams')]);
  const view = {
    smtp, current, readerListeners: readerListeners ?? [], result: h('div', { class: 'device-result' }), cards: new Map(),
    routes: [...new Set([...upstreams.map((u) => u.name), CAPTURE])],
    redraw: () => draw(main, current),
  };
  if (!current()) return view;
  fill(main, h('h1', {}, t('devices.title')),
    fileError ? h('p', { class: 'warning', role: 'alert' }, t('devices.fileError', { message: fileError })) : '',
    reloadNeeded && !fileError ? applyNotice(view) : '',
    addForm(view), view.result,
    devices.length ? devices.map((d) => device(d, view)) : h('p', { class: 'notice' }, t('devices.none')),
    unknownCard(view));
  return view;
}

/** Changes made to the file by hand: a button applies them (POST /reload). */
function applyNotice(view) {
  const button = h('button', { type: 'button', class: 'apply-file' }, t('devices.applyNow'));
  const status = h('span', { role: 'status' });
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const r = await api('POST', '/reload');
      await redrawThen(view, (next) => fill(next.result, h('p', { class: 'notice', 'data-applied': r.configVersion }, t('devices.appliedNow', { message: r.message }))));
    } catch (err) {
      button.disabled = false;
      fill(status, h('span', { class: 'error', role: 'alert' }, err.message));
    }
  });
  return h('p', { class: 'warning reload-needed' }, t('devices.reloadNeeded'), ' ', button, ' ', status);
}

/** What the relay said about applying a change: applied at once (with the version), or why not. */
export function appliedNote(answer) {
  return answer.applied
    ? h('p', { class: 'notice saved', role: 'status', 'data-applied': answer.configVersion }, t('devices.applied', { version: answer.configVersion }))
    : h('p', { class: 'warning', role: 'alert' }, t('devices.notApplied', { message: answer.message }));
}

/** Shows a new password once, with the settings to type into the device. */
function showPassword(result, answer, smtp) {
  fill(result, h('section', { class: 'card', 'data-new-password': answer.name },
    h('h2', {}, t('devices.newPasswordFor'), ' ', answer.name),
    appliedNote(answer),
    answer.password ? h('p', {}, `${t('devices.password')}: `, h('code', { class: 'new-password' }, answer.password), ' ', t('devices.shownOnce')) : '',
    settings({ username: answer.username }, smtp, answer.password)));
}

function failed(result, err) {
  fill(result, h('p', { class: 'error', role: 'alert' }, err.message));
}

/** After a change: the list again (as the file has it now), then what the change returned. */
async function redrawThen(view, show) {
  const next = await view.redraw();
  if (view.current()) show(next);
}

function addForm(view) {
  const name = h('input', { name: 'name', required: true, pattern: '[A-Za-z0-9][A-Za-z0-9._-]*' });
  const networks = h('input', { name: 'networks', placeholder: '192.0.2.10/32' });
  const sendAs = h('input', { name: 'sendAs', type: 'email' });
  const password = h('input', { name: 'password', type: 'checkbox', checked: true });
  const form = h('form', { class: 'card add-device' },
    h('h2', {}, t('devices.add')),
    h('label', {}, t('devices.name'), ' ', name), h('label', {}, t('devices.networks'), ' ', networks),
    h('label', {}, t('devices.sendAs'), ' ', sendAs), h('label', {}, password, ' ', t('devices.generatePassword')),
    h('button', { type: 'submit' }, t('devices.add')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const nets = splitList(networks.value);
    const body = { name: name.value, ...(password.checked ? { password: true } : {}), ...(nets.length ? { networks: nets } : {}), ...(sendAs.value ? { sendAs: sendAs.value } : {}) };
    try {
      const answer = await api('POST', '/devices', body);
      await redrawThen(view, (next) => showPassword(next.result, answer, view.smtp));
    } catch (err) {
      failed(view.result, err);
    }
  });
  return form;
}

function actions(d, view, editor) {
  const edit = h('button', { type: 'button', class: 'secondary edit-device', 'aria-expanded': 'false' }, t('devices.edit'));
  edit.addEventListener('click', () => editor.toggle(edit));
  const reset = h('button', { type: 'button', class: 'secondary reset-password' }, t('devices.resetPassword'));
  reset.addEventListener('click', async () => {
    try {
      const answer = await api('POST', `/devices/${encodeURIComponent(d.name)}/password`);
      await redrawThen(view, (next) => showPassword(next.result, answer, view.smtp));
    } catch (err) {
      failed(view.result, err);
    }
  });
  const remove = h('button', { type: 'button', class: 'danger remove-device' }, t('devices.remove'));
  let armed = false;
  remove.addEventListener('click', async () => {
    if (!armed) {
      armed = true;
      remove.textContent = t('devices.removeConfirm');
      return;
    }
    try {
      const answer = await api('DELETE', `/devices/${encodeURIComponent(d.name)}`);
      await redrawThen(view, (next) => fill(next.result, appliedNote(answer)));
    } catch (err) {
      failed(view.result, err);
    }
  });
  return h('p', { class: 'actions' }, edit, reset, remove);
}

/** Sessions from addresses that are no known device: what they tried, and why they were refused. */
function unknownCard(view) {
  const w = watchPanel('*unknown', view.current);
  return h('section', { class: 'card device unknown-addresses', 'data-device': '*unknown' },
    h('h2', {}, t('watch.unknownTitle')), h('p', { class: 'notice' }, t('watch.unknownIntro')), h('p', { class: 'actions' }, w.button), w.panel);
}

function device(d, view) {
  const seen = d.seen ?? [];
  const editable = d.configured && d.pending !== 'removed';
  const editor = editable ? editForm(d, view) : null;
  const w = watchPanel(d.name, view.current);
  const card = h('section', { class: 'card device', 'data-device': d.name },
    h('h2', {}, d.name, d.configured ? '' : ` (${t('devices.notConfigured')})`),
    d.pending ? h('p', { class: 'warning pending', 'data-pending': d.pending }, t(`devices.pending.${d.pending}`)) : '',
    kv([
      [t('devices.user'), d.configured ? d.username ?? t('devices.noUser') : undefined], [t('devices.networks'), (d.networks ?? []).join(', ')],
      [t('devices.sendAs'), Array.isArray(d.sendAs) ? d.sendAs.join(', ') : d.sendAs], [t('devices.allowedFrom'), (d.allowedFrom ?? []).join(', ')],
      [t('message.route'), d.route],
    ]),
    editable ? actions(d, view, editor) : '',
    editor ? editor.form : '',
    h('h3', {}, t('watch.title')), h('p', { class: 'actions' }, w.button), w.panel,
    h('h3', {}, t('devices.seen')),
    seen.length ? table([t('devices.address'), t('devices.auth'), t('message.tls'), t('devices.lastSeen'), t('devices.accepted'), t('devices.rejected'), t('devices.failed')],
      seen.map((x) => ({ cells: [x.clientIp, x.authMechanism ?? t('message.noAuth'), x.tlsVersion ?? t('message.noTls'), when(x.lastSeen), String(x.accepted), String(x.rejected), String(x.failed)] })))
      : h('p', { class: 'notice' }, t('devices.neverSeen')),
    h('h3', {}, t('devices.settings')),
    settings(d, view.smtp),
    d.reader ? readerSection(d, view) : '');
  if (d.configured) view.cards.set(d.name, card);
  return card;
}

/** What a failure or refusal kind means, in the console's language (the fix's commands are shown as they are). */
const KIND = {
  'role-missing': () => t('devices.readerKind.roleMissing'),
  'no-permission': () => t('devices.readerKind.noPermission'),
  'auth-failed': () => t('devices.readerKind.authFailed'),
  'not-connected': () => t('devices.readerKind.notConnected'),
  'protocol-disabled': () => t('devices.readerKind.protocolDisabled'),
  throttled: () => t('devices.readerKind.throttled'),
  unreachable: () => t('devices.readerKind.unreachable'),
  'token-failed': () => t('devices.readerKind.tokenFailed'),
  'protocol-error': () => t('devices.readerKind.protocolError'),
  'bad-credentials': () => t('devices.readerKind.badCredentials'),
  'mailbox-not-allowed': () => t('devices.readerKind.mailboxNotAllowed'),
  'choose-mailbox': () => t('devices.readerKind.chooseMailbox'),
  'invalid-user': () => t('devices.readerKind.invalidUser'),
  'locked-out': () => t('devices.readerKind.lockedOut'),
};

const PROTOCOL = { imap: 'IMAP', pop3: 'POP3' };

function megabytes(n) {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KB` : `${n} B`;
}

/**
 * A reader device (one with mailboxes): what it may open, its last login and
 * the mailbox opened, bytes read, its sessions (open ones first) and the last
 * error with what to do; then the settings to type into the reading program.
 */
function readerSection(d, view) {
  const r = d.reader;
  const e = r.lastError;
  const commands = (e?.fix ?? []).filter((f) => /^(New|Add|Set|Get)-[A-Za-z]+ /.test(f));
  return h('section', { class: 'reader', 'data-reader': d.name },
    h('h3', {}, t('devices.reader.title')),
    kv([
      [t('devices.reader.mailboxes'), d.mailboxes?.length ? d.mailboxes.join(', ') : t('devices.reader.noMailboxes')],
      [t('devices.reader.lastLogin'), r.lastLogin ? `${when(r.lastLogin)} (${PROTOCOL[r.lastProtocol] ?? ''})` : t('devices.reader.never')],
      [t('devices.reader.lastMailbox'), r.lastMailbox ?? undefined],
      [t('devices.reader.logins'), String(r.logins)],
      [t('devices.reader.bytes'), t('devices.reader.bytesValue', { read: megabytes(r.bytesToClient), sent: megabytes(r.bytesToServer) })],
      [t('devices.reader.errors'), String(r.errors)],
    ]),
    e ? h('div', { class: 'warning reader-error', 'data-kind': e.kind },
      h('p', {}, h('strong', {}, t('devices.reader.lastError')), ' ', t('devices.reader.lastErrorAt', { when: when(e.at), listener: e.listener, protocol: PROTOCOL[e.protocol] ?? e.protocol, address: e.clientIp })),
      h('p', {}, (KIND[e.kind] ?? (() => e.kind))(), e.mailbox ? ` (${e.mailbox})` : ''),
      commands.length ? h('div', {}, h('p', {}, t('devices.reader.fix')), commands.map((c) => h('pre', { class: 'copy reader-fix' }, c))) : '') : '',
    h('h4', {}, t('devices.reader.sessions')),
    r.sessions.length
      ? table([t('devices.reader.protocol'), t('devices.reader.listener'), t('devices.address'), t('devices.reader.lastMailbox'), t('message.tls'), t('devices.reader.started'), t('devices.reader.ended'), t('devices.reader.bytes')],
        r.sessions.map((x) => ({ cells: [PROTOCOL[x.protocol] ?? x.protocol, x.listener, x.clientIp, x.mailbox ?? '', x.tlsVersion ?? t('message.noTls'), when(x.startedAt), x.open ? t('devices.reader.open') : when(x.endedAt), x.open ? '' : megabytes(x.bytesToClient)] })))
      : h('p', { class: 'notice' }, t('devices.reader.noSessions')),
    d.mailboxes?.length && view.readerListeners.length ? readerSettings(d, view) : '');
}

/** The settings to type into a reading program, per IMAP/POP3 listener. */
function readerSettings(d, view) {
  const server = view.smtp.listeners[0]?.addresses?.[0]?.address ?? view.smtp.hostname ?? '?';
  return h('div', { class: 'grid reader-settings' }, view.readerListeners.map((l) => {
    const text = [
      `${l.protocol === 'pop3' ? t('devices.reader.serverPop3') : t('devices.reader.serverImap')}: ${server}`, `${t('devices.port')}: ${l.port}`,
      `${t('devices.security')}: ${t(`tls.${l.tls}`)}${l.tls === 'none' ? '' : ` (${t('devices.tlsFrom', { version: l.minTlsVersion.replace('TLSv', 'TLS ') })})`}`,
      d.username ? t('devices.reader.userForms', { user: d.username, mailbox: d.mailboxes[0] }) : t('devices.reader.userMailbox', { mailbox: d.mailboxes[0] }),
      t('devices.reader.passwordNote'),
    ].join('\n');
    return h('div', {}, h('p', {}, h('strong', {}, l.name)), h('pre', { class: 'copy', 'data-reader-listener': l.name }, text));
  }));
}

/** "a, b c\nd" → ['a', 'b', 'c', 'd'] */
function splitList(text) {
  return text.split(/[\s,]+/).filter(Boolean);
}

let fieldSeq = 0;

/** A labelled form field with its hint and a place for the API's error about it. */
function field(key, label, input, hint) {
  const id = `device-field-${++fieldSeq}`;
  input.id = id;
  const hintEl = h('small', { class: 'hint', id: `${id}-hint` }, hint);
  const error = h('p', { class: 'error field-error', id: `${id}-error`, hidden: true });
  input.setAttribute('aria-describedby', `${id}-hint ${id}-error`);
  const el = h('div', { class: 'field', 'data-field': key }, h('label', { for: id }, label), input, hintEl, error);
  return { el, input, error };
}

/** The API names a field either as devices[N].field… (invalid-config) or as body/field… (a request it refused). */
const PROBLEM = /^(?:devices\[\d+\]\.|body\/)(networks|username|sendAs|allowedFrom|route|mailboxes)\b(?:[^:\s]*:\s*|\/?\S*\s)(.*)$/s;

/**
 * The edit form of a configured device, prefilled with its settings as the
 * config file has them. Only the fields that were changed are sent (PATCH);
 * an emptied list or send-as address, or the default route, removes the key.
 */
function editForm(d, view) {
  const hasUser = Boolean(d.username);
  const routeNames = d.route && !view.routes.includes(d.route) ? [...view.routes, d.route] : view.routes;
  const fields = {
    networks: field('networks', t('devices.networks'),
      h('input', { name: 'networks', value: (d.networks ?? []).join(', '), placeholder: '192.0.2.10/32', autocomplete: 'off', spellcheck: 'false' }), t('devices.networksHint')),
    ...(hasUser ? {
      username: field('username', t('devices.user'),
        h('input', { name: 'username', value: d.username, required: true, maxlength: 100, pattern: '[^\\s:]+', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false' }),
        t('devices.userHint')),
    } : {}),
    sendAs: field('sendAs', t('devices.sendAs'),
      h('input', { name: 'sendAs', type: 'email', value: d.sendAs ?? '', maxlength: 320, autocomplete: 'off' }), t('devices.sendAsHint')),
    allowedFrom: field('allowedFrom', t('devices.allowedFrom'),
      h('input', { name: 'allowedFrom', value: (d.allowedFrom ?? []).join(', '), placeholder: '*@contoso.com', autocomplete: 'off', spellcheck: 'false' }),
      t('devices.allowedFromHint')),
    route: field('route', t('message.route'),
      h('select', { name: 'route' }, h('option', { value: '' }, t('devices.routeDefault')),
        routeNames.map((n) => h('option', { value: n, selected: n === d.route }, n))), t('devices.routeHint')),
    mailboxes: field('mailboxes', t('devices.reader.mailboxes'),
      h('input', { name: 'mailboxes', value: (d.mailboxes ?? []).join(', '), placeholder: 'invoices@contoso.com', autocomplete: 'off', spellcheck: 'false' }),
      t('devices.reader.mailboxesHint')),
  };
  const status = h('div', { class: 'form-status', role: 'alert' });
  const save = h('button', { type: 'submit', class: 'save-device' }, t('devices.save'));
  const cancel = h('button', { type: 'button', class: 'secondary cancel-edit' }, t('devices.cancel'));
  const form = h('form', { class: 'edit-device', 'data-edit': d.name, hidden: true },
    h('h3', {}, t('devices.editTitle', { name: d.name })),
    Object.values(fields).map((f) => f.el), status, h('p', { class: 'actions' }, save, cancel));
  let toggleButton = null;

  const before = { networks: d.networks ?? [], username: d.username ?? null, sendAs: d.sendAs ?? null, allowedFrom: d.allowedFrom ?? [], route: d.route ?? null, mailboxes: d.mailboxes ?? [] };
  const values = () => ({
    networks: splitList(fields.networks.input.value),
    ...(fields.username ? { username: fields.username.input.value.trim() } : {}),
    sendAs: fields.sendAs.input.value.trim() || null,
    allowedFrom: splitList(fields.allowedFrom.input.value),
    route: fields.route.input.value || null,
    mailboxes: splitList(fields.mailboxes.input.value),
  });
  const clearErrors = () => {
    fill(status);
    for (const f of Object.values(fields)) {
      f.error.hidden = true;
      fill(f.error);
      f.input.removeAttribute('aria-invalid');
    }
  };
  const showErrors = (err) => {
    const general = [];
    let first = null;
    for (const problem of err.problems.length ? err.problems : [err.message]) {
      const m = PROBLEM.exec(problem);
      const f = m ? fields[m[1]] : undefined;
      if (!f) {
        general.push(problem);
        continue;
      }
      f.error.append(h('span', {}, m[2] || problem), ' ');
      f.error.hidden = false;
      f.input.setAttribute('aria-invalid', 'true');
      first ??= f.input;
    }
    fill(status, h('p', { class: 'error' }, t(err.status === 400 ? 'devices.notSaved' : 'devices.saveFailed')),
      general.length ? h('ul', { class: 'error' }, general.map((p) => h('li', {}, p))) : '');
    (first ?? save).focus();
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors();
    const now = values();
    const body = Object.fromEntries(Object.entries(now).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(before[k])));
    if (!Object.keys(body).length) {
      fill(status, h('p', { class: 'notice' }, t('devices.noChange')));
      return;
    }
    save.disabled = true;
    let answer;
    try {
      answer = await api('PATCH', `/devices/${encodeURIComponent(d.name)}`, body);
    } catch (err) {
      save.disabled = false;
      showErrors(err);
      return;
    }
    await redrawThen(view, (next) => {
      const card = next.cards.get(d.name);
      const saved = appliedNote(answer);
      saved.dataset.saved = d.name;
      if (card) {
        card.querySelector('h2').after(saved);
        saved.scrollIntoView({ block: 'nearest' });
      } else {
        fill(next.result, saved);
      }
    });
  });
  const close = () => {
    form.hidden = true;
    form.reset();
    clearErrors();
    toggleButton?.setAttribute('aria-expanded', 'false');
    toggleButton?.focus();
  };
  cancel.addEventListener('click', close);
  return {
    form,
    toggle(button) {
      toggleButton = button;
      if (!form.hidden) return close();
      form.hidden = false;
      button.setAttribute('aria-expanded', 'true');
      fields.networks.input.focus();
    },
  };
}

function settings(d, smtp, password) {
  const blocks = smtp.listeners.map((l) => {
    // The address a device can reach: publicAddress, or this machine's own addresses (never the browser's host name).
    const [first, ...others] = l.addresses ?? [];
    const server = first?.address ?? smtp.hostname ?? '?';
    const text = [
      `${t('devices.server')}: ${server}`, `${t('devices.port')}: ${l.port}`,
      `${t('devices.security')}: ${t(`tls.${l.tls}`)}${l.tls === 'none' ? '' : ` (${t('devices.tlsFrom', { version: l.minTlsVersion.replace('TLSv', 'TLS ') })})`}`,
      `${t('devices.user')}: ${d.username ?? t('devices.noUserShort')}`, d.username ? `${t('devices.password')}: ${password ?? t('devices.passwordHint')}` : '',
      d.username && l.tls === 'starttls' && !l.allowInsecureAuth ? t('devices.loginAfterTls') : '',
    ].filter(Boolean).join('\n');
    const pre = h('pre', { class: 'copy', 'data-listener': l.name ?? '' }, text);
    const copy = h('button', { type: 'button', class: 'secondary' }, t('devices.copy'));
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(text);
        copy.textContent = t('devices.copied');
      } catch {
        copy.textContent = t('devices.copyFailed');
      }
    });
    return h('div', {}, h('p', {}, h('strong', {}, l.name ?? `:${l.port}`)), pre, copy,
      others.length ? h('p', { class: 'hint other-addresses' }, t('devices.otherAddresses', { list: others.map((a) => a.address).join(', ') })) : '',
      l.loopbackOnly ? h('p', { class: 'warning loopback-only', role: 'alert' }, t('devices.loopbackOnly')) : '');
  });
  return h('div', { class: 'grid' }, blocks);
}
