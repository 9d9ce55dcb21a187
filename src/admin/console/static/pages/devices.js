// authrelay console: Devices — the inventory (addresses seen, AUTH mechanism,
// TLS version, last seen, counts) and, for each device, the settings to type
// into it (server, port, security, user) ready to copy.
/* global location, navigator */
import { api, listeners } from '../api.js';
import { fill, h, kv, table } from '../dom.js';
import { t, when } from '../i18n.js';

export async function renderDevices(main) {
  const [{ devices }, smtp] = await Promise.all([api('GET', '/devices'), listeners()]);
  fill(main, h('h1', {}, t('devices.title')),
    devices.length ? devices.map((d) => device(d, smtp)) : h('p', { class: 'notice' }, t('devices.none')));
}

function device(d, smtp) {
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
    settings(d, smtp));
}

function settings(d, smtp) {
  const server = smtp.hostname ?? location.hostname;
  const blocks = smtp.listeners.map((l) => {
    const text = [
      `${t('devices.server')}: ${server}`, `${t('devices.port')}: ${l.port}`, `${t('devices.security')}: ${t(`tls.${l.tls}`)}`,
      `${t('devices.user')}: ${d.username ?? t('devices.noUserShort')}`, d.username ? `${t('devices.password')}: ${t('devices.passwordHint')}` : '',
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
