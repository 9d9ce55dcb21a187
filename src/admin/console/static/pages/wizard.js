// authrelay console: the Microsoft 365 setup wizard (the same as `authrelay
// init`): choose the route, give the tenant, app and mailbox (or domain, or
// relay host), see the steps to take in Entra ID and Exchange Online, test the
// credentials live (another SMTP relay is probed: what it offers, its
// certificate, the TLS mode that works), and get the commented configuration
// to save or write. Writing is refused when the live test fails, unless the
// person confirms; a relay without TLS needs the box ticked. The secret is
// sent for the test and the check only; the configuration refers to it by an
// environment variable. Legacy readers (IMAP/POP3 programs reading Exchange
// Online mailboxes) get the Exchange steps for app-only access, their
// mailboxes and listeners, and a live test that logs in to each mailbox.
/* global document, navigator, URL, Blob */
import { api } from '../api.js';
import { badge, fill, h } from '../dom.js';
import { t } from '../i18n.js';
import { probeCard } from './wizard-probe.js';

const ROUTES = ['graph', 'smtp-oauth', 'smtp-oauth-delegated', 'direct-send', 'smtp', 'readers'];
const ENTRA = new Set(['graph', 'smtp-oauth', 'smtp-oauth-delegated', 'readers']);

const input = (id, attrs = {}) => h('input', { id, name: id, autocomplete: 'off', ...attrs });
const field = (label, el, hint) => h('label', { class: 'field' }, label, el, hint ? h('small', {}, hint) : '');
const value = (el) => el.value.trim();

