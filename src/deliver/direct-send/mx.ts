/**
 * Where Direct Send connects: the MX host of the tenant's domain
 * (`<domain-with-dashes>.mail.protection.outlook.com`), looked up with
 * node:dns (through the configured DNS servers when given, `host:port`
 * accepted), lowest preference first, and its address; or the configured
 * `mx` (host[:port]) without an MX lookup. A lookup is cached: node's
 * resolver does not report an MX record's TTL, so the TTL of the MX host's
 * address record bounds it (at least 60 s, at most an hour).
 */
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';

export interface MxTarget {
  /** The MX host name (or the configured mx host). */
  host: string;
  /** Address connected to. */
  address: string;
  /** Port from the configured mx, if it named one. */
  port?: number;
  /** 'mx' when found by an MX lookup of the domain, 'config' when set with `mx`. */
  source: 'mx' | 'config';
  /** Every MX host of the domain with its preference (lookups only). */
  exchanges?: { exchange: string; priority: number }[];
}

export interface MxSettings {
  domain: string;
  mx?: string;
  dnsServers?: string[];
}

const MIN_CACHE_MS = 60_000;
const MAX_CACHE_MS = 3_600_000;

/** Microsoft 365's inbound hosts: what Direct Send must reach. */
export function isMicrosoftMx(host: string): boolean {
  return /\.mail\.protection\.(outlook\.com|partner\.outlook\.cn|office365\.us)\.?$/i.test(host);
}

/** "host", "host:25", "[2001:db8::1]:25", "2001:db8::1" → host and optional port. */
export function parseHostPort(s: string): { host: string; port?: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) return { host: v6[1]!, ...(v6[2] ? { port: Number(v6[2]) } : {}) };
  if (isIP(s) === 6) return { host: s };
  const m = /^([^:]+):(\d+)$/.exec(s);
  return m ? { host: m[1]!, port: Number(m[2]) } : { host: s };
}

export class MxLookup {
  private readonly resolver: Resolver;
  private cached: { target: MxTarget; until: number } | undefined;
  /** Lookups that went to DNS (not served from the cache). */
  lookups = 0;

  constructor(
    private readonly settings: MxSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.resolver = new Resolver({ timeout: 5_000, tries: 2 });
    if (settings.dnsServers?.length) this.resolver.setServers(settings.dnsServers);
  }

  async resolve(): Promise<MxTarget> {
    if (this.cached && this.cached.until > this.now()) return this.cached.target;
    this.lookups++;
    let target: MxTarget;
    let ttl: number;
    if (this.settings.mx) {
      const { host, port } = parseHostPort(this.settings.mx);
      const a = await this.address(host);
      target = { host, address: a.address, ...(port ? { port } : {}), source: 'config' };
      ttl = a.ttl;
    } else {
      const exchanges = (await this.resolver.resolveMx(this.settings.domain)).sort((x, y) => x.priority - y.priority);
      const best = exchanges[0];
      if (!best || best.exchange === '' || best.exchange === '.') {
        throw Object.assign(new Error(`${this.settings.domain} has no MX host (null MX)`), { code: 'ENODATA' });
      }
      const a = await this.address(best.exchange);
      target = { host: best.exchange, address: a.address, source: 'mx', exchanges };
      ttl = a.ttl;
    }
    this.cached = { target, until: this.now() + Math.min(MAX_CACHE_MS, Math.max(MIN_CACHE_MS, ttl * 1000)) };
    return target;
  }

  /** IPv4 first (Microsoft's MX hosts have both), then IPv6. */
  private async address(host: string): Promise<{ address: string; ttl: number }> {
    if (isIP(host)) return { address: host, ttl: MAX_CACHE_MS / 1000 };
    try {
      const v4 = await this.resolver.resolve4(host, { ttl: true });
      if (v4[0]) return v4[0];
    } catch (err) {
      if (!isNoData(err)) throw err;
    }
    const v6 = await this.resolver.resolve6(host, { ttl: true });
    if (!v6[0]) throw Object.assign(new Error(`${host} has no address`), { code: 'ENODATA' });
    return v6[0];
  }
}

function isNoData(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ENODATA' || code === 'ENOTFOUND';
}
