// authrelay console: what the setup wizard found when it looked at another
// SMTP relay (POST /wizard/test → probe): the greeting, what it offers,
// STARTTLS or TLS from the first byte, the certificate (trusted? does it name
// the host?), the sign-in mechanisms, the proposed `tls` and what to do about
// a problem, in the page's language. The server's technical details (an
// OpenSSL error, the names in a certificate) are shown as they are.
import { badge, h } from '../dom.js';
import { t } from '../i18n.js';

const day = (iso) => String(iso ?? '').slice(0, 10);

function certificate(cert, host) {
  if (!cert) return '';
  return h('li', { id: 'wizard-probe-cert', 'data-trusted': String(cert.trusted), 'data-hostname': String(cert.hostnameMatch) },
    t('wizard.probe.cert', { subject: cert.subject, issuer: cert.issuer, from: day(cert.validFrom), to: day(cert.validTo) }), ' ',
    badge(cert.trusted ? 'delivered' : 'failed', cert.trusted ? t('wizard.probe.cert.trusted') : t('wizard.probe.cert.untrusted', { error: cert.trustError ?? '' })), ' ',
    badge(cert.hostnameMatch ? 'delivered' : 'failed', cert.hostnameMatch ? t('wizard.probe.cert.names', { host })
      : t('wizard.probe.cert.wrongName', { host, names: (cert.names ?? []).join(', ') || cert.subject })));
}

function tlsLine(p) {
  if (p.connected === 'implicit') return h('li', {}, t('wizard.probe.implicit.ok', { version: p.implicit?.version ?? '' }));
  if (!p.starttls) return h('li', { 'data-starttls': 'none' }, t('wizard.probe.starttls.none'));
  return h('li', { 'data-starttls': String(p.starttls.ok) }, p.starttls.ok
    ? t('wizard.probe.starttls.ok', { version: p.starttls.version ?? '' })
    : t('wizard.probe.starttls.failed', { error: p.starttls.error ?? '' }));
}

/** The probe as a card; `data-tls` and `data-ok` carry the proposal. */
export function probeCard(p) {
  const pr = p.proposal ?? { warnings: [], authMethods: [] };
  const items = [];
  if (p.connected) {
    const offers = (p.starttls?.ehlo ?? p.ehlo)?.lines ?? [];
    items.push(h('li', {}, t('wizard.probe.greeting', { mode: t(`wizard.probe.mode.${p.connected}`), text: String(p.greeting ?? '').split('\n')[0] })));
    items.push(h('li', {}, t('wizard.probe.offers', { list: offers.join(', ') || '—' })));
    items.push(tlsLine(p));
    items.push(certificate((p.connected === 'implicit' ? p.implicit : p.starttls)?.certificate, p.host));
    items.push(h('li', {}, t('wizard.probe.auth', { list: pr.authMethods.length ? pr.authMethods.join(' ') : t('wizard.probe.noAuthList') })));
  }
  return h('div', { id: 'wizard-probe', class: 'card', 'data-ok': String(pr.ok === true), 'data-tls': pr.tls ?? '' },
    h('h3', {}, t('wizard.probe.title', { host: `${p.host}:${p.port}` })),
    items.length ? h('ul', {}, items) : '',
    pr.tls ? h('p', { id: 'wizard-probe-proposal' }, h('strong', {}, t('wizard.probe.proposed', { tls: pr.tls }))) : '',
    pr.downgrade ? h('p', { class: 'warning', id: 'wizard-probe-downgrade' }, t('wizard.probe.downgrade')) : '',
    pr.warnings.length ? h('ul', { class: 'notes' }, pr.warnings.map((n) => h('li', { 'data-note': n }, t(`wizard.probe.note.${n}`)))) : '',
    pr.problem ? h('div', { class: 'explain', id: 'wizard-probe-problem', 'data-problem': pr.problem },
      h('p', { class: 'error', role: 'alert' }, t(`wizard.probe.problem.${pr.problem}`), pr.detail ? h('span', { class: 'notice' }, ` (${pr.detail})`) : ''),
      h('p', {}, h('strong', {}, t('wizard.probe.todo')), ' ', t(`wizard.probe.fix.${pr.problem}`))) : '');
}