export async function renderWizard(main) {
  const routeChoice = h('fieldset', { id: 'wizard-routes', class: 'card' }, h('legend', {}, t('wizard.routeTitle')),
    ROUTES.map((r) => h('p', {}, h('label', { class: 'route-choice' },
      h('input', { type: 'radio', name: 'wizard-route', id: `wizard-route-${r}`, value: r, checked: r === 'graph' }), ' ',
      h('strong', {}, t(`wizard.route.${r}`)), h('br'), h('span', { class: 'notice' }, t(`wizard.route.${r}.about`))))));

  const f = {
    cloud: h('select', { id: 'wizard-cloud' }, ['global', 'usgov', 'usgov-dod', 'china'].map((c) => h('option', { value: c }, t(`wizard.cloud.${c}`)))),
    tenant: input('wizard-tenant', { placeholder: 'contoso.onmicrosoft.com' }),
    clientId: input('wizard-client-id', { placeholder: '11111111-2222-3333-4444-555555555555' }),
    mailbox: input('wizard-mailbox', { type: 'email', placeholder: 'scanner@contoso.com' }),
    secret: input('wizard-secret', { type: 'password', autocomplete: 'new-password' }),
    secretEnv: input('wizard-secret-env', { value: 'M365_CLIENT_SECRET' }),
    domain: input('wizard-domain', { placeholder: 'contoso.com' }),
    relayHost: input('wizard-relay-host', { placeholder: 'contoso-com.mail.protection.outlook.com:25' }),
    relayTls: h('select', { id: 'wizard-relay-tls' }, ['', 'starttls', 'implicit', 'none'].map((v) => h('option', { value: v }, t(v ? `wizard.relayTls.${v}` : 'wizard.relayTls.auto')))),
    relayCa: input('wizard-relay-ca', { placeholder: '/etc/authrelay/relay-ca.pem' }),
    allowNoTls: h('input', { type: 'checkbox', id: 'wizard-allow-no-tls' }),
    authority: input('wizard-authority', { placeholder: 'https://login.microsoftonline.com' }),
    graph: input('wizard-graph-url', { placeholder: 'https://graph.microsoft.com' }),
    ca: input('wizard-ca', { placeholder: '/etc/authrelay/ca.pem' }),
    device: input('wizard-device', { placeholder: 'mfp-3f' }),
    network: input('wizard-network', { placeholder: '192.168.10.0/24' }),
    admin: input('wizard-admin', { type: 'email', placeholder: 'it@contoso.com' }),
    mailboxes: input('wizard-mailboxes', { placeholder: 'invoices@contoso.com, fax@contoso.com' }),
    imapPort: input('wizard-imap-port', { type: 'number', min: 0, max: 65535, value: '1993' }),
    pop3Port: input('wizard-pop3-port', { type: 'number', min: 0, max: 65535, value: '1995' }),
    readerTls: h('select', { id: 'wizard-reader-tls' }, ['implicit', 'starttls'].map((v) => h('option', { value: v }, t(`wizard.readerTls.${v}`)))),
    readerLegacy: h('input', { type: 'checkbox', id: 'wizard-reader-legacy' }),
    imapEndpoint: input('wizard-imap-endpoint', { placeholder: 'outlook.office365.com:993' }),
    pop3Endpoint: input('wizard-pop3-endpoint', { placeholder: 'outlook.office365.com:995' }),
  };
  const entraBox = h('div', { class: 'grid', id: 'wizard-entra' },
    field(t('wizard.cloud'), f.cloud), field(t('wizard.tenant'), f.tenant), field(t('wizard.clientId'), f.clientId));
  const mailboxBox = h('div', { class: 'grid', id: 'wizard-mailbox-box' }, field(t('wizard.mailbox'), f.mailbox));
  const readersBox = h('div', { id: 'wizard-readers-box' },
    h('div', { class: 'grid' }, field(t('wizard.mailboxes'), f.mailboxes, t('wizard.mailboxesHint'))),
    h('div', { class: 'grid' }, field(t('wizard.imapPort'), f.imapPort, t('wizard.portHint')), field(t('wizard.pop3Port'), f.pop3Port, t('wizard.portHint')),
      field(t('wizard.readerTls'), f.readerTls)),
    h('p', {}, h('label', {}, f.readerLegacy, ' ', t('wizard.readerLegacy'))));
  const secretBox = h('div', { class: 'grid', id: 'wizard-secret-box' },
    field(t('wizard.secret'), f.secret, t('wizard.secretHint')), field(t('wizard.secretEnv'), f.secretEnv, t('wizard.secretEnvHint')));
  const domainBox = h('div', { class: 'grid', id: 'wizard-domain-box' }, field(t('wizard.domain'), f.domain));
  const allowBox = h('p', { id: 'wizard-allow-no-tls-box', class: 'warning', hidden: true }, h('label', {}, f.allowNoTls, ' ', t('wizard.allowNoTls')));
  const relayBox = h('div', { id: 'wizard-relay-box' },
    h('div', { class: 'grid' }, field(t('wizard.relayHost'), f.relayHost), field(t('wizard.relayTls'), f.relayTls, t('wizard.relayTlsHint')),
      field(t('wizard.relayCa'), f.relayCa)), allowBox);
  const showAllow = (proposedNone) => {
    allowBox.hidden = !(f.relayTls.value === 'none' || proposedNone === true || f.allowNoTls.checked);
  };
  f.relayTls.addEventListener('change', () => showAllow(false));
  const advanced = h('details', { id: 'wizard-advanced' }, h('summary', {}, t('wizard.advanced')),
    h('div', { class: 'grid' }, field(t('wizard.authority'), f.authority), field(t('wizard.graphUrl'), f.graph), field(t('wizard.ca'), f.ca),
      field(t('wizard.imapEndpoint'), f.imapEndpoint), field(t('wizard.pop3Endpoint'), f.pop3Endpoint)));
  const extras = h('div', { class: 'grid' }, field(t('wizard.device'), f.device), field(t('wizard.network'), f.network), field(t('wizard.admin'), f.admin));

  const route = () => routeChoice.querySelector('input[name="wizard-route"]:checked')?.value ?? 'graph';
  const showFor = () => {
    const r = route();
    entraBox.hidden = !ENTRA.has(r);
    mailboxBox.hidden = !ENTRA.has(r) || r === 'readers';
    readersBox.hidden = r !== 'readers';
    for (const el of [f.graph, f.imapEndpoint, f.pop3Endpoint]) el.closest('label').hidden = (el === f.graph) === (r === 'readers');
    secretBox.hidden = !(r === 'graph' || r === 'smtp-oauth' || r === 'readers');
    advanced.hidden = !ENTRA.has(r);
    domainBox.hidden = r !== 'direct-send';
    relayBox.hidden = r !== 'smtp';
  };
  routeChoice.addEventListener('change', showFor);
  showFor();

  /** The answers as the API takes them; withSecret adds the secret's value. */
  const answers = (withSecret) => {
    const r = route();
    const b = { route: r };
    if (ENTRA.has(r)) {
      Object.assign(b, { cloud: f.cloud.value, tenant: value(f.tenant), clientId: value(f.clientId) });
      if (r !== 'readers') b.mailbox = value(f.mailbox);
      if (r !== 'smtp-oauth-delegated') {
        if (value(f.secretEnv)) b.secretEnv = value(f.secretEnv);
        if (withSecret && f.secret.value) b.clientSecret = f.secret.value;
      }
      const endpoints = {};
      if (value(f.authority)) endpoints.authority = value(f.authority);
      if (value(f.graph) && r !== 'readers') endpoints.graph = value(f.graph);
      if (value(f.imapEndpoint) && r === 'readers') endpoints.imap = value(f.imapEndpoint);
      if (value(f.pop3Endpoint) && r === 'readers') endpoints.pop3 = value(f.pop3Endpoint);
      if (Object.keys(endpoints).length) b.endpoints = endpoints;
      if (value(f.ca)) b.ca = value(f.ca);
    }
    if (r === 'readers') {
      const mailboxes = value(f.mailboxes).split(/[\s,]+/).filter(Boolean);
      if (mailboxes.length) b.mailboxes = mailboxes;
      const port = (el) => (value(el) === '' ? null : Number(value(el)));
      b.readers = { imapPort: port(f.imapPort), pop3Port: port(f.pop3Port), tls: f.readerTls.value, legacy: f.readerLegacy.checked };
    }
    if (r === 'direct-send') b.domain = value(f.domain);
    if (r === 'smtp') {
      b.relayHost = value(f.relayHost);
      if (f.relayTls.value) b.relayTls = f.relayTls.value;
      if (value(f.relayCa)) b.ca = value(f.relayCa);
      if (f.allowNoTls.checked) b.allowNoTls = true;
    }
    if (value(f.device) && value(f.network)) b.device = { name: value(f.device), networks: value(f.network).split(/[\s,]+/).filter(Boolean) };
    if (value(f.admin)) b.admin = value(f.admin);
    for (const k of Object.keys(b)) if (b[k] === '') delete b[k];
    return b;
  };

  const stepsOut = h('div', { id: 'wizard-steps' });
  const testOut = h('div', { id: 'wizard-test-result', 'aria-live': 'polite' });
  const configOut = h('div', { id: 'wizard-config' });
  const problem = (out, err) => fill(out, h('p', { class: 'error', role: 'alert' }, err.message));

  const run = (button, out, fn) => button.addEventListener('click', async () => {
    button.disabled = true;
    fill(out, h('p', { class: 'notice' }, t('wizard.working')));
    try {
      await fn();
    } catch (err) {
      problem(out, err);
    } finally {
      button.disabled = false;
    }
  });

  const stepsButton = h('button', { type: 'button', id: 'wizard-steps-button' }, t('wizard.showSteps'));
  run(stepsButton, stepsOut, async () => {
    const r = await api('POST', '/wizard/steps', answers(false));
    fill(stepsOut, h('h2', {}, t('wizard.stepsTitle')),
      h('ol', {}, r.steps.map((s) => h('li', {}, h('pre', { class: 'copy' }, s)))));
  });

  const testButton = h('button', { type: 'button', id: 'wizard-test-button' }, t('wizard.test'));
  run(testButton, testOut, async () => {
    const r = await api('POST', '/wizard/test', answers(true));
    const outcome = !r.tested ? h('p', { class: 'test-outcome', 'data-ok': 'true' }, t('wizard.notTested'))
      : r.ok ? h('p', { class: 'test-outcome', 'data-ok': 'true' }, badge('delivered', r.probe ? t('wizard.testOkRelay') : t('wizard.testOk')))
        : h('p', { class: 'test-outcome error', 'data-ok': 'false', role: 'alert' }, badge('failed', t('wizard.testFailed')));
    fill(testOut, h('h2', {}, t('wizard.testTitle')), outcome, r.probe ? probeCard(r.probe) : '',
      h('pre', { class: 'copy', id: 'wizard-test-lines' }, r.lines.join('\n')));
    // The proposed TLS mode becomes the choice (the person can still change it).
    if (r.probe && r.relayTls && !f.relayTls.value) f.relayTls.value = r.relayTls;
    if (r.probe) showAllow(r.probe.proposal?.downgrade === true);
  });

  const configButton = h('button', { type: 'button', id: 'wizard-config-button' }, t('wizard.getConfig'));
  run(configButton, configOut, async () => {
    const r = await api('POST', '/wizard/config', answers(true));
    const copy = h('button', { type: 'button', class: 'secondary', id: 'wizard-copy' }, t('wizard.copy'));
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(r.yaml);
        copy.textContent = t('wizard.copied');
      } catch {
        copy.textContent = t('wizard.copyFailed');
      }
    });
    const download = h('button', { type: 'button', class: 'secondary', id: 'wizard-download' }, t('wizard.download'));
    download.addEventListener('click', () => {
      const url = URL.createObjectURL(new Blob([r.yaml], { type: 'application/yaml' }));
      const a = h('a', { href: url, download: r.fileName });
      document.body.append(a);
      a.click();
      a.remove();
      URL.revokeObjectURL(url);
    });
    const writeOut = h('div', { id: 'wizard-write-result' });
    const write = h('button', { type: 'button', id: 'wizard-write' }, t('wizard.write'));
    const doWrite = async (force) => {
      fill(writeOut, h('p', { class: 'notice' }, t('wizard.working')));
      try {
        const w = await api('POST', '/wizard/config', { ...answers(true), write: true, ...(force ? { force: true } : {}) });
        fill(writeOut, w.applied
          ? h('p', { class: 'notice', 'data-applied': w.configVersion }, t('wizard.writtenTo', { file: w.file, backup: w.backup, version: w.configVersion }))
          : h('p', { class: 'warning', role: 'alert' }, w.message));
      } catch (err) {
        if (err.code === 'live-test-failed') {
          // Nothing was written: show why, and let the person decide to write anyway.
          const anyway = h('button', { type: 'button', class: 'secondary', id: 'wizard-write-anyway' }, t('wizard.writeAnyway'));
          anyway.addEventListener('click', () => doWrite(true));
          fill(writeOut, h('p', { class: 'error', role: 'alert', id: 'wizard-write-refused' }, t('wizard.writeRefused')),
            h('pre', { class: 'copy', id: 'wizard-write-lines' }, (err.body?.lines ?? []).join('\n')),
            h('p', { class: 'notice' }, t('wizard.writeAnywayHint')), anyway);
        } else if (err.code === 'insecure-upstream') {
          showAllow(true);
          fill(writeOut, h('p', { class: 'error', role: 'alert', id: 'wizard-write-refused' }, t('wizard.noTlsNotConfirmed')));
        } else {
          fill(writeOut, h('p', { class: 'error', role: 'alert' }, err.message));
        }
      }
    };
    write.addEventListener('click', () => doWrite(false));
    fill(configOut, h('h2', {}, t('wizard.configTitle')),
      h('p', { class: 'warning' }, t('wizard.notWritten')),
      r.secretChecked ? '' : h('p', { class: 'notice' }, t('wizard.secretNotChecked')),
      r.env.length ? h('p', {}, t('wizard.setEnv', { names: r.env.map((e) => e.name).join(', ') })) : '',
      h('pre', { class: 'copy', id: 'wizard-yaml' }, r.yaml),
      h('div', { class: 'actions' }, copy, download, r.canWrite ? write : ''), writeOut,
      h('h2', {}, t('wizard.next')), h('ol', { id: 'wizard-next' }, r.next.map((line) => h('li', {}, line))));
  });

  fill(main, h('h1', {}, t('wizard.title')), h('p', { class: 'notice' }, t('wizard.intro')),
    routeChoice,
    h('div', { class: 'card' }, h('h2', {}, t('wizard.answersTitle')), entraBox, mailboxBox, secretBox, readersBox, domainBox, relayBox, advanced,
      h('h2', {}, t('wizard.extrasTitle')), extras),
    h('div', { class: 'actions' }, stepsButton, testButton, configButton),
    stepsOut, testOut, configOut);
}
