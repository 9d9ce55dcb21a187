/**
 * Loads the YAML configuration once: expands ${ENV} and file: references,
 * validates it against the one schema, checks cross references, and returns
 * a frozen object. Errors name the key and the fix.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve, isAbsolute } from 'node:path';
import { LineCounter, parseDocument, type Document, type Node } from '../vendor/yaml.js';
import { z } from '../vendor/zod.js';
import { configSchema, isMailboxUpstream, type Config } from './schema.js';
import { CAPTURE_ROUTE } from './capture-route.js';
import { parseCidr } from '../core/net.js';
import { asIs, render, renderBoth, type Lang, type Text } from '../core/i18n.js';
import { CONFIG_PROBLEM_TEXT as P, type ConfigProblemKey } from './problem-texts.js';
import { deepFreeze } from '../core/freeze.js';

/** One reason a configuration is refused: where (the key's path, the file's line when known) and why, in both languages. */
export interface ConfigProblem {
  /** The key's path; undefined for the file as a whole (a YAML syntax error). */
  path?: readonly PropertyKey[];
  /** The line of the file the key is on (1-based), when the file was read. */
  line?: number;
  text: Text;
}

export class ConfigError extends Error {
  /** The problems in English, "path: why" (as the API and the logs have them). */
  public readonly problems: string[];
  public readonly details: ConfigProblem[];
  constructor(
    problems: readonly (string | ConfigProblem)[],
    public readonly file?: string,
    headline = 'configuration is not valid:',
  ) {
    const details = problems.map((p) => (typeof p === 'string' ? { text: asIs(p) } : p));
    const english = details.map((p) => problemText(p, 'en', false));
    super(`${file ? `${file}: ` : ''}${headline}${english.map((p) => `\n  - ${p}`).join('')}`);
    this.name = 'ConfigError';
    this.problems = english;
    this.details = details;
  }

  /** The problems in one language, each with the line of the file it is on (when known). */
  problemsIn(lang: Lang): string[] {
    return this.details.map((p) => problemText(p, lang, true));
  }
}

/** "path: why", or "line N: path: why" with the line. */
function problemText(p: ConfigProblem, lang: Lang, withLine: boolean): string {
  const said = p.path ? render(P.at, lang, { where: formatPath(p.path, lang), problem: p.text[lang] }) : p.text[lang];
  return withLine && p.line !== undefined ? render(P.atLine, lang, { line: p.line, problem: said }) : said;
}

/** The problems found so far, each a text of problem-texts.ts at a path. */
class Problems {
  readonly items: ConfigProblem[] = [];
  get length(): number {
    return this.items.length;
  }
  add(path: readonly PropertyKey[], key: ConfigProblemKey, values: Record<string, string | number | Text> = {}): void {
    this.items.push({ path, text: textOf(key, values) });
  }
}

/** A problem text filled; a value given in both languages goes in language by language. */
function textOf(key: ConfigProblemKey, values: Record<string, string | number | Text> = {}): Text {
  return renderBoth(P[key], values);
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
  const text = readFileSync(file, 'utf8');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const syntax = doc.errors[0];
  if (syntax) {
    throw new ConfigError([{ text: textOf('yamlSyntax', { message: syntax.message }), ...(syntax.linePos ? { line: syntax.linePos[0].line } : {}) }], file);
  }
  const raw: unknown = doc.toJS() ?? {};
  try {
    return { config: validateConfig(raw, opts, dirname(resolve(file))), source: resolve(file) };
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(err.details.map((p) => withLine(p, doc, lines)), file);
    throw err;
  }
}

/** The problem with the line its key (or the nearest key above it that is in the file) is on. */
function withLine(p: ConfigProblem, doc: Document, lines: LineCounter): ConfigProblem {
  if (!p.path) return p;
  for (let n = p.path.length; n > 0; n--) {
    const node = doc.getIn(p.path.slice(0, n) as (string | number)[], true) as Node | undefined;
    const at = node && typeof node === 'object' && 'range' in node ? node.range?.[0] : undefined;
    if (at !== undefined) return { ...p, line: lines.linePos(at).line };
  }
  return p;
}

