/**
 * What `authrelay init` asks, in order: the route to Microsoft 365 (or
 * another relay, or none), the app registration and its credential, the
 * sending mailbox, the listeners, a first device and the notices address.
 * Every question can be answered by a flag (listed in InitFlags); the
 * answers form an InitAnswers value that the config document is built from.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseCidr } from '../../core/net.js';
import { tr, UsageError } from '../common.js';
import type { Prompter } from './prompter.js';
import { INIT_TEXT as T } from './texts.js';
import { ROUTES, type CredentialAnswer, type EntraAnswers, type InitAnswers, type ReadersAnswers, type RouteKind } from '../../config/wizard/answers.js';

export type { CredentialAnswer, EntraAnswers, InitAnswers, RouteKind } from '../../config/wizard/answers.js';


export interface InitFlags {
  yes?: boolean | undefined;
  force?: boolean | undefined;
  out?: string | undefined;
  route?: string | undefined;
  cloud?: string | undefined;
  tenant?: string | undefined;
  'client-id'?: string | undefined;
  'client-secret-env'?: string | undefined;
  'client-secret-file'?: string | undefined;
  'cert-file'?: string | undefined;
  'key-file'?: string | undefined;
  /** The sending mailbox; for legacy readers (repeatable) the mailboxes the reader device may open. */
  mailbox?: string | string[] | undefined;
  domain?: string | undefined;
  'dns-server'?: string[] | undefined;
  'relay-host'?: string | undefined;
  'authority-host'?: string | undefined;
  'graph-url'?: string | undefined;
  'smtp-endpoint'?: string | undefined;
  'imap-endpoint'?: string | undefined;
  'pop3-endpoint'?: string | undefined;
  ca?: string | undefined;
  'listen-host'?: string | undefined;
  'starttls-port'?: string | undefined;
  'tls-port'?: string | undefined;
  'legacy-tls-port'?: string | undefined;
  /** Legacy readers: the IMAP and POP3 listeners' ports ("no" for none), their TLS, and TLS 1.0/1.1 on them. */
  'imap-port'?: string | undefined;
  'pop3-port'?: string | undefined;
  'reader-tls'?: string | undefined;
  'reader-legacy-tls'?: boolean | undefined;
  device?: string | undefined;
  network?: string[] | undefined;
  username?: string | undefined;
  admin?: string | undefined;
  'skip-test'?: boolean | undefined;
  /** With --yes: accept `tls: none` for a relay that offers no TLS (mail crosses the network unencrypted). */
  'allow-no-tls'?: boolean | undefined;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAILBOX = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const checkMailbox = (v: string) => (MAILBOX.test(v) ? undefined : tr(T.checkMailbox));
const checkPort = (v: string) => (/^\d+$/.test(v) && Number(v) <= 65535 ? undefined : tr(T.checkPort));
const checkOptionalPort = (v: string) => (/^(no|none)$/i.test(v) ? undefined : checkPort(v));
const checkHostPort = (v: string) => (/^[^\s:]+(:\d{1,5})?$/.test(v) ? undefined : tr(T.checkHostPort));
const checkUrl = (v: string) => (/^https:\/\/[^\s/]+/.test(v) ? undefined : tr(T.checkUrl));
const existing = (base: string) => (v: string) => (existsSync(resolve(base, v)) ? undefined : tr(T.noSuchFile, { file: resolve(base, v) }));

