/**
 * The IMAP and POP3 listeners of the running relay (legacy readers, issue
 * 14, docs/imap-pop.md), kept across configuration versions the way
 * receive/listener-set.ts keeps the SMTP ones: each listener owns one
 * listening socket, keyed by its name, and hands every connection to its
 * current ProxyListener (src/proxy/listener.ts, built here with bind: false).
 *
 * A reload that changes a listener (its TLS, limits, certificate, or its
 * exchange-mailbox upstream) builds a new ProxyListener and points the same
 * socket at it: sessions already open stay with the old one until they end;
 * the port never closes. A listener added is bound before the reload is
 * committed (a port that cannot be bound refuses the reload); one removed
 * stops accepting and its sessions finish on their own. The devices and
 * their mailboxes are read at every login through a policy swapped on
 * commit, so a change applies to the next login on every listener. Failed
 * logins count in the same Lockout as SMTP logins.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { Config, DeviceConfig, ExchangeMailboxUpstreamConfig, ListenerConfig } from '../config/schema.js';
import { announcer, type Logger } from '../core/log.js';
import { parseCidr, type Cidr } from '../core/net.js';
import type { Lockout } from '../identity/lockout.js';
import type { TokenProviders } from '../identity/entra/providers.js';
import type { CertificatePair } from '../receive/tls.js';
import { ListenError, listenerName, type NamedListener } from '../receive/listener-set.js';
import { startProxyListener, type ProxyListener } from '../proxy/listener.js';
import { proxyTlsContext } from '../proxy/common/tls.js';
import { DeviceLoginPolicy } from '../proxy/common/device-login-policy.js';
import type { ReaderDevice } from '../proxy/common/mailbox-policy.js';
import { MailboxTokenError, type LoginPolicy, type MailProtocol, type ProxyTelemetry, type UpstreamTarget } from '../proxy/common/types.js';
import { explainTokenError } from '../deliver/microsoft/catalogue.js';
import { TokenError } from '../identity/entra/token-provider.js';
import { mailboxTarget } from '../proxy/exchange-endpoints.js';

export interface ReaderDeps {
  log: Logger;
  /** The relay's token providers (one cache per tenant, app and resource, shared with the delivery upstreams). */
  tokens: () => Promise<TokenProviders>;
  /** The SMTP listeners' lockout: a password guessed over SMTP, IMAP and POP3 is counted once. */
  lockout: Lockout;
  telemetry?: ProxyTelemetry;
}

/** An IMAP or POP3 listener as bound now. */
export interface BoundReader {
  name: string;
  protocol: MailProtocol;
  host: string;
  port: number;
  tls: ListenerConfig['tls'];
  minTlsVersion: ListenerConfig['minTlsVersion'];
  /** The exchange-mailbox upstream it opens mailboxes through. */
  upstream: string;
  /** host:port of the mailbox server. */
  server: string;
  /** Sessions open now (before and after login). */
  sessions: number;
}

interface Entry {
  listener: NamedListener & { protocol: MailProtocol; upstream: string };
  fingerprint: string;
  socket: Server;
  port: number;
  proxy: ProxyListener;
  server: string;
}

/** The devices as the login policy sees them. */
export function readerDevices(devices: readonly DeviceConfig[]): ReaderDevice[] {
  return devices.map((d) => ({
    name: d.name,
    ...(d.username ? { username: d.username } : {}),
    ...(d.passwordHash ? { passwordHash: d.passwordHash } : {}),
    networks: d.networks.map((n) => parseCidr(n)).filter((n): n is Cidr => n !== undefined),
    mailboxes: d.mailboxes,
  }));
}

/**
 * Where an exchange-mailbox upstream opens mailboxes for a protocol, with a
 * token from the relay's providers: an app token, or the delegated sign-in's
 * (renewed with its stored refresh token). A token refused by Entra comes
 * with the error catalogue's explanation (a lost sign-in, missing consent),
 * which the proxy logs with the refusal.
 */
