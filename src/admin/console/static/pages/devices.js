// authrelay console: Devices — the inventory (addresses seen, AUTH mechanism,
// TLS version, last seen, counts) and, for each device, the settings to type
// into it (server, port, security, user) ready to copy. Add a device, reset
// its password (shown once, with the settings) or remove it (click twice):
// these edit the relay's config file and apply at its next restart.
/* global location, navigator */
import { api, listeners } from '../api.js';
import { fill, h, kv, table } from '../dom.js';
import { t, when } from '../i18n.js';

export async function renderDevices(main) {
  const [{ devices }, smtp] = await Promise.all([api('GET', '/devices'), listeners()]);
  const result = h('div', { class: 'device-result' });
  const rerender = () => renderDevices(main);
  fill(main, h('h1', {}, t('devices.title')), addForm(smtp, result), result,
    devices.length ? devices.map((d) => device(d, smtp, result, rerender)) : h('p', { class: 'notice' }, t('devices.none')));
}

/** Shows a new password once, with the settings to type into the device. */
function showPassword(result, answer, smtp) {
  fill(result, h('section', { class: 'card', 'data-new-password': answer.name },
    h('h2', {}, t('devices.newPasswordFor'), ' ', answer.name),
    h('p', { class: 'notice' }, t('devices.restartNeeded')),
    answer.password ? h('p', {}, `${t('devices.password')}: `, h('code', { class: 'new-password' }, answer.password), ' ', t('devices.shownOnce')) : '',
    settings({ username: answer.username }, smtp, answer.password)));
}

function failed(result, err) {
  fill(result, h('p', { class: 'error', role: 'alert' }, err.message));
}

function addForm(smtp, result) {
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
    const nets = networks.value.split(/[\s,]+/).filter(Boolean);
    const body = { name: name.value, ...(password.checked ? { password: true } : {}), ...(nets.length ? { networks: nets } : {}), ...(sendAs.value ? { sendAs: sendAs.value } : {}) };
    try {
      showPassword(result, await api('POST', '/devices', body), smtp);
    } catch (err) {
      failed(result, err);
    }
  });
  return form;
}

function actions(d, smtp, result, rerender) {
  const reset = h('button', { type: 'button', class: 'secondary reset-password' }, t('devices.resetPassword'));
  reset.addEventListener('click', async () => {
    try {
      showPassword(result, await api('POST', `/devices/${encodeURIComponent(d.name)}/password`), smtp);
    } catch (err) {
      failed(result, err);
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
      await api('DELETE', `/devices/${encodeURIComponent(d.name)}`);
      await rerender();
    } catch (err) {
      failed(result, err);
    }
  });
  return h('p', {}, reset, ' ', remove);
}

function device(d, smtp, result, rerender) {
  const seen = d.seen ?? [];
  return h('section', { class: 'card device', 'data-device': d.name },
    h('h2', {}, d.name, d.configured ? '' : ` (${t('devices.notConfigured')})`),
    kv([
      [t('devices.user'), d.username ?? t('devices.noUser')], [t('devices.networks'), (d.networks ?? []).join(', ')],
      [t('devices.sendAs'), Array.isArray(d.sendAs) ? d.sendAs.join(', ') : d.sendAs], [t('message.route'), d.route],
    ]),
    h('h3', {}, t('devices.seen')),
    seen.length ? table([t('devices.address'), t('devices.auth'), t('message.tls'), t('devices.lastSeen'), t('devices.accepted'), t('devices.rejected'), t('devices.failed')],
      seen.map((x) => ({ cells: [x.clientIp, x.authMechanism ?? t('message.noAuth'), x.tlsVersion ?? t('message.noTls'), when(x.lastSeen), String(x.accepted), String(x.rejected), String(x.failed)] })))
      : h('p', { class: 'notice' }, t('devices.neverSeen')),
    h('h3', {}, t('devices.settings')),
    settings(d, smtp),
    d.configured ? actions(d, smtp, result, rerender) : '');
}

function settings(d, smtp, password) {
  const server = smtp.hostname ?? location.hostname;
  const blocks = smtp.listeners.map((l) => {
    const text = [
      `${t('devices.server')}: ${server}`, `${t('devices.port')}: ${l.port}`, `${t('devices.security')}: ${t(`tls.${l.tls}`)}`,
      `${t('devices.user')}: ${d.username ?? t('devices.noUserShort')}`, d.username ? `${t('devices.password')}: ${password ?? t('devices.passwordHint')}` : '',
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
    return h('div', {}, h('p', {}, h('strong', {}, l.name ?? `:${l.port}`)), pre, copy);
  });
  return h('div', { class: 'grid' }, blocks);
}
