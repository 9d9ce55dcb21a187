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
import { UsageError } from '../common.js';
import type { Prompter } from './prompter.js';
import { ROUTES, type CredentialAnswer, type EntraAnswers, type InitAnswers, type RouteKind } from '../../config/wizard/answers.js';

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
  mailbox?: string | undefined;
  domain?: string | undefined;
  'dns-server'?: string[] | undefined;
  'relay-host'?: string | undefined;
  'authority-host'?: string | undefined;
  'graph-url'?: string | undefined;
  'smtp-endpoint'?: string | undefined;
  ca?: string | undefined;
  'listen-host'?: string | undefined;
  'starttls-port'?: string | undefined;
  'tls-port'?: string | undefined;
  'legacy-tls-port'?: string | undefined;
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

const checkMailbox = (v: string) => (MAILBOX.test(v) ? undefined : 'write a mailbox address such as scanner@contoso.com');
const checkPort = (v: string) => (/^\d+$/.test(v) && Number(v) <= 65535 ? undefined : 'write a port number (0 lets the system choose)');
const checkOptionalPort = (v: string) => (/^(no|none)$/i.test(v) ? undefined : checkPort(v));
const checkUrl = (v: string) => (/^https:\/\/[^\s/]+/.test(v) ? undefined : 'write an https:// URL');
const existing = (base: string) => (v: string) => (existsSync(resolve(base, v)) ? undefined : `no such file: ${resolve(base, v)}`);

/** Asks every question for the chosen route. `baseDir` is where the config file goes (relative paths resolve there). */
export async function gatherAnswers(p: Prompter, flags: InitFlags, baseDir: string): Promise<InitAnswers> {
  const route = await p.choose('How should authrelay deliver the mail?', ROUTES, { flag: '--route', given: flags.route });
  if (p.unattended && flags.route === undefined) throw missingFlags(['--route']);
  const answers: InitAnswers = { route, listeners: { host: '0.0.0.0' } };
  if (route === 'graph' || route === 'smtp-oauth' || route === 'smtp-oauth-delegated') {
    answers.entra = await askEntra(p, flags, route, baseDir);
    answers.mailbox = await p.ask({
      label: route === 'smtp-oauth-delegated' ? 'Mailbox that signs in and sends (its user name)' : 'Mailbox the relay sends as (when a device has no sendAs)',
      flag: '--mailbox', given: flags.mailbox, check: checkMailbox,
    });
  } else if (route === 'direct-send') {
    const domain = await p.ask({ label: 'Your Microsoft 365 domain (its MX host receives the mail)', flag: '--domain', given: flags.domain, check: (v) => (/^[^@\s]+\.[^@\s]+$/.test(v) ? undefined : 'write a domain such as contoso.com') });
    answers.directSend = { domain, dnsServers: flags['dns-server'] ?? [] };
  } else if (route === 'smtp') {
    const hostPort = await p.ask({ label: 'Relay host[:port], e.g. contoso-com.mail.protection.outlook.com:25', flag: '--relay-host', given: flags['relay-host'] });
    const m = /^(.+?)(?::(\d+))?$/.exec(hostPort) ?? [];
    const port = Number(m[2] ?? 25);
    const cert = await p.ask({ label: 'Client certificate (PEM) for a certificate-based connector', flag: '--cert-file', given: flags['cert-file'], optional: true, check: existing(baseDir) });
    const key = cert ? await p.ask({ label: 'Its private key (PEM)', flag: '--key-file', given: flags['key-file'], check: existing(baseDir) }) : '';
    // The probe before writing proposes what works; until then, what the port suggests.
    const ca = flags.ca ? checked('--ca', flags.ca, existing(baseDir)) : undefined;
    answers.relay = { host: m[1] ?? hostPort, port, tls: port === 465 ? 'implicit' : 'starttls', ...(ca ? { ca } : {}), ...(cert ? { clientCert: { cert, key } } : {}) };
  }
  answers.listeners = await askListeners(p, flags);
  const device = await askDevice(p, flags);
  if (device) answers.device = device;
  const admin = await p.ask({ label: 'Address that gets a copy of every non-delivery notice', flag: '--admin', given: flags.admin, optional: true, check: checkMailbox });
  if (admin) answers.admin = admin;
  if (p.missing.length) throw missingFlags(p.missing);
  return answers;
}