/** Asks every question for the chosen route. `baseDir` is where the config file goes (relative paths resolve there). */
export async function gatherAnswers(p: Prompter, flags: InitFlags, baseDir: string): Promise<InitAnswers> {
  const routes = ROUTES.map((r) => ({ value: r.value, label: tr(r.text) }));
  const route = await p.choose(tr(T.askRoute), routes, { flag: '--route', given: flags.route });
  if (p.unattended && flags.route === undefined) throw missingFlags(['--route']);
  const answers: InitAnswers = { route, listeners: { host: '0.0.0.0' } };
  if (route === 'readers') {
    answers.entra = await askEntra(p, flags, route, baseDir);
    const { host, ...readers } = await askReaders(p, flags);
    answers.readers = readers;
    answers.listeners = { host };
    const device = await askDevice(p, flags, true);
    if (device) answers.device = device;
    if (p.missing.length) throw missingFlags(p.missing);
    return answers;
  }
  if (route === 'graph' || route === 'smtp-oauth' || route === 'smtp-oauth-delegated') {
    answers.entra = await askEntra(p, flags, route, baseDir);
    answers.mailbox = await p.ask({
      label: tr(route === 'smtp-oauth-delegated' ? T.askMailboxDelegated : T.askMailbox),
      flag: '--mailbox', given: oneMailbox(flags.mailbox), check: checkMailbox,
    });
  } else if (route === 'direct-send') {
    const domain = await p.ask({ label: tr(T.askDomain), flag: '--domain', given: flags.domain, check: (v) => (/^[^@\s]+\.[^@\s]+$/.test(v) ? undefined : tr(T.checkDomain)) });
    answers.directSend = { domain, dnsServers: flags['dns-server'] ?? [] };
  } else if (route === 'smtp') {
    const hostPort = await p.ask({ label: tr(T.askRelayHost), flag: '--relay-host', given: flags['relay-host'] });
    const m = /^(.+?)(?::(\d+))?$/.exec(hostPort) ?? [];
    const port = Number(m[2] ?? 25);
    const cert = await p.ask({ label: tr(T.askClientCert), flag: '--cert-file', given: flags['cert-file'], optional: true, check: existing(baseDir) });
    const key = cert ? await p.ask({ label: tr(T.askClientKey), flag: '--key-file', given: flags['key-file'], check: existing(baseDir) }) : '';
    // The probe before writing proposes what works; until then, what the port suggests.
    const ca = flags.ca ? checked('--ca', flags.ca, existing(baseDir)) : undefined;
    answers.relay = { host: m[1] ?? hostPort, port, tls: port === 465 ? 'implicit' : 'starttls', ...(ca ? { ca } : {}), ...(cert ? { clientCert: { cert, key } } : {}) };
  }
  answers.listeners = await askListeners(p, flags);
  const device = await askDevice(p, flags);
  if (device) answers.device = device;
  const admin = await p.ask({ label: tr(T.askAdmin), flag: '--admin', given: flags.admin, optional: true, check: checkMailbox });
  if (admin) answers.admin = admin;
  if (p.missing.length) throw missingFlags(p.missing);
  return answers;
}

/** The --mailbox flag of a sending route: one address. */
function oneMailbox(given: string | string[] | undefined): string | undefined {
  if (!Array.isArray(given)) return given;
  if (given.length > 1) throw new UsageError(T.oneMailbox, { mailboxes: given.join(', ') });
  return given[0];
}

/** Legacy readers: the mailboxes the reader device may open, then where the reading programs log in. */
async function askReaders(p: Prompter, flags: InitFlags): Promise<ReadersAnswers & { host: string }> {
  if (!p.unattended) p.say(tr(T.readersIntro));
  const given = flags.mailbox === undefined ? undefined : Array.isArray(flags.mailbox) ? flags.mailbox : [flags.mailbox];
  const mailboxes = given
    ? given.flatMap(splitList).map((m) => checked('--mailbox', m, checkMailbox))
    : splitList(await p.ask({
      label: tr(T.askReaderMailboxes), flag: '--mailbox',
      check: (v) => splitList(v).map((m) => (MAILBOX.test(m) ? undefined : tr(T.checkReaderMailbox, { value: m }))).find(Boolean),
    }));
  if (!p.unattended) p.say(tr(T.readersListenersIntro));
  const host = await p.ask({ label: tr(T.askListenHost), flag: '--listen-host', given: flags['listen-host'], default: '0.0.0.0' });
  const imap = await p.ask({ label: tr(T.askImapPort), flag: '--imap-port', given: flags['imap-port'], default: '1993', check: checkOptionalPort });
  const pop3 = await p.ask({ label: tr(T.askPop3Port), flag: '--pop3-port', given: flags['pop3-port'], default: '1995', check: checkOptionalPort });
  const port = (v: string) => (/^\d+$/.test(v) ? Number(v) : undefined);
  if (port(imap) === undefined && port(pop3) === undefined) throw new UsageError(T.readersNeedListener);
  const tls = await p.choose(tr(T.askReaderTls), [
    { value: 'implicit', label: tr(T.readerTlsImplicit) },
    { value: 'starttls', label: tr(T.readerTlsStarttls) },
  ], { flag: '--reader-tls', given: flags['reader-tls'], default: 'implicit' });
  const legacy = flags['reader-legacy-tls'] ?? (p.unattended ? false : await p.yesNo(tr(T.askReaderLegacy), { default: false }));
  return {
    host, mailboxes, tls, legacy,
    ...(port(imap) !== undefined ? { imapPort: port(imap)! } : {}),
    ...(port(pop3) !== undefined ? { pop3Port: port(pop3)! } : {}),
  };
}

