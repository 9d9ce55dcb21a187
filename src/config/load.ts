/**
 * Loads the YAML configuration once: expands ${ENV} and file: references,
 * validates it against the one schema, checks cross references, and returns
 * a frozen object. Errors name the key and the fix.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve, isAbsolute } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configSchema, CAPTURE_ROUTE, isMailboxUpstream, type Config } from './schema.js';
import { parseCidr } from '../core/net.js';

export class ConfigError extends Error {
  constructor(
    public readonly problems: string[],
    public readonly file?: string,
    headline = 'configuration is not valid:',
  ) {
    super(`${file ? `${file}: ` : ''}${headline}${problems.map((p) => `\n  - ${p}`).join('')}`);
    this.name = 'ConfigError';
  }
}

const SECRET_KEYS = new Set(['pass', 'password', 'clientSecret', 'secret', 'secretKey', 'passphrase']);

export interface LoadOptions {
  /** Environment used for ${VAR} references (process.env by default, passed in by the caller). */
  env: Record<string, string | undefined>;
}

/** Reads and validates a config file. A missing file gives the embedded default. */
export function loadConfigFile(file: string | undefined, opts: LoadOptions): { config: Config; source: string } {
  if (!file) return { config: validateConfig({}, opts, process.cwd()), source: '(embedded default)' };
  if (!existsSync(file)) {
    throw new ConfigError([], file, 'no such configuration file; create it (see docs/configuration.md) or run without --config for the embedded default');
  }
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8')) ?? {};
  } catch (err) {
    throw new ConfigError([`YAML syntax error: ${(err as Error).message}`], file);
  }
  try {
    return { config: validateConfig(raw, opts, dirname(resolve(file))), source: resolve(file) };
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(err.problems, file);
    throw err;
  }
}

/** Validates an already parsed document. Relative paths are resolved against baseDir. */
export function validateConfig(raw: unknown, opts: LoadOptions, baseDir: string): Config {
  const problems: string[] = [];
  const expanded = expandReferences(raw, [], opts.env, baseDir, problems);
  if (problems.length) throw new ConfigError(problems);
  const parsed = configSchema.safeParse(expanded);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => describeIssue(i)));
  const config = parsed.data;
  smtpOnlyKeys(expanded, problems);
  crossCheck(config, problems);
  checkReaders(config, problems);
  if (problems.length) throw new ConfigError(problems);
  config.dataDir = isAbsolute(config.dataDir) ? config.dataDir : resolve(baseDir, config.dataDir);
  const rel = (p: string | undefined) => (p === undefined || isAbsolute(p) ? p : resolve(baseDir, p));
  config.tls.cert = rel(config.tls.cert);
  config.tls.key = rel(config.tls.key);
  for (const l of config.listeners) {
    l.cert = rel(l.cert);
    l.key = rel(l.key);
  }
  if (config.store.type === 'sqlite' && config.store.path !== undefined) config.store.path = rel(config.store.path);
  if (config.store.type === 'postgres' && config.store.ssl?.ca !== undefined) config.store.ssl.ca = rel(config.store.ssl.ca);
  const scanApp = config.migration?.app;
  if (scanApp) {
    scanApp.ca = rel(scanApp.ca);
    if (scanApp.certificate) {
      scanApp.certificate.cert = rel(scanApp.certificate.cert)!;
      scanApp.certificate.key = rel(scanApp.certificate.key)!;
    }
  }
  for (const u of Object.values(config.upstreams)) {
    if ('ca' in u && u.ca !== undefined) u.ca = rel(u.ca);
    if (u.type === 'smtp' && u.clientCert) {
      u.clientCert.cert = rel(u.clientCert.cert)!;
      u.clientCert.key = rel(u.clientCert.key)!;
    }
    if ((u.type === 'graph' || u.type === 'smtp-oauth' || u.type === 'exchange-mailbox') && u.certificate) {
      u.certificate.cert = rel(u.certificate.cert)!;
      u.certificate.key = rel(u.certificate.key)!;
    }
  }
  return deepFreeze(config);
}

