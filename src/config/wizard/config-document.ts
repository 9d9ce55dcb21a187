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
import { Document, isMap, isScalar, type Node, type Pair } from 'yaml';
import { validateConfig } from '../load.js';
import type { Config } from '../schema.js';
import type { InitAnswers } from './answers.js';
import { UserError } from '../../core/user-error.js';
import { WIZARD_TEXT } from './texts.js';

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
export function buildDocument(a: InitAnswers, passwordHash: string | undefined, when: Date): Document {
  const doc = new Document({});
  const upstream = UPSTREAM_NAME[a.route];
  const secret = a.entra?.credential.kind === 'secret' ? a.entra.credential : undefined;
  doc.commentBefore = [
    ` authrelay configuration, written by \`authrelay init\` on ${when.toISOString().slice(0, 10)}.`,
    ' Check it with `authrelay config check --config <this file>`; every key: `authrelay config schema`,',
    ' docs/configuration.md and docs/microsoft-365.md.',
    ...(secret?.envName ? [` The client secret is read from the environment variable ${secret.envName}: set it where the relay runs.`] : []),
  ].join('\n');

  set(doc, ['dataDir'], './data', 'Where the queue, the listeners\' certificate and sign-in state are kept (relative to this file).');
  if (a.readers) {
    set(doc, ['listeners'], readerListeners(a), 'Where reading programs log in (IMAP, POP3) with the device\'s password; a self-signed certificate is made in dataDir unless tls.cert and tls.key are set. No SMTP listener: add one to send mail too (docs/configuration.md).');
    if (a.readers.legacy) readerListeners(a).forEach((_, i) => comment(doc, ['listeners', i, 'minTlsVersion'], 'accepts TLS 1.0 and 1.1 (weak ciphers allowed here only): for old programs that cannot do TLS 1.2', 'line'));
  } else {
    set(doc, ['listeners'], listeners(a), 'Where devices connect. A self-signed certificate is made in dataDir unless tls.cert and tls.key are set.');
    const legacyIndex = a.listeners.legacyPort !== undefined ? listeners(a).length - 1 : -1;
    if (legacyIndex >= 0) comment(doc, ['listeners', legacyIndex, 'minTlsVersion'], 'accepts TLS 1.0 and 1.1 (weak ciphers allowed here only): for old devices that cannot do TLS 1.2', 'line');
  }
  if (a.device) {
    const d: Record<string, unknown> = { name: a.device.name };
    if (a.device.username && passwordHash) Object.assign(d, { username: a.device.username, passwordHash });
    if (a.device.networks.length) d.networks = a.device.networks;
    if (a.readers) d.mailboxes = a.readers.mailboxes;
    set(doc, ['devices'], [d], a.readers
      ? 'Reader devices: each opens only the mailboxes listed for it. Add more with `authrelay device add NAME --mailbox ADDR`; only password hashes are stored.'
      : 'Devices that may send. Add more with `authrelay device add NAME`; only password hashes are stored.');
  }
  if (upstream && a.readers) {
    set(doc, ['upstreams', upstream], upstreamNode(a), 'Exchange Online mailboxes opened for the reader devices (app-only XOAUTH2; not a delivery route).');
    comment(doc, ['upstreams'], 'Upstreams: where the relay connects.', 'before', true);
    if (secret) {
      comment(doc, ['upstreams', upstream, 'clientSecret'], secret.envName
        ? `the secret's Value, read from the environment variable ${secret.envName}`
        : 'the secret\'s Value, read from this file (keep it mode 0600)', 'line');
    }
    doc.commentBefore += '\n Legacy readers only (docs/imap-pop.md): no SMTP listener and no delivery route.';
  } else if (upstream) {
    set(doc, ['upstreams', upstream], upstreamNode(a), 'Where the mail goes.');
    comment(doc, ['upstreams'], 'Upstreams: how mail leaves the relay.', 'before', true);
    if (secret) {
      comment(doc, ['upstreams', upstream, 'clientSecret'], secret.envName
        ? `the secret's Value, read from the environment variable ${secret.envName}`
        : 'the secret\'s Value, read from this file (keep it mode 0600)', 'line');
    }
    if (a.relay?.tls === 'none') comment(doc, ['upstreams', upstream, 'tls'], 'no TLS: the relay offers none, so mail crosses the network unencrypted (accepted at setup)', 'line');
    if (a.entra?.endpoints.authority || a.entra?.endpoints.graph || a.entra?.endpoints.smtp || a.entra?.endpoints.imap || a.entra?.endpoints.pop3) {
      comment(doc, ['upstreams', upstream, 'endpoints'], 'Where to sign in and send instead of the cloud\'s hosts (private clouds, tests).', 'before');
    }
    const routes = a.route === 'direct-send'
      ? [{ when: { recipientDomain: [a.directSend!.domain] }, use: upstream }]
      : [{ use: upstream }];
    set(doc, ['routes'], routes, a.route === 'direct-send'
      ? 'Direct Send reaches your own domains only; other recipients are held in the queue (add a route for them).'
      : 'Every message goes to this upstream.');
  } else {
    doc.commentBefore += '\n No upstream: every message is held in the queue for inspection (`authrelay queue list`).';
  }
  if (a.admin) set(doc, ['notices', 'admin'], a.admin, 'Non-delivery notices go to the sender and a copy to this address.');
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