export function mailboxUpstream(name: string, cfg: ExchangeMailboxUpstreamConfig, protocol: MailProtocol, tokens: () => Promise<TokenProviders>): UpstreamTarget {
  // The 'smtp' resource is the cloud's Exchange resource (<resource>/.default): the scope IMAP and POP need.
  return mailboxTarget(cfg, protocol, async (signal) => {
    try {
      const t = await (await tokens()).get(name, cfg, 'smtp').getToken(signal);
      return { token: t.token, permissions: t.permissions };
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      const o = explainTokenError(err, { reader: cfg.delegated !== undefined, upstream: name, appId: cfg.clientId, tenant: cfg.tenant, ...(cfg.delegated ? { mailbox: cfg.delegated.user } : {}) });
      throw new MailboxTokenError(err.message, { ref: o.ref ?? 'entra.unknown', hint: o.hint ?? err.message, fix: o.fix ?? '', permanent: o.action === 'fail' });
    }
  });
}

type ReaderListener = NamedListener & { protocol: MailProtocol; upstream: string };

function isReader(l: NamedListener): l is ReaderListener {
  return (l.protocol === 'imap' || l.protocol === 'pop3') && l.upstream !== undefined;
}

/** The configuration's IMAP and POP3 listeners, named as the SMTP ones are (name, or tls-port). */
export function readerListeners(config: Config): ReaderListener[] {
  return config.listeners.map((l, i) => ({ ...l, name: listenerName(l, i) })).filter(isReader);
}

/** A login policy whose devices are swapped by a reload (every login reads the newest). */
class SwappablePolicy implements LoginPolicy {
  constructor(public current: DeviceLoginPolicy, public key: string) {}
  connectRefusal(clientIp: string, now: number): string | undefined {
    return this.current.connectRefusal(clientIp, now);
  }
  authenticate(...a: Parameters<LoginPolicy['authenticate']>): ReturnType<LoginPolicy['authenticate']> {
    return this.current.authenticate(...a);
  }
}

export class ReaderListeners {
  private readonly entries = new Map<string, Entry>();
  /** Listeners replaced or removed by a reload, still serving their sessions. */
  private readonly retired = new Set<ProxyListener>();
  /** One per trustNetworks value (requireAuth off or on). */
  private readonly policies = new Map<boolean, SwappablePolicy>();
  private closed = false;

  constructor(private readonly deps: ReaderDeps) {}

  get bound(): BoundReader[] {
    return [...this.entries.values()].map((e) => ({
      name: e.listener.name, protocol: e.listener.protocol, host: e.listener.host, port: e.port, tls: e.listener.tls,
      minTlsVersion: e.listener.minTlsVersion, upstream: e.listener.upstream, server: e.server,
      sessions: e.proxy.sessions() + [...this.retired].filter((p) => p.name === e.listener.name).reduce((n, p) => n + p.sessions(), 0),
    }));
  }