function expandReferences(
  value: unknown,
  path: (string | number)[],
  env: Record<string, string | undefined>,
  baseDir: string,
  problems: string[],
): unknown {
  if (typeof value === 'string') {
    let out = value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) {
        problems.push(`${formatPath(path)}: environment variable ${name} is not set; export it or put the value in the file`);
        return '';
      }
      return v;
    });
    const key = path[path.length - 1];
    if (typeof key === 'string' && (SECRET_KEYS.has(key) || isStoreUrl(path)) && out.startsWith('file:')) {
      const file = resolve(baseDir, out.slice(5));
      try {
        out = readFileSync(file, 'utf8').trim();
      } catch {
        problems.push(`${formatPath(path)}: cannot read secret file ${file}; check the path and its permissions`);
      }
    }
    return out;
  }
  if (Array.isArray(value)) return value.map((v, i) => expandReferences(v, [...path, i], env, baseDir, problems));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, expandReferences(v, [...path, k], env, baseDir, problems)]),
    );
  }
  return value;
}

/** store.url holds the database password: it may come from a file like other secrets. */
function isStoreUrl(path: readonly (string | number)[]): boolean {
  return path.length === 2 && path[0] === 'store' && path[1] === 'url';
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return `${where}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; check the spelling (\`authrelay config schema\` lists every key)`;
  }
  if (issue.code === 'invalid_value' && 'values' in issue) {
    return `${where}: ${issue.message}; use one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  if (issue.code === 'invalid_union' && issue.path[0] === 'store') {
    return `${where}: not a valid store; "type" must be "sqlite" (the default, with an optional path) or "postgres" (with url)`;
  }
  if (issue.code === 'invalid_union' && issue.path[0] === 'upstreams') {
    return `${where}: not a valid upstream; "type" must be one of "smtp", "graph", "smtp-oauth", "direct-send", "capture", "exchange-mailbox" and the keys must match that type`;
  }
  return `${where}: ${issue.message}`;
}

function crossCheck(config: Config, problems: string[]): void {
  const upstreams = new Set([...Object.keys(config.upstreams), CAPTURE_ROUTE]);
  config.routes.forEach((r, i) => {
    r.use.forEach((u, j) => {
      const where = r.use.length > 1 ? `routes[${i}].use[${j}]` : `routes[${i}].use`;
      if (!upstreams.has(u)) problems.push(`${where}: no upstream named "${u}"; define it under upstreams or fix the name`);
      else if (isMailboxUpstream(config.upstreams[u])) problems.push(`${where}: ${notADeliveryRoute(u)}`);
    });
    if (new Set(r.use).size !== r.use.length) problems.push(`routes[${i}].use: an upstream is listed twice; list each once, the preferred first`);
  });
  const names = new Set<string>();
  const users = new Set<string>();
  config.devices.forEach((d, i) => {
    if (names.has(d.name)) problems.push(`devices[${i}].name: "${d.name}" is used twice; device names must be unique`);
    names.add(d.name);
    if (d.username !== undefined) {
      const u = d.username.toLowerCase();
      if (users.has(u)) problems.push(`devices[${i}].username: "${d.username}" is used by two devices; user names must be unique`);
      users.add(u);
    }
    d.networks.forEach((n, j) => {
      if (!parseCidr(n)) problems.push(`devices[${i}].networks[${j}]: "${n}" is not an address or CIDR network, e.g. 192.168.10.0/24 or fd00::/64`);
    });
    if (d.route !== undefined && !upstreams.has(d.route)) {
      problems.push(`devices[${i}].route: no upstream named "${d.route}"; define it under upstreams or fix the name`);
    } else if (d.route !== undefined && isMailboxUpstream(config.upstreams[d.route])) {
      problems.push(`devices[${i}].route: ${notADeliveryRoute(d.route)}`);
    }
    if (d.sendAs !== undefined && !/^[^@\s]+@[^@\s]+$/.test(d.sendAs)) {
      problems.push(`devices[${i}].sendAs: "${d.sendAs}" is not a mailbox address such as scanner@contoso.com`);
    }
  });
  const ports = new Map<string, number>();
  config.listeners.forEach((l, i) => {
    const key = `${l.host}:${l.port}`;
    if (l.port !== 0 && ports.has(key)) problems.push(`listeners[${i}].port: ${key} is already used by listeners[${ports.get(key)}]`);
    ports.set(key, i);
    if (l.tls === 'none' && l.requireTls) problems.push(`listeners[${i}].requireTls: a listener with tls: none cannot require TLS; use tls: starttls`);
    if ((l.cert === undefined) !== (l.key === undefined)) problems.push(`listeners[${i}]: cert and key go together; set both or neither`);
    if (l.proxyProtocol && l.trustedProxies.length === 0) {
      problems.push(`listeners[${i}].trustedProxies: required with proxyProtocol: true; list the load balancer addresses, e.g. trustedProxies: [10.0.0.5/32] (connections from other addresses are refused)`);
    }
    if (!l.proxyProtocol && l.trustedProxies.length > 0) {
      problems.push(`listeners[${i}].trustedProxies: only used with proxyProtocol: true; set proxyProtocol: true on this listener or remove trustedProxies`);
    }
    l.trustedProxies.forEach((n, j) => {
      if (!parseCidr(n)) problems.push(`listeners[${i}].trustedProxies[${j}]: "${n}" is not an address or CIDR network, e.g. 10.0.0.5/32 or fd00::/64`);
    });
  });
  if ((config.tls.cert === undefined) !== (config.tls.key === undefined)) problems.push(`tls: cert and key go together; set both or neither`);
  const entra = config.admin.entraSignIn;
  if (entra && !entra.redirectUri) {
    const host = config.admin.listen.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/i.test(host)) {
      problems.push(`admin.entraSignIn.redirectUri: needed because admin.listen (${config.admin.listen}) is not loopback; set it to the https address people open the console at followed by /api/v1/session/entra/callback, and register that address on the app`);
    }
  }
  checkMigration(config, problems);
  for (const name of Object.keys(config.alerts.secretExpires)) {
    if (!config.upstreams[name]) problems.push(`alerts.secretExpires.${name}: no upstream named "${name}"; use the name of the upstream whose secret or password expires`);
  }
}

/** Why an exchange-mailbox upstream cannot be a route. */
function notADeliveryRoute(name: string): string {
  return `"${name}" is an exchange-mailbox upstream: it opens mailboxes for the IMAP/POP3 listeners and cannot deliver mail; name a delivery upstream (graph, smtp-oauth, smtp, direct-send or capture) here`;
}

/** SMTP settings written on an IMAP or POP3 listener do nothing there: said, not ignored. */
const SMTP_ONLY_KEYS = ['requireTls', 'authMethods', 'greetingDelay', 'maxMessageSize', 'maxRecipients'];

function smtpOnlyKeys(raw: unknown, problems: string[]): void {
  const listeners = (raw as { listeners?: unknown } | null)?.listeners;
  if (!Array.isArray(listeners)) return;
  listeners.forEach((l: unknown, i) => {
    if (!l || typeof l !== 'object') return;
    const o = l as Record<string, unknown>;
    if (o.protocol !== 'imap' && o.protocol !== 'pop3') return;
    const keys = SMTP_ONLY_KEYS.filter((k) => k in o);
    if (keys.length) problems.push(`listeners[${i}]: ${keys.join(', ')} ${keys.length === 1 ? 'is an SMTP setting' : 'are SMTP settings'} and ${keys.length === 1 ? 'does' : 'do'} nothing on a ${o.protocol} listener; remove ${keys.length === 1 ? 'it' : 'them'}`);
  });
}

/** IMAP/POP3 listeners, their exchange-mailbox upstreams, and the devices' mailboxes (docs/imap-pop.md). */
function checkReaders(config: Config, problems: string[]): void {
  const mailboxUpstreams = Object.entries(config.upstreams).filter(([, u]) => isMailboxUpstream(u)).map(([n]) => n);
  config.listeners.forEach((l, i) => {
    if (l.protocol === 'smtp') {
      if (l.upstream !== undefined) problems.push(`listeners[${i}].upstream: only IMAP and POP3 listeners name an upstream (SMTP listeners follow the routes); remove it, or set protocol: imap or pop3`);
      return;
    }
    if (l.upstream === undefined) {
      problems.push(`listeners[${i}].upstream: a ${l.protocol} listener needs the exchange-mailbox upstream that opens the mailboxes; ${mailboxUpstreams.length ? `e.g. upstream: ${mailboxUpstreams[0]}` : 'add one under upstreams (type: exchange-mailbox, see docs/imap-pop.md)'}`);
    } else if (!config.upstreams[l.upstream]) {
      problems.push(`listeners[${i}].upstream: no upstream named "${l.upstream}"; ${mailboxUpstreams.length ? `use ${mailboxUpstreams.join(' or ')}` : 'add an exchange-mailbox upstream (docs/imap-pop.md)'}`);
    } else if (!isMailboxUpstream(config.upstreams[l.upstream])) {
      problems.push(`listeners[${i}].upstream: "${l.upstream}" is a ${config.upstreams[l.upstream]!.type} upstream, which delivers mail; a ${l.protocol} listener needs an exchange-mailbox upstream${mailboxUpstreams.length ? ` (${mailboxUpstreams.join(', ')})` : ' (docs/imap-pop.md)'}`);
    }
    if (l.tls === 'none' && !l.allowInsecureAuth) {
      problems.push(`listeners[${i}].tls: on a ${l.protocol} listener with tls: none nobody could log in; use tls: starttls or implicit, or set allowInsecureAuth: true (the device's password then crosses the network in the clear)`);
    }
  });
  config.devices.forEach((d, i) => {
    const seen = new Set<string>();
    d.mailboxes.forEach((m, j) => {
      if (!/^[^@\s\p{Cc}]+@[^@\s\p{Cc}]+$/u.test(m) || m.length > 320) problems.push(`devices[${i}].mailboxes[${j}]: "${m}" is not a mailbox address such as invoices@contoso.com`);
      else if (seen.has(m.toLowerCase())) problems.push(`devices[${i}].mailboxes[${j}]: "${m}" is listed twice`);
      seen.add(m.toLowerCase());
    });
  });
}