/** Validates an already parsed document. Relative paths are resolved against baseDir. */
export function validateConfig(raw: unknown, opts: LoadOptions, baseDir: string): Config {
  const problems = new Problems();
  const expanded = expandReferences(raw, [], opts.env, baseDir, problems);
  if (problems.length) throw new ConfigError(problems.items);
  const parsed = configSchema.safeParse(expanded);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => describeIssue(i)));
  const config = parsed.data;
  smtpOnlyKeys(expanded, problems);
  crossCheck(config, problems);
  checkReaders(config, problems);
  if (problems.length) throw new ConfigError(problems.items);
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
  problems: Problems,
): unknown {
  if (typeof value === 'string') {
    let out = value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) {
        problems.add(path, 'envNotSet', { name });
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
        problems.add(path, 'secretFile', { file });
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

function formatPath(path: readonly PropertyKey[], lang: Lang = 'en'): string {
  if (path.length === 0) return P.topLevel[lang];
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

/** The schema's own messages by their English (a refine's or a regex's message), for their Japanese. */
const BY_ENGLISH = new Map<string, Text>(Object.values(P).filter((t) => !t.en.includes('{')).map((t) => [t.en, t]));

/** A zod issue as a problem: this project's messages in both languages, zod's own in a Japanese framing. */
function describeIssue(issue: z.core.$ZodIssue): ConfigProblem {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    return { path, text: textOf(issue.keys.length > 1 ? 'unknownKeys' : 'unknownKey', { keys: issue.keys.map((k) => `"${k}"`).join(', ') }) };
  }
  if (issue.code === 'invalid_value' && 'values' in issue) {
    return { path, text: textOf('useOneOf', { message: issue.message, values: issue.values.map((v) => JSON.stringify(v)).join(', ') }) };
  }
  if (issue.code === 'invalid_union' && issue.path[0] === 'store') return { path, text: textOf('badStore') };
  if (issue.code === 'invalid_union' && issue.path[0] === 'upstreams') return { path, text: textOf('badUpstream') };
  const params = issue.code === 'custom' ? (issue.params as { text?: ConfigProblemKey; values?: Record<string, string> } | undefined) : undefined;
  if (params?.text && Object.hasOwn(P, params.text)) return { path, text: textOf(params.text, params.values) };
  const own = BY_ENGLISH.get(issue.message);
  return { path, text: own ?? textOf('zodMessage', { message: issue.message }) };
}

function crossCheck(config: Config, problems: Problems): void {
  const upstreams = new Set([...Object.keys(config.upstreams), CAPTURE_ROUTE]);
  config.routes.forEach((r, i) => {
    r.use.forEach((u, j) => {
      const where = r.use.length > 1 ? ['routes', i, 'use', j] : ['routes', i, 'use'];
      if (!upstreams.has(u)) problems.add(where, 'noUpstreamNamed', { name: u });
      else if (isMailboxUpstream(config.upstreams[u])) problems.add(where, 'notADeliveryRoute', { name: u });
    });
    if (new Set(r.use).size !== r.use.length) problems.add(['routes', i, 'use'], 'listedTwice');
  });
  const names = new Set<string>();
  const users = new Set<string>();
  config.devices.forEach((d, i) => {
    if (names.has(d.name)) problems.add(['devices', i, 'name'], 'deviceNameTwice', { name: d.name });
    names.add(d.name);
    if (d.username !== undefined) {
      const u = d.username.toLowerCase();
      if (users.has(u)) problems.add(['devices', i, 'username'], 'usernameTwice', { name: d.username });
      users.add(u);
    }
    d.networks.forEach((n, j) => {
      if (!parseCidr(n)) problems.add(['devices', i, 'networks', j], 'notCidr', { value: n, example: '192.168.10.0/24 or fd00::/64' });
    });
    if (d.route !== undefined && !upstreams.has(d.route)) {
      problems.add(['devices', i, 'route'], 'noUpstreamNamed', { name: d.route });
    } else if (d.route !== undefined && isMailboxUpstream(config.upstreams[d.route])) {
      problems.add(['devices', i, 'route'], 'notADeliveryRoute', { name: d.route });
    }
    if (d.sendAs !== undefined && !/^[^@\s]+@[^@\s]+$/.test(d.sendAs)) {
      problems.add(['devices', i, 'sendAs'], 'notMailbox', { value: d.sendAs, example: 'scanner@contoso.com' });
    }
  });
  const ports = new Map<string, number>();
  config.listeners.forEach((l, i) => {
    const key = `${l.host}:${l.port}`;
    if (l.port !== 0 && ports.has(key)) problems.add(['listeners', i, 'port'], 'portUsed', { key, other: ports.get(key)! });
    ports.set(key, i);
    if (l.tls === 'none' && l.requireTls) problems.add(['listeners', i, 'requireTls'], 'requireTlsNone');
    if ((l.cert === undefined) !== (l.key === undefined)) problems.add(['listeners', i], 'certAndKey');
    if (l.proxyProtocol && l.trustedProxies.length === 0) {
      problems.add(['listeners', i, 'trustedProxies'], 'trustedProxiesNeeded');
    }
    if (!l.proxyProtocol && l.trustedProxies.length > 0) {
      problems.add(['listeners', i, 'trustedProxies'], 'trustedProxiesUnused');
    }
    l.trustedProxies.forEach((n, j) => {
      if (!parseCidr(n)) problems.add(['listeners', i, 'trustedProxies', j], 'notCidr', { value: n, example: '10.0.0.5/32 or fd00::/64' });
    });
  });
  if ((config.tls.cert === undefined) !== (config.tls.key === undefined)) problems.add(['tls'], 'certAndKey');
  const entra = config.admin.entraSignIn;
  if (entra && !entra.redirectUri) {
    const host = config.admin.listen.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/i.test(host)) {
      problems.add(['admin', 'entraSignIn', 'redirectUri'], 'redirectUri', { listen: config.admin.listen });
    }
  }
  checkMigration(config, problems);
  for (const name of Object.keys(config.alerts.secretExpires)) {
    if (!config.upstreams[name]) problems.add(['alerts', 'secretExpires', name], 'secretExpiresUpstream', { name });
  }
}

/** SMTP settings written on an IMAP or POP3 listener do nothing there: said, not ignored. */
const SMTP_ONLY_KEYS = ['requireTls', 'authMethods', 'greetingDelay', 'maxMessageSize', 'maxRecipients'];

function smtpOnlyKeys(raw: unknown, problems: Problems): void {
  const listeners = (raw as { listeners?: unknown } | null)?.listeners;
  if (!Array.isArray(listeners)) return;
  listeners.forEach((l: unknown, i) => {
    if (!l || typeof l !== 'object') return;
    const o = l as Record<string, unknown>;
    if (o.protocol !== 'imap' && o.protocol !== 'pop3') return;
    const keys = SMTP_ONLY_KEYS.filter((k) => k in o);
    if (keys.length) problems.add(['listeners', i], keys.length === 1 ? 'smtpOnlyKey' : 'smtpOnlyKeys', { keys: keys.join(', '), protocol: String(o.protocol) });
  });
}

/** IMAP/POP3 listeners, their exchange-mailbox upstreams, and the devices' mailboxes (docs/imap-pop.md). */
function checkReaders(config: Config, problems: Problems): void {
  const mailboxUpstreams = Object.entries(config.upstreams).filter(([, u]) => isMailboxUpstream(u)).map(([n]) => n);
  config.listeners.forEach((l, i) => {
    if (l.protocol === 'smtp') {
      if (l.upstream !== undefined) problems.add(['listeners', i, 'upstream'], 'upstreamOnSmtp');
      return;
    }
    if (l.upstream === undefined) {
      if (mailboxUpstreams.length) problems.add(['listeners', i, 'upstream'], 'readerNeedsUpstreamExample', { protocol: l.protocol, name: mailboxUpstreams[0]! });
      else problems.add(['listeners', i, 'upstream'], 'readerNeedsUpstreamAdd', { protocol: l.protocol });
    } else if (!config.upstreams[l.upstream]) {
      if (mailboxUpstreams.length) {
        problems.add(['listeners', i, 'upstream'], 'readerNoSuchUpstreamUse', { name: l.upstream, names: { en: mailboxUpstreams.join(' or '), ja: mailboxUpstreams.join(' または ') } });
      } else problems.add(['listeners', i, 'upstream'], 'readerNoSuchUpstreamAdd', { name: l.upstream });
    } else if (!isMailboxUpstream(config.upstreams[l.upstream])) {
      problems.add(['listeners', i, 'upstream'], 'readerDeliveryUpstream', {
        name: l.upstream, type: config.upstreams[l.upstream]!.type, protocol: l.protocol, which: mailboxUpstreams.length ? ` (${mailboxUpstreams.join(', ')})` : ' (docs/imap-pop.md)',
      });
    }
    if (l.tls === 'none' && !l.allowInsecureAuth) {
      problems.add(['listeners', i, 'tls'], 'readerNoTls', { protocol: l.protocol });
    }
  });
  config.devices.forEach((d, i) => {
    const seen = new Set<string>();
    d.mailboxes.forEach((m, j) => {
      if (!/^[^@\s\p{Cc}]+@[^@\s\p{Cc}]+$/u.test(m) || m.length > 320) problems.add(['devices', i, 'mailboxes', j], 'notMailbox', { value: m, example: 'invoices@contoso.com' });
      else if (seen.has(m.toLowerCase())) problems.add(['devices', i, 'mailboxes', j], 'listedTwiceMailbox', { value: m });
      seen.add(m.toLowerCase());
    });
  });
}

/** migration: the app that reads the tenant is an upstream's (graph or smtp-oauth, with an app credential) or its own. */
function checkMigration(config: Config, problems: Problems): void {
  const m = config.migration;
  if (!m) return;
  const appUpstreams = Object.entries(config.upstreams)
    .filter(([, u]) => u.type === 'graph' || (u.type === 'smtp-oauth' && !u.delegated))
    .map(([name]) => name);
  if (m.upstream !== undefined && m.app) {
    problems.add(['migration'], 'migrationBoth');
    return;
  }
  if (m.upstream !== undefined) {
    const u = config.upstreams[m.upstream];
    if (!u) problems.add(['migration', 'upstream'], 'migrationNoUpstream', { name: m.upstream, names: appUpstreams.length ? appUpstreams.join(', ') : P.migrationNoneToUse });
    else if (u.type !== 'graph' && u.type !== 'smtp-oauth') problems.add(['migration', 'upstream'], 'migrationWrongType', { name: m.upstream, type: u.type });
    else if (u.type === 'smtp-oauth' && u.delegated) problems.add(['migration', 'upstream'], 'migrationDelegated', { name: m.upstream });
    return;
  }
  if (!m.app && appUpstreams.length !== 1) {
    if (appUpstreams.length === 0) problems.add(['migration'], 'migrationNoApp');
    else problems.add(['migration', 'upstream'], 'migrationSeveral', { names: appUpstreams.join(', ') });
  }
}

/** The config as JSON Schema (draft 2020-12), for editors. */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}