/** The usage error that names every flag --yes was missing. */
function missingFlags(flags: string[]): UsageError {
  return new UsageError(T.missingFlags, { flags: flags.join(', ') });
}

async function askEntra(p: Prompter, flags: InitFlags, route: RouteKind, baseDir: string): Promise<EntraAnswers> {
  const cloud = await p.choose(tr(T.askCloud), [
    { value: 'global', label: tr(T.cloudGlobal) },
    { value: 'usgov', label: tr(T.cloudUsGov) },
    { value: 'usgov-dod', label: tr(T.cloudUsGovDod) },
    { value: 'china', label: tr(T.cloudChina) },
  ], { flag: '--cloud', given: flags.cloud, default: 'global' });
  const tenant = await p.ask({ label: tr(T.askTenant), flag: '--tenant', given: flags.tenant, check: (v) => (GUID.test(v) || /^[^@\s/]+\.[^@\s/]+$/.test(v) ? undefined : tr(T.checkTenant)) });
  const clientId = await p.ask({ label: tr(T.askClientId), flag: '--client-id', given: flags['client-id'], check: (v) => (GUID.test(v) ? undefined : tr(T.checkClientId)) });
  const endpoints: EntraAnswers['endpoints'] = {};
  if (flags['authority-host']) endpoints.authority = checked('--authority-host', flags['authority-host'], checkUrl);
  if (flags['graph-url']) endpoints.graph = checked('--graph-url', flags['graph-url'], checkUrl);
  if (flags['smtp-endpoint']) endpoints.smtp = flags['smtp-endpoint'];
  if (flags['imap-endpoint']) endpoints.imap = checked('--imap-endpoint', flags['imap-endpoint'], checkHostPort);
  if (flags['pop3-endpoint']) endpoints.pop3 = checked('--pop3-endpoint', flags['pop3-endpoint'], checkHostPort);
  const ca = flags.ca ? checked('--ca', flags.ca, existing(baseDir)) : undefined;
  const base = { cloud, tenant, clientId, endpoints, ...(ca ? { ca } : {}) };
  if (route === 'smtp-oauth-delegated') return { ...base, credential: { kind: 'delegated' } };
  return { ...base, credential: await askCredential(p, flags, baseDir) };
}

function checked(flag: string, value: string, check: (v: string) => string | undefined): string {
  const problem = check(value);
  if (problem) throw new UsageError(`${flag}: ${problem}`);
  return value;
}

/** Exported for going back after a failed live test. */
export async function askCredential(p: Prompter, flags: InitFlags, baseDir: string): Promise<CredentialAnswer> {
  if (flags['client-secret-env'] !== undefined) {
    const name = checked('--client-secret-env', flags['client-secret-env'], (v) => (ENV_NAME.test(v) ? undefined : tr(T.checkEnvName)));
    const value = process.env[name];
    if (value === undefined) throw new UsageError(T.envFlagNotSet, { name });
    return { kind: 'secret', ref: `\${${name}}`, value, envName: name };
  }
  if (flags['client-secret-file'] !== undefined) {
    const file = checked('--client-secret-file', flags['client-secret-file'], existing(baseDir));
    return { kind: 'secret', ref: `file:${file}`, value: undefined };
  }
  if (flags['cert-file'] !== undefined || flags['key-file'] !== undefined) {
    const cert = await p.ask({ label: tr(T.askCertFile), flag: '--cert-file', given: flags['cert-file'], check: existing(baseDir) });
    const key = await p.ask({ label: tr(T.askKeyFile), flag: '--key-file', given: flags['key-file'], check: existing(baseDir) });
    return { kind: 'certificate', cert, key };
  }
  if (p.unattended) {
    p.missing.push(tr(T.missingSecretFlags));
    return { kind: 'secret', ref: '', value: undefined };
  }
  const kind = await p.choose(tr(T.askSignIn), [
    { value: 'secret', label: tr(T.signInSecret) },
    { value: 'certificate', label: tr(T.signInCertificate) },
  ], { default: 'secret' });
  if (kind === 'certificate') {
    const cert = await p.ask({ label: tr(T.askCertUploaded), check: existing(baseDir) });
    const key = await p.ask({ label: tr(T.askKeyFile), check: existing(baseDir) });
    return { kind: 'certificate', cert, key };
  }
  p.say(tr(T.typeSecret));
  const typed = await p.ask({
    label: tr(T.askSecret), hidden: true,
    check: (v) => {
      if (GUID.test(v)) return tr(T.secretLooksLikeId);
      if (v.startsWith('file:') && !existsSync(resolve(baseDir, v.slice(5)))) return tr(T.noSuchFile, { file: resolve(baseDir, v.slice(5)) });
      return undefined;
    },
  });
  const ref = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(typed);
  if (ref) {
    const name = ref[1]!;
    let value = process.env[name];
    if (value === undefined) {
      p.say(tr(T.envNotSet, { name }));
      value = await p.ask({ label: tr(T.askValueOf, { name }), hidden: true });
    }
    return { kind: 'secret', ref: typed, value, envName: name };
  }
  if (typed.startsWith('file:')) return { kind: 'secret', ref: typed, value: undefined };
  const where = await p.choose(tr(T.askSecretWhere), [
    { value: 'env', label: tr(T.secretFromEnv) },
    { value: 'file', label: tr(T.secretFromFile) },
  ], { default: 'env' });
  if (where === 'file') {
    const file = await p.ask({ label: tr(T.askSecretFile), default: 'm365-client-secret' });
    return { kind: 'secret', ref: `file:${file}`, value: typed, writeFile: isAbsolute(file) ? file : resolve(baseDir, file) };
  }
  const name = await p.ask({ label: tr(T.askEnvName), default: 'M365_CLIENT_SECRET', check: (v) => (ENV_NAME.test(v) ? undefined : tr(T.checkEnvChars)) });
  return { kind: 'secret', ref: `\${${name}}`, value: typed, envName: name };
}

