// authrelay console: Routes and upstreams — where each upstream delivers, the
// kind of credential (never the credential), the routes using it, live status.
import { api } from '../api.js';
import { badge, fill, h, table } from '../dom.js';
import { t, when } from '../i18n.js';

function where(u) {
  if (u.host) return `${u.host}:${u.port}${u.tls ? ` (${u.tls})` : ''}`;
  if (u.tenant) return `${t('upstreams.tenant')} ${u.tenant}${u.mailbox ? `, ${u.mailbox}` : ''}`;
  if (u.domain) return `${u.domain}${u.mx ? ` → ${u.mx}` : ''}`;
  return t('upstreams.local');
}

export async function renderUpstreams(main, _arg, _params, ctx) {
  const draw = async () => {
    const { upstreams } = await api('GET', '/upstreams');
    if (!ctx.current()) return;
    fill(main, h('h1', {}, t('upstreams.title')),
      table([t('col.name'), t('col.type'), t('upstreams.where'), t('upstreams.credential'), t('upstreams.routes'), t('col.status'), t('col.inflight'), t('col.failures'), t('col.lastError')],
        upstreams.map((u) => ({
          attrs: { 'data-upstream': u.name },
          cells: [u.name, u.type, where(u), u.credential + (u.user ? ` (${u.user})` : ''),
            u.routes.length ? u.routes.map((r) => r ?? t('upstreams.unnamed')).join(', ') : t('upstreams.noRoute'),
            h('span', {}, badge(u.status.state, t(`upstream.${u.status.state}`)), u.status.pausedUntil ? ` ${t('upstreams.until', { when: when(u.status.pausedUntil) })}` : ''),
            String(u.status.inflight), String(u.status.failures), u.status.lastError ?? ''],
        })), { id: 'upstream-list' }),
      h('p', { class: 'notice' }, t('upstreams.note')));
  };
  await draw();
  ctx.every(5000, draw);
}