  /**
   * The reader listeners of the next configuration: unchanged ones kept,
   * changed ones with a new ProxyListener on the same socket, new ones bound
   * now. Nothing changes until commit(); abort() closes what was bound.
   */
  async plan(config: Config, certificate: CertificatePair): Promise<ReaderPlan> {
    const listeners = readerListeners(config);
    const devices = readerDevices(config.devices);
    const policyKey = JSON.stringify([devices.map((d) => [d.name, d.username, d.passwordHash, d.networks.map((n) => `${n.range[0].toString()}/${n.range[1]}`), d.mailboxes]), config.security.authFailureDelay]);
    const policyFor = (trustNetworks: boolean): LoginPolicy => {
      let p = this.policies.get(trustNetworks);
      if (!p) {
        p = new SwappablePolicy(this.makePolicy(devices, config, trustNetworks), policyKey);
        this.policies.set(trustNetworks, p);
      }
      return p;
    };
    const next: Planned[] = [];
    const opened: Entry[] = [];
    const made: ProxyListener[] = [];
    try {
      for (const l of listeners) {
        const upstreamCfg = config.upstreams[l.upstream] as ExchangeMailboxUpstreamConfig;
        const pair = l.cert && l.key ? { cert: readFileSync(l.cert, 'utf8'), key: readFileSync(l.key, 'utf8') } : certificate;
        // What the listener is built from: its settings, its upstream's, and the certificate and CA files' contents.
        const hash = createHash('sha256').update(pair.cert).update(pair.key);
        if (upstreamCfg.ca) hash.update(readFileSync(upstreamCfg.ca));
        const fingerprint = `${JSON.stringify(l)}|${JSON.stringify(upstreamCfg)}|${hash.digest('hex')}`;
        const old = this.entries.get(l.name);
        if (old && old.fingerprint === fingerprint) {
          next.push({ entry: old });
          continue;
        }
        const upstream = mailboxUpstream(l.upstream, upstreamCfg, l.protocol, this.deps.tokens);
        const proxy = await this.makeProxy(l, pair, upstream, policyFor(!l.requireAuth));
        made.push(proxy);
        const server = `${upstream.host}:${upstream.port}`;
        if (old && old.listener.host === l.host && (l.port === 0 || old.port === l.port)) {
          next.push({ entry: old, change: { listener: l, fingerprint, proxy, server } });
          continue;
        }
        const entry = await this.open(l, fingerprint, proxy, server);
        opened.push(entry);
        next.push({ entry });
      }
    } catch (err) {
      for (const e of opened) e.socket.close();
      await Promise.all(made.map((p) => p.close()));
      throw err;
    }
    return new ReaderPlan(this, next, opened, made, () => {
      for (const [trust, p] of this.policies) {
        if (p.key !== policyKey) {
          p.current = this.makePolicy(devices, config, trust);
          p.key = policyKey;
        }
      }
    });
  }

  /** @internal Swaps in the planned entries. */
  commit(next: Planned[]): { added: string[]; changed: string[]; removed: string[] } {
    const keep = new Set(next.map((p) => p.entry));
    const changes = { added: [] as string[], changed: [] as string[], removed: [] as string[] };
    for (const e of this.entries.values()) {
      if (keep.has(e)) continue;
      e.socket.close();
      this.retire(e.proxy);
      changes.removed.push(e.listener.name);
    }
    const existing = new Set(this.entries.values());
    for (const { entry, change } of next) {
      if (!existing.has(entry)) changes.added.push(entry.listener.name);
      else if (change) {
        this.retire(entry.proxy);
        Object.assign(entry, change);
        changes.changed.push(entry.listener.name);
      }
    }
    this.entries.clear();
    for (const { entry } of next) this.entries.set(entry.listener.name, entry);
    return changes;
  }

  /** Says where each of these listeners listens (info, shown at every level: supervisors and scripts wait for "listening" lines). */
  announce(names: string[]): void {
    for (const e of [...this.entries.values()].filter((x) => names.includes(x.listener.name))) {
      const l = e.listener;
      const tls = l.tls === 'implicit' ? 'implicit TLS' : l.tls === 'starttls' ? (l.protocol === 'pop3' ? 'STLS' : 'STARTTLS') : 'no TLS';
      announcer(this.deps.log).info({
        event: 'listening', listener: l.name, protocol: l.protocol, host: l.host, port: e.port, tls: l.tls, minTlsVersion: l.minTlsVersion,
        upstream: l.upstream, server: e.server, requireAuth: l.requireAuth, ...(l.proxyProtocol ? { proxyProtocol: true, trustedProxies: l.trustedProxies } : {}),
      }, `listening for ${l.protocol.toUpperCase()} on ${l.host}:${e.port} (${tls}${l.tls === 'none' ? '' : `, TLS ${l.minTlsVersion} or newer`}` +
        `${l.proxyProtocol ? `; PROXY protocol from ${l.trustedProxies.join(', ')} only` : ''}), opening the devices' mailboxes at ${e.server} through upstream ${l.upstream}`);
    }
  }

  /** Graceful stop: the ports close; sessions before login are told goodbye; piped sessions run until the deadline. */
  async drain(deadline: number): Promise<{ sessions: number; cutOff: number }> {
    this.closed = true;
    for (const e of this.entries.values()) e.socket.close();
    const all = [...[...this.entries.values()].map((e) => e.proxy), ...this.retired];
    const results = await Promise.all(all.map((p) => p.drain(deadline)));
    return results.reduce((a, r) => ({ sessions: a.sessions + r.sessions, cutOff: a.cutOff + r.cutOff }), { sessions: 0, cutOff: 0 });
  }