/** migration: the app that reads the tenant is an upstream's (graph or smtp-oauth, with an app credential) or its own. */
function checkMigration(config: Config, problems: string[]): void {
  const m = config.migration;
  if (!m) return;
  const appUpstreams = Object.entries(config.upstreams)
    .filter(([, u]) => u.type === 'graph' || (u.type === 'smtp-oauth' && !u.delegated))
    .map(([name]) => name);
  if (m.upstream !== undefined && m.app) {
    problems.push('migration: set either upstream (use that upstream\'s app registration) or app (a separate one), not both');
    return;
  }
  if (m.upstream !== undefined) {
    const u = config.upstreams[m.upstream];
    if (!u) problems.push(`migration.upstream: no upstream named "${m.upstream}"; use one of ${appUpstreams.length ? appUpstreams.join(', ') : '(none: add a graph upstream, or give migration.app)'}`);
    else if (u.type !== 'graph' && u.type !== 'smtp-oauth') problems.push(`migration.upstream: "${m.upstream}" is a ${u.type} upstream; the scan needs the app registration of a graph or smtp-oauth upstream, or migration.app`);
    else if (u.type === 'smtp-oauth' && u.delegated) problems.push(`migration.upstream: "${m.upstream}" signs in as one mailbox (delegated); the scan needs an app credential (client secret or certificate): use another upstream or migration.app`);
    return;
  }
  if (!m.app && appUpstreams.length !== 1) {
    problems.push(appUpstreams.length === 0
      ? 'migration: no graph or smtp-oauth upstream with an app credential to read the tenant with; give migration.app (tenant, clientId, clientSecret or certificate)'
      : `migration.upstream: several upstreams could read the tenant (${appUpstreams.join(', ')}); name one`);
  }
}

export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** The config as JSON Schema (draft 2020-12), for editors. */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}