/** The usage error that names every flag --yes was missing. */
function missingFlags(flags: string[]): UsageError {
  return new UsageError(`--yes needs ${flags.join(', ')}; nothing was written (see authrelay init --help)`);
}

async function askEntra(p: Prompter, flags: InitFlags, route: RouteKind, baseDir: string): Promise<EntraAnswers> {
  const cloud = await p.choose('Which Microsoft cloud is the tenant in?', [
    { value: 'global', label: 'worldwide (also GCC)' },
    { value: 'usgov', label: 'US Government GCC High' },
    { value: 'usgov-dod', label: 'US Government DoD' },
    { value: 'china', label: 'China (21Vianet)' },
  ], { flag: '--cloud', given: flags.cloud, default: 'global' });
  const tenant = await p.ask({ label: 'Directory (tenant) ID, or a verified domain such as contoso.onmicrosoft.com', flag: '--tenant', given: flags.tenant, check: (v) => (GUID.test(v) || /^[^@\s/]+\.[^@\s/]+$/.test(v) ? undefined : 'write the Directory (tenant) ID (a GUID) or a domain') });
  const clientId = await p.ask({ label: 'Application (client) ID of the app registration', flag: '--client-id', given: flags['client-id'], check: (v) => (GUID.test(v) ? undefined : 'the Application (client) ID is a GUID such as 11111111-2222-3333-4444-555555555555') });
  const endpoints: EntraAnswers['endpoints'] = {};
  if (flags['authority-host']) endpoints.authority = checked('--authority-host', flags['authority-host'], checkUrl);
  if (flags['graph-url']) endpoints.graph = checked('--graph-url', flags['graph-url'], checkUrl);
  if (flags['smtp-endpoint']) endpoints.smtp = flags['smtp-endpoint'];
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
    const name = checked('--client-secret-env', flags['client-secret-env'], (v) => (ENV_NAME.test(v) ? undefined : 'write an environment variable name such as M365_CLIENT_SECRET'));
    const value = process.env[name];
    if (value === undefined) throw new UsageError(`--client-secret-env: ${name} is not set; export it before running init (the check and the live test read it)`);
    return { kind: 'secret', ref: `\${${name}}`, value, envName: name };
  }
  if (flags['client-secret-file'] !== undefined) {
    const file = checked('--client-secret-file', flags['client-secret-file'], existing(baseDir));
    return { kind: 'secret', ref: `file:${file}`, value: undefined };
  }
  if (flags['cert-file'] !== undefined || flags['key-file'] !== undefined) {
    const cert = await p.ask({ label: 'Certificate file (PEM)', flag: '--cert-file', given: flags['cert-file'], check: existing(baseDir) });
    const key = await p.ask({ label: 'Private key file (PEM)', flag: '--key-file', given: flags['key-file'], check: existing(baseDir) });
    return { kind: 'certificate', cert, key };
  }
  if (p.unattended) {
    p.missing.push('--client-secret-env (or --client-secret-file, or --cert-file and --key-file)');
    return { kind: 'secret', ref: '', value: undefined };
  }
  const kind = await p.choose('How does the app sign in?', [
    { value: 'secret', label: 'a client secret (its Value, shown once when it was made)' },
    { value: 'certificate', label: 'a certificate (Microsoft recommends it): key and certificate files' },
  ], { default: 'secret' });
  if (kind === 'certificate') {
    const cert = await p.ask({ label: 'Certificate file (PEM, the one uploaded to the app registration)', check: existing(baseDir) });
    const key = await p.ask({ label: 'Private key file (PEM)', check: existing(baseDir) });
    return { kind: 'certificate', cert, key };
  }
  p.say('Type the client secret VALUE (not the Secret ID). You may also type ${VARIABLE} or file:/path to refer to it.');
  const typed = await p.ask({
    label: 'Client secret', hidden: true,
    check: (v) => {
      if (GUID.test(v)) return 'this looks like the Secret ID (a GUID); the secret VALUE is needed (Certificates & secrets → Value column)';
      if (v.startsWith('file:') && !existsSync(resolve(baseDir, v.slice(5)))) return `no such file: ${resolve(baseDir, v.slice(5))}`;
      return undefined;
    },
  });
  const ref = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(typed);
  if (ref) {
    const name = ref[1]!;
    let value = process.env[name];
    if (value === undefined) {
      p.say(`  ${name} is not set here. Type the secret once more to test and check the file with (it is not stored).`);
      value = await p.ask({ label: `Value of ${name}`, hidden: true });
    }
    return { kind: 'secret', ref: typed, value, envName: name };
  }
  if (typed.startsWith('file:')) return { kind: 'secret', ref: typed, value: undefined };
  const where = await p.choose('Where should the relay read the secret from?', [
    { value: 'env', label: 'an environment variable (recommended: the secret stays out of files)' },
    { value: 'file', label: 'a file next to the config, readable by its owner only (mode 0600)' },
  ], { default: 'env' });
  if (where === 'file') {
    const file = await p.ask({ label: 'Secret file', default: 'm365-client-secret' });
    return { kind: 'secret', ref: `file:${file}`, value: typed, writeFile: isAbsolute(file) ? file : resolve(baseDir, file) };
  }
  const name = await p.ask({ label: 'Environment variable name', default: 'M365_CLIENT_SECRET', check: (v) => (ENV_NAME.test(v) ? undefined : 'letters, digits and _ only, not starting with a digit') });
  return { kind: 'secret', ref: `\${${name}}`, value: typed, envName: name };
}