async function askListeners(p: Prompter, flags: InitFlags): Promise<InitAnswers['listeners']> {
  if (!p.unattended) p.say(tr(T.listenersIntro));
  const host = await p.ask({ label: tr(T.askListenHost), flag: '--listen-host', given: flags['listen-host'], default: '0.0.0.0' });
  const starttls = await p.ask({ label: tr(T.askStarttlsPort), flag: '--starttls-port', given: flags['starttls-port'], default: '2525', check: checkPort });
  const tls = await p.ask({ label: tr(T.askTlsPort), flag: '--tls-port', given: flags['tls-port'], default: '2465', check: checkOptionalPort });
  const wantsLegacy = flags['legacy-tls-port'] !== undefined ? !/^(no|none)$/i.test(flags['legacy-tls-port'])
    : await p.yesNo(tr(T.askLegacy), { default: false });
  const legacy = wantsLegacy
    ? await p.ask({ label: tr(T.askLegacyPort), flag: '--legacy-tls-port', given: flags['legacy-tls-port'], default: '2526', check: checkPort })
    : '';
  return {
    host,
    starttlsPort: Number(starttls),
    ...(/^\d+$/.test(tls) ? { tlsPort: Number(tls) } : {}),
    ...(legacy ? { legacyPort: Number(legacy) } : {}),
  };
}

async function askDevice(p: Prompter, flags: InitFlags, reader = false): Promise<InitAnswers['device']> {
  if (!p.unattended) p.say(tr(reader ? T.readerDeviceIntro : T.deviceIntro));
  // A reader device is needed (the mailboxes are its list): its name defaults to "reader".
  const name = await p.ask({ label: tr(reader ? T.askReaderDeviceName : T.askDeviceName), flag: '--device', given: flags.device, optional: !reader, ...(reader ? { default: 'reader' } : {}) });
  if (!name) return undefined;
  const networks = flags.network ?? (p.unattended ? [] : splitList(await p.ask({
    label: tr(reader ? T.askReaderNetworks : T.askNetworks), optional: true,
    check: (v) => splitList(v).map((n) => (parseCidr(n) ? undefined : tr(T.checkNetwork, { value: n }))).find(Boolean),
  })));
  for (const n of networks) checked('--network', n, (v) => (parseCidr(v) ? undefined : tr(T.checkNetworkFlag, { value: v })));
  const username = await p.ask({ label: tr(reader ? T.askReaderUsername : T.askUsername), flag: '--username', given: flags.username, optional: true, default: networks.length ? undefined : name });
  if (!username && networks.length === 0) {
    if (p.unattended) p.missing.push(tr(T.missingDeviceFlags));
    else throw new UsageError(T.deviceNeedsAuth);
  }
  return { name, networks, ...(username ? { username } : {}) };
}

function splitList(v: string): string[] {
  return v.split(/[\s,]+/).filter(Boolean);
}
