/**
 * The config file `authrelay init` writes: a YAML document (the `yaml`
 * package's Document API, so every section carries a comment), validated
 * with the one config schema before anything is written, then written
 * atomically (mode 0600). A secret goes in as a `${VARIABLE}` reference, or
 * into its own file (mode 0600) referenced with `file:`; never into the
 * config itself. Existing files are only replaced with --force.
 */
import { existsSync } from 'node:fs';
import { writeFileAtomic } from '../../core/files.js';
import { Document, isMap, isScalar, type Node, type Pair } from '../../vendor/yaml.js';
import { validateConfig } from '../load.js';
import type { Config } from '../schema.js';
import type { InitAnswers } from './answers.js';
import { UserError } from '../../core/user-error.js';
import { WIZARD_TEXT } from './texts.js';
import { CONFIG_COMMENT_TEXT as C } from './document-texts.js';
import { render, type Lang, type Placeholders, type Text } from '../../core/i18n.js';

/** Names of the upstream each route writes. */
export const UPSTREAM_NAME: Record<InitAnswers['route'], string | undefined> = {
  graph: 'm365', 'smtp-oauth': 'm365', 'smtp-oauth-delegated': 'm365', 'direct-send': 'm365-direct', smtp: 'relay', hold: undefined, readers: 'exchange',
};

/** The file is there already (its message in both languages: `text`). */
export class FileExistsError extends UserError {}

/** Refuses to go on when a file would be overwritten without --force. */
export function refuseOverwrite(file: string, force: boolean | undefined): void {
  if (existsSync(file) && !force) throw new FileExistsError(WIZARD_TEXT.fileExists, { file });
}

/** The commented document for these answers; `passwordHash` is the first device's (when it has a user name). */
export function buildDocument(a: InitAnswers, passwordHash: string | undefined, when: Date, lang: Lang = 'en'): Document {
  const doc = new Document({});
  const c = (text: Text, values?: Placeholders) => render(text, lang, values);
  const upstream = UPSTREAM_NAME[a.route];
  const secret = a.entra?.credential.kind === 'secret' ? a.entra.credential : undefined;
  doc.commentBefore = [
    c(C.header, { date: when.toISOString().slice(0, 10) }),
    c(C.headerCheck),
    c(C.headerDocs),
    ...(secret?.envName ? [c(C.headerSecretEnv, { name: secret.envName })] : []),
  ].join('\n');

  set(doc, ['dataDir'], './data', c(C.dataDir));
  if (a.readers) {
    set(doc, ['listeners'], readerListeners(a), c(C.readerListeners));
    if (a.readers.legacy) readerListeners(a).forEach((_, i) => comment(doc, ['listeners', i, 'minTlsVersion'], c(C.legacyReaders), 'line'));
  } else {
    set(doc, ['listeners'], listeners(a), c(C.listeners));
    const legacyIndex = a.listeners.legacyPort !== undefined ? listeners(a).length - 1 : -1;
    if (legacyIndex >= 0) comment(doc, ['listeners', legacyIndex, 'minTlsVersion'], c(C.legacyDevices), 'line');
  }
  if (a.device) {
    const d: Record<string, unknown> = { name: a.device.name };
    if (a.device.username && passwordHash) Object.assign(d, { username: a.device.username, passwordHash });
    if (a.device.networks.length) d.networks = a.device.networks;
    if (a.readers) d.mailboxes = a.readers.mailboxes;
    set(doc, ['devices'], [d], a.readers
      ? c(C.readerDevices)
      : c(C.devices));
  }
  if (upstream && a.readers) {
    set(doc, ['upstreams', upstream], upstreamNode(a), c(C.readerUpstream));
    comment(doc, ['upstreams'], c(C.readerUpstreams), 'before', true);
    if (secret) {
      comment(doc, ['upstreams', upstream, 'clientSecret'], secret.envName
        ? c(C.secretFromEnv, { name: secret.envName })
        : c(C.secretFromFile), 'line');
    }
    doc.commentBefore += `\n${c(C.readersOnly)}`;
  } else if (upstream) {
    set(doc, ['upstreams', upstream], upstreamNode(a), c(C.upstream));
    comment(doc, ['upstreams'], c(C.upstreams), 'before', true);
    if (secret) {
      comment(doc, ['upstreams', upstream, 'clientSecret'], secret.envName
        ? c(C.secretFromEnv, { name: secret.envName })
        : c(C.secretFromFile), 'line');
    }
    if (a.relay?.tls === 'none') comment(doc, ['upstreams', upstream, 'tls'], c(C.noTls), 'line');
    if (a.entra?.endpoints.authority || a.entra?.endpoints.graph || a.entra?.endpoints.smtp || a.entra?.endpoints.imap || a.entra?.endpoints.pop3) {
      comment(doc, ['upstreams', upstream, 'endpoints'], c(C.endpoints), 'before');
    }
    const routes = a.route === 'direct-send'
      ? [{ when: { recipientDomain: [a.directSend!.domain] }, use: upstream }]
      : [{ use: upstream }];
    set(doc, ['routes'], routes, a.route === 'direct-send'
      ? c(C.directSendRoutes)
      : c(C.routes));
  } else {
    doc.commentBefore += `\n${c(C.noUpstream)}`;
  }
  if (a.admin) set(doc, ['notices', 'admin'], a.admin, c(C.noticesAdmin));
  return doc;
}