async function askListeners(p: Prompter, flags: InitFlags): Promise<InitAnswers['listeners']> {
  if (!p.unattended) p.say('\nListeners: where devices connect. Ports below 1024 (25, 465, 587) need root or CAP_NET_BIND_SERVICE.');
  const host = await p.ask({ label: 'Address to listen on (0.0.0.0: all IPv4; :: all addresses)', flag: '--listen-host', given: flags['listen-host'], default: '0.0.0.0' });
  const starttls = await p.ask({ label: 'Port for SMTP with STARTTLS (devices that do TLS or none)', flag: '--starttls-port', given: flags['starttls-port'], default: '2525', check: checkPort });
  const tls = await p.ask({ label: 'Port for implicit TLS (port 465 style), or "no"', flag: '--tls-port', given: flags['tls-port'], default: '2465', check: checkOptionalPort });
  const wantsLegacy = flags['legacy-tls-port'] !== undefined ? !/^(no|none)$/i.test(flags['legacy-tls-port'])
    : await p.yesNo('Add a listener that also accepts TLS 1.0/1.1 (for old printers only)?', { default: false });
  const legacy = wantsLegacy
    ? await p.ask({ label: 'Port for the legacy TLS 1.0 listener (STARTTLS)', flag: '--legacy-tls-port', given: flags['legacy-tls-port'], default: '2526', check: checkPort })
    : '';
  return {
    host,
    starttlsPort: Number(starttls),
    ...(/^\d+$/.test(tls) ? { tlsPort: Number(tls) } : {}),
    ...(legacy ? { legacyPort: Number(legacy) } : {}),
  };
}

async function askDevice(p: Prompter, flags: InitFlags): Promise<InitAnswers['device']> {
  if (!p.unattended) p.say('\nA first device (a printer, a scanner, an application). More later with `authrelay device add`.');
  const name = await p.ask({ label: 'Device name, e.g. mfp-3f', flag: '--device', given: flags.device, optional: true });
  if (!name) return undefined;
  const networks = flags.network ?? (p.unattended ? [] : splitList(await p.ask({
    label: 'Trusted network(s) it sends from without a password (CIDR, comma separated)', optional: true,
    check: (v) => splitList(v).map((n) => (parseCidr(n) ? undefined : `"${n}" is not an address or CIDR network, e.g. 192.168.10.0/24`)).find(Boolean),
  })));
  for (const n of networks) checked('--network', n, (v) => (parseCidr(v) ? undefined : `"${v}" is not an address or CIDR network`));
  const username = await p.ask({ label: 'SMTP user name for it (a password is generated)', flag: '--username', given: flags.username, optional: true, default: networks.length ? undefined : name });
  if (!username && networks.length === 0) {
    if (p.unattended) p.missing.push('--network or --username (for --device)');
    else throw new UsageError('a device needs a trusted network or a user name');
  }
  return { name, networks, ...(username ? { username } : {}) };
}

function splitList(v: string): string[] {
  return v.split(/[\s,]+/).filter(Boolean);
}