  /** Closes the ports and cuts every session (a start that failed half way). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const e of this.entries.values()) e.socket.close();
    await Promise.all([...[...this.entries.values()].map((e) => e.proxy), ...this.retired].map((p) => p.close()));
  }

  private makePolicy(devices: ReaderDevice[], config: Config, trustNetworks: boolean): DeviceLoginPolicy {
    return new DeviceLoginPolicy(devices, { lockout: this.deps.lockout, failureDelayMs: config.security.authFailureDelay, trustNetworks });
  }

  private makeProxy(l: ReaderListener, pair: { cert: string; key: string }, upstream: UpstreamTarget, policy: LoginPolicy): Promise<ProxyListener> {
    const trusted = l.trustedProxies.map((c) => parseCidr(c)).filter((c): c is Cidr => c !== undefined);
    return startProxyListener({
      name: l.name,
      protocol: l.protocol,
      host: l.host,
      port: l.port,
      bind: false,
      tls: { mode: l.tls, ...(l.tls === 'none' ? {} : { context: proxyTlsContext({ key: pair.key, cert: pair.cert, minVersion: l.minTlsVersion }) }) },
      allowInsecureAuth: l.allowInsecureAuth,
      ...(l.proxyProtocol ? { proxyProtocol: { trusted, headerTimeoutMs: l.proxyHeaderTimeout } } : {}),
      maxClients: l.maxClients,
      lineTimeoutMs: l.socketTimeout,
      idleTimeoutMs: l.socketTimeout,
      policy,
      upstream,
      log: this.deps.log,
      ...(this.deps.telemetry ? { telemetry: this.deps.telemetry } : {}),
    });
  }

  private retire(proxy: ProxyListener): void {
    if (proxy.sessions() === 0) return;
    this.retired.add(proxy);
    const sweep = setInterval(() => {
      if (proxy.sessions() > 0) return;
      clearInterval(sweep);
      this.retired.delete(proxy);
    }, 1_000);
    sweep.unref();
  }

  private open(l: ReaderListener, fingerprint: string, proxy: ProxyListener, server: string): Promise<Entry> {
    const socket = createServer();
    const entry: Entry = { listener: l, fingerprint, socket, port: l.port, proxy, server };
    socket.on('connection', (s: Socket) => entry.proxy.accept(s));
    return new Promise<Entry>((resolve, reject) => {
      socket.once('error', (err: NodeJS.ErrnoException) => reject(new ListenError(l, err.code ?? 'ERROR', err.message)));
      socket.listen(l.port, l.host, () => {
        socket.removeAllListeners('error');
        socket.on('error', (err: Error) => this.deps.log.warn({ event: 'proxy-error', listener: l.name, err: err.message }, `listener ${l.name}: ${err.message}`));
        const addr = socket.address();
        entry.port = typeof addr === 'object' && addr ? addr.port : l.port;
        resolve(entry);
      });
    });
  }
}

interface Planned {
  entry: Entry;
  change?: Pick<Entry, 'listener' | 'fingerprint' | 'proxy' | 'server'>;
}

/** A reader listener change worked out and bound, not yet in effect. */
export class ReaderPlan {
  private done = false;
  private changes: { added: string[]; changed: string[]; removed: string[] } | undefined;

  constructor(
    private readonly set: ReaderListeners,
    private readonly next: Planned[],
    private readonly opened: Entry[],
    private readonly made: ProxyListener[],
    private readonly swapPolicies: () => void,
  ) {}

  commit(): { added: string[]; changed: string[]; removed: string[] } {
    this.done = true;
    this.swapPolicies();
    this.changes = this.set.commit(this.next);
    return this.changes;
  }

  announce(): void {
    if (this.changes) this.set.announce([...this.changes.added, ...this.changes.changed]);
  }

  /** Undoes the binding (the reload was refused). */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    for (const e of this.opened) e.socket.close();
    await Promise.all(this.made.map((p) => p.close()));
  }
}
