/**
 * Loads the YAML configuration once: expands ${ENV} and file: references,
 * validates it against the one schema, checks cross references, and returns
 * a frozen object. Errors name the key and the fix.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve, isAbsolute } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configSchema, CAPTURE_ROUTE, type Config } from './schema.js';
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
  crossCheck(config, problems);
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
  for (const u of Object.values(config.upstreams)) {
    if ('ca' in u && u.ca !== undefined) u.ca = rel(u.ca);
    if (u.type === 'smtp' && u.clientCert) {
      u.clientCert.cert = rel(u.clientCert.cert)!;
      u.clientCert.key = rel(u.clientCert.key)!;
    }
    if ((u.type === 'graph' || u.type === 'smtp-oauth') && u.certificate) {
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
    return `${where}: not a valid upstream; "type" must be one of "smtp", "graph", "smtp-oauth", "direct-send", "capture" and the keys must match that type`;
  }
  return `${where}: ${issue.message}`;
}

function crossCheck(config: Config, problems: string[]): void {
  const upstreams = new Set([...Object.keys(config.upstreams), CAPTURE_ROUTE]);
  config.routes.forEach((r, i) => {
    if (!upstreams.has(r.use)) problems.push(`routes[${i}].use: no upstream named "${r.use}"; define it under upstreams or fix the name`);
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
  for (const name of Object.keys(config.alerts.secretExpires)) {
    if (!config.upstreams[name]) problems.push(`alerts.secretExpires.${name}: no upstream named "${name}"; use the name of the upstream whose secret or password expires`);
  }
}

function deepFreeze<T>(o: T): T {
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
