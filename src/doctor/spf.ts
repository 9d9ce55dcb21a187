/**
 * A small SPF evaluator (RFC 7208 check_host) for `doctor`: does a domain's
 * SPF record authorise a given IP address? It follows ip4/ip6 (with CIDR),
 * a, mx, include, exists and redirect, honours the qualifiers and the limit
 * of 10 DNS-querying terms, and stops include/redirect chains at depth 10.
 * Macros and ptr are not evaluated: such a record gives `unsupported` rather
 * than a guess. It also suggests a record that covers the IP for Microsoft 365.
 */
import { Resolver } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror' | 'unsupported';

export interface SpfVerdict {
  result: SpfResult;
  /** The domain's own SPF record, when it has exactly one. */
  record?: string;
  /** The term that decided, e.g. "ip4:203.0.113.0/24" or "-all" (in which record). */
  matched?: string;
  /** Why, for errors and unsupported records. */
  reason?: string;
}

const MAX_LOOKUPS = 10;
const MAX_DEPTH = 10;
const MICROSOFT_INCLUDE = 'include:spf.protection.outlook.com';

export function spfResolver(dnsServers: readonly string[] | undefined): Resolver {
  const r = new Resolver({ timeout: 3_000, tries: 2 });
  if (dnsServers?.length) r.setServers([...dnsServers]);
  return r;
}

class SpfAbort extends Error {
  constructor(readonly result: 'permerror' | 'temperror' | 'unsupported', message: string) {
    super(message);
  }
}

/** The SPF record of a domain: undefined when it has none; throws SpfAbort for several or a DNS failure. */
export async function spfRecord(resolver: Resolver, domain: string): Promise<string | undefined> {
  let txt: string[][];
  try {
    txt = await resolver.resolveTxt(domain);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENODATA' || code === 'ENOTFOUND') return undefined;
    throw new SpfAbort('temperror', `TXT lookup of ${domain} failed (${code})`);
  }
  const records = txt.map((parts) => parts.join('')).filter((t) => /^v=spf1(\s|$)/i.test(t));
  if (records.length > 1) throw new SpfAbort('permerror', `${domain} has ${records.length} SPF records; only one is allowed`);
  return records[0];
}

export async function checkSpf(resolver: Resolver, domain: string, ip: string): Promise<SpfVerdict> {
  const addr = ipaddr.process(ip);
  const state = { lookups: 0 };
  let own: string | undefined;
  try {
    own = await spfRecord(resolver, domain);
    if (own === undefined) return { result: 'none', reason: `${domain} has no SPF record` };
    const r = await evaluate(resolver, domain, own, addr, state, 0);
    return { record: own, ...r };
  } catch (err) {
    if (err instanceof SpfAbort) return { ...(own ? { record: own } : {}), result: err.result, reason: err.message };
    throw err;
  }
}

const QUALIFIERS: Record<string, SpfResult> = { '+': 'pass', '-': 'fail', '~': 'softfail', '?': 'neutral' };