function listeners(a: InitAnswers): Record<string, unknown>[] {
  const l = a.listeners;
  const out: Record<string, unknown>[] = [{ name: 'starttls', host: l.host, port: l.starttlsPort ?? 2525, tls: 'starttls' }];
  if (l.tlsPort !== undefined) out.push({ name: 'implicit-tls', host: l.host, port: l.tlsPort, tls: 'implicit' });
  if (l.legacyPort !== undefined) out.push({ name: 'legacy-tls', host: l.host, port: l.legacyPort, tls: 'starttls', minTlsVersion: 'TLSv1' });
  return out;
}

function readerListeners(a: InitAnswers): Record<string, unknown>[] {
  const r = a.readers!;
  const host = a.listeners.host;
  const tls = r.tls;
  const legacy = r.legacy ? { minTlsVersion: 'TLSv1' } : {};
  const out: Record<string, unknown>[] = [];
  const names = tls === 'implicit' ? { imap: 'imaps', pop3: 'pop3s' } : { imap: 'imap', pop3: 'pop3' };
  if (r.imapPort !== undefined) out.push({ name: names.imap, protocol: 'imap', host, port: r.imapPort, tls, ...legacy, upstream: UPSTREAM_NAME.readers });
  if (r.pop3Port !== undefined) out.push({ name: names.pop3, protocol: 'pop3', host, port: r.pop3Port, tls, ...legacy, upstream: UPSTREAM_NAME.readers });
  return out;
}

function upstreamNode(a: InitAnswers): Record<string, unknown> {
  if (a.entra) {
    const e = a.entra;
    const u: Record<string, unknown> = { type: a.route === 'graph' ? 'graph' : a.route === 'readers' ? 'exchange-mailbox' : 'smtp-oauth' };
    if (e.cloud !== 'global') u.cloud = e.cloud;
    Object.assign(u, { tenant: e.tenant, clientId: e.clientId });
    if (e.credential.kind === 'secret') u.clientSecret = e.credential.ref;
    if (e.credential.kind === 'certificate') u.certificate = { key: e.credential.key, cert: e.credential.cert };
    if (e.credential.kind === 'delegated') u.delegated = { user: a.mailbox };
    // Each upstream type takes its own hosts: sign-in and Graph/SMTP for delivery, sign-in and IMAP/POP3 for readers.
    const keys = a.route === 'readers' ? ['authority', 'imap', 'pop3'] as const : ['authority', 'graph', 'smtp'] as const;
    const endpoints = Object.fromEntries(keys.filter((k) => e.endpoints[k]).map((k) => [k, e.endpoints[k]]));
    if (Object.keys(endpoints).length) u.endpoints = endpoints;
    if (e.ca) u.ca = e.ca;
    if (a.route !== 'smtp-oauth-delegated' && a.route !== 'readers') u.mailbox = a.mailbox;
    return u;
  }
  if (a.directSend) {
    return { type: 'direct-send', domain: a.directSend.domain, ...(a.directSend.dnsServers.length ? { dnsServers: a.directSend.dnsServers } : {}) };
  }
  const r = a.relay!;
  return { type: 'smtp', host: r.host, port: r.port, tls: r.tls, ...(r.ca ? { ca: r.ca } : {}), ...(r.clientCert ? { clientCert: r.clientCert } : {}) };
}

function set(doc: Document, path: (string | number)[], value: unknown, note: string): void {
  doc.setIn(path, doc.createNode(value));
  comment(doc, path, note, 'before', path.length === 1);
}

/** Puts a comment before a key (its own line) or after its value (same line). */
function comment(doc: Document, path: (string | number)[], text: string, where: 'before' | 'line', space = false): void {
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  const last = path[path.length - 1];
  if (typeof last === 'number' || !isMap(parent)) return;
  const pair = parent.items.find((it: Pair) => (isScalar(it.key) ? it.key.value : it.key) === last);
  if (!pair) return;
  // Keys set at the top level are plain strings; a comment needs a node.
  if (!isScalar(pair.key)) pair.key = doc.createNode(pair.key);
  if (!isScalar(pair.key)) return;
  if (where === 'before') {
    pair.key.commentBefore = ` ${text}`;
    if (space && parent.items[0] !== pair) pair.key.spaceBefore = true;
  } else {
    (pair.value as Node).comment = ` ${text}`;
  }
}

/**
 * Validates the document as the relay will read it. A secret given here is
 * put in place of its reference for the check only (the file keeps the
 * reference); every other `${VARIABLE}` must be set in this environment.
 */
export function validateDocument(doc: Document, a: InitAnswers, baseDir: string): Config {
  const raw = doc.toJS() as Record<string, unknown>;
  const env: Record<string, string | undefined> = { ...process.env };
  const secret = a.entra?.credential.kind === 'secret' ? a.entra.credential : undefined;
  const upstream = UPSTREAM_NAME[a.route];
  if (secret && upstream && secret.value !== undefined) {
    if (secret.envName) env[secret.envName] = secret.value;
    else if (secret.writeFile) ((raw.upstreams as Record<string, Record<string, unknown>>)[upstream]!).clientSecret = secret.value;
  }
  return validateConfig(raw, { env }, baseDir);
}

/** Writes the secret file (when chosen) and then the config, each atomically with mode 0600. */
export function writeFiles(file: string, doc: Document, a: InitAnswers, force: boolean | undefined): string[] {
  const written: string[] = [];
  const secret = a.entra?.credential.kind === 'secret' ? a.entra.credential : undefined;
  refuseOverwrite(file, force);
  if (secret?.writeFile && secret.value !== undefined) {
    refuseOverwrite(secret.writeFile, force);
    writeFileAtomic(secret.writeFile, `${secret.value}\n`);
    written.push(secret.writeFile);
  }
  writeFileAtomic(file, doc.toString({ lineWidth: 0 }));
  written.push(file);
  return written;
}