async function evaluate(
  resolver: Resolver, domain: string, record: string, ip: ipaddr.IPv4 | ipaddr.IPv6, state: { lookups: number }, depth: number,
): Promise<Omit<SpfVerdict, 'record'>> {
  if (depth > MAX_DEPTH) throw new SpfAbort('permerror', `include/redirect chain deeper than ${MAX_DEPTH} at ${domain}`);
  const terms = record.trim().split(/\s+/).slice(1);
  let redirect: string | undefined;
  for (const term of terms) {
    const modifier = /^([a-z][a-z0-9_.-]*)=(.*)$/i.exec(term);
    if (modifier) {
      if (modifier[1]!.toLowerCase() === 'redirect') redirect = modifier[2]!;
      continue;
    }
    const m = /^([+\-~?]?)([a-z0-9]+)(?::([^/]*))?(?:\/(\d+))?(?:\/\/(\d+))?$/i.exec(term);
    if (!m) throw new SpfAbort('permerror', `"${term}" in the SPF record of ${domain} is not valid SPF`);
    const qualifier = QUALIFIERS[m[1] || '+']!;
    const mech = m[2]!.toLowerCase();
    const arg = m[3];
    if (arg?.includes('%')) throw new SpfAbort('unsupported', `the SPF record of ${domain} uses macros ("${term}"), which doctor does not evaluate`);
    const cidr4 = m[4] !== undefined ? Number(m[4]) : 32;
    const cidr6 = m[5] !== undefined ? Number(m[5]) : 128;
    const hit = { result: qualifier, matched: `${term} (in ${domain})` };
    switch (mech) {
      case 'all':
        return hit;
      case 'ip4':
      case 'ip6': {
        if (!arg) throw new SpfAbort('permerror', `"${term}" in the SPF record of ${domain} has no address`);
        if (inRange(ip, arg, m[4] !== undefined ? Number(m[4]) : undefined)) return hit;
        break;
      }
      case 'a':
      case 'mx': {
        count(state, domain);
        const target = arg || domain;
        const hosts = mech === 'mx' ? (await dns(() => resolver.resolveMx(target), target)).map((x) => x.exchange).slice(0, 10) : [target];
        for (const h of hosts) {
          const addrs = ip.kind() === 'ipv4' ? await dns(() => resolver.resolve4(h), h) : await dns(() => resolver.resolve6(h), h);
          if (addrs.some((a) => inRange(ip, a, ip.kind() === 'ipv4' ? cidr4 : cidr6))) return hit;
        }
        break;
      }
      case 'include': {
        if (!arg) throw new SpfAbort('permerror', `"${term}" in the SPF record of ${domain} names no domain`);
        count(state, domain);
        const inner = await spfRecord(resolver, arg);
        if (inner === undefined) throw new SpfAbort('permerror', `${arg} (included by ${domain}) has no SPF record`);
        const r = await evaluate(resolver, arg, inner, ip, state, depth + 1);
        if (r.result === 'pass') return { result: qualifier, matched: `${term} (in ${domain}), via ${r.matched ?? arg}` };
        if (r.result === 'permerror' || r.result === 'temperror' || r.result === 'unsupported') return r;
        break;
      }
      case 'exists': {
        if (!arg) throw new SpfAbort('permerror', `"${term}" in the SPF record of ${domain} names no domain`);
        count(state, domain);
        if ((await dns(() => resolver.resolve4(arg), arg)).length > 0) return hit;
        break;
      }
      case 'ptr':
        throw new SpfAbort('unsupported', `the SPF record of ${domain} uses ptr, which doctor does not evaluate (RFC 7208 advises against it)`);
      default:
        throw new SpfAbort('permerror', `unknown mechanism "${mech}" in the SPF record of ${domain}`);
    }
  }
  if (redirect) {
    if (redirect.includes('%')) throw new SpfAbort('unsupported', `the SPF record of ${domain} redirects with a macro, which doctor does not evaluate`);
    count(state, domain);
    const target = await spfRecord(resolver, redirect);
    if (target === undefined) throw new SpfAbort('permerror', `${redirect} (redirect of ${domain}) has no SPF record`);
    return evaluate(resolver, redirect, target, ip, state, depth + 1);
  }
  return { result: 'neutral', matched: `no term matched (in ${domain})` };
}

function count(state: { lookups: number }, domain: string): void {
  if (++state.lookups > MAX_LOOKUPS) throw new SpfAbort('permerror', `the SPF record of ${domain} needs more than ${MAX_LOOKUPS} DNS lookups (receivers treat it as an error)`);
}

async function dns<T>(query: () => Promise<T[]>, name: string): Promise<T[]> {
  try {
    return await query();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENODATA' || code === 'ENOTFOUND') return [];
    throw new SpfAbort('temperror', `DNS lookup of ${name} failed (${code})`);
  }
}

function inRange(ip: ipaddr.IPv4 | ipaddr.IPv6, network: string, bits: number | undefined): boolean {
  let net: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    net = ipaddr.parse(network);
  } catch {
    return false;
  }
  if (net.kind() !== ip.kind()) return false;
  const prefix = bits ?? (net.kind() === 'ipv4' ? 32 : 128);
  return ip.match(net, prefix);
}

/**
 * A record that authorises `ip` and Microsoft 365: the IP first, the other
 * terms kept (Microsoft's include added when missing), ending in -all
 * (or ~all when the record used it).
 */
export function suggestSpf(current: string | undefined, ip: string): string {
  const addr = ipaddr.process(ip);
  const ipTerm = `${addr.kind() === 'ipv4' ? 'ip4' : 'ip6'}:${addr.toString()}`;
  const terms = current ? current.trim().split(/\s+/).slice(1) : [];
  const allTerm = terms.find((t) => /^[+\-~?]?all$/i.test(t));
  const redirect = terms.some((t) => /^redirect=/i.test(t));
  const kept = terms.filter((t) => !/^[+\-~?]?all$/i.test(t) && t.toLowerCase() !== ipTerm.toLowerCase());
  if (!redirect && !kept.some((t) => /^\+?include:spf\.protection\.outlook\.com$/i.test(t))) kept.push(MICROSOFT_INCLUDE);
  const ending = redirect ? [] : [allTerm?.startsWith('~') ? '~all' : '-all'];
  return ['v=spf1', ipTerm, ...kept, ...ending].join(' ');
}
