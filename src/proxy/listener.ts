/**
 * An IMAP or POP3 listener for legacy readers: accepts connections (with
 * the PROXY protocol from trusted load balancers, implicit TLS when asked,
 * a client limit), runs one ClientSession each with the protocol's hooks,
 * and stops gracefully. Everything it needs is passed in; the composition
 * root builds it from the config. The intended config (issue 14):
 *
 *   listeners:
 *     - { name: imap, protocol: imap, port: 1143, tls: starttls, upstream: exchange }
 *     - { name: imaps-legacy, protocol: imap, port: 1993, tls: implicit, minTlsVersion: TLSv1, upstream: exchange }
 *     - { name: pop3s, protocol: pop3, port: 1995, tls: implicit, upstream: exchange }
 *   devices:
 *     - { name: erp, username: erp, passwordHash: "scrypt$…", mailboxes: [invoices@contoso.com] }
 *     - { name: archiver, networks: [192.168.10.50/32], mailboxes: [scans@contoso.com, fax@contoso.com] }
 *   upstreams:
 *     exchange: { type: exchange-mailbox, tenant: contoso.onmicrosoft.com, clientId: "…", clientSecret: "${M365_SECRET}",
 *                 cloud: global, endpoints: { imap: "outlook.office365.com:993", pop3: "outlook.office365.com:995" }, ca: ./ca.pem }
 *
 * Wiring, per listener: tls.context = proxyTlsContext({ key, cert, minVersion: minTlsVersion });
 * policy = new DeviceLoginPolicy(devices with mailboxes, { lockout: the SMTP listeners' Lockout, failureDelayMs,
 * trustNetworks: !requireAuth, passwordCacheTtlMs }); upstream = { ...exchangeMailboxEndpoint(protocol, cloud, endpoints[protocol]), ca,
 * getToken: (signal) => tokenProviders.get(upstreamName, entraConfig, 'smtp').getToken(signal) }; the listener's
 * lineTimeout/socketTimeout/maxClients/proxyProtocol/trustedProxies as for SMTP listeners.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { SecureContext } from 'node:tls';
import { announcer, type Logger } from '../core/log.js';
import { ipInCidrs, normaliseIp, type Cidr } from '../core/net.js';
import { settlesWithin } from '../core/settle.js';
import { readProxyHeader } from '../receive/proxy-protocol.js';
import { ClientSession, type ClientProtocol, type SessionSettings } from './common/client-session.js';
import { acceptTls } from './common/tls.js';
import type { LoginPolicy, MailProtocol, ProxyTelemetry, UpstreamTarget } from './common/types.js';
import { imapClient } from './imap/imap-client.js';
import { pop3Client } from './pop3/pop3-client.js';

export interface ProxyListenerOptions {
  name: string;
  protocol: MailProtocol;
  host: string;
  /** 0: the system chooses (tests). */
  port: number;
  /**
   * False: binds nothing; every connection comes through accept() from a
   * listening socket the caller owns (the composition root keeps a port open
   * across reloads and points it at the listener of the newest settings).
   * Default true.
   */
  bind?: boolean;
  tls: {
    mode: 'none' | 'starttls' | 'implicit';
    /** Required for starttls and implicit (see proxyTlsContext). */
    context?: SecureContext;
    /** Default 15 s. */
    handshakeTimeoutMs?: number;
  };
  /** Logins without TLS (devices that cannot do TLS); passwords then cross the network in the clear. Default false. */
  allowInsecureAuth?: boolean;
  /** Behind a TCP load balancer: only these may connect, each connection starting with a PROXY header. */
  proxyProtocol?: { trusted: readonly Cidr[]; headerTimeoutMs: number };
  maxClients: number;
  /** A command line (or literal) must be complete this long after its first byte. */
  lineTimeoutMs: number;
  /** Before login: silence allowed between commands (default 3 min). */
  idleTimeoutMs?: number;
  /** After login: how long the session may carry nothing either way (default 35 min for IMAP, beyond IDLE's 29; 10 min for POP3). */
  sessionIdleTimeoutMs?: number;
  /** Default 8 KiB. */
  maxLineLength?: number;
  /** Failed logins on one connection before it is closed (default 3). */
  maxLoginFailures?: number;
  policy: LoginPolicy;
  upstream: UpstreamTarget;
  log: Logger;
  telemetry?: ProxyTelemetry;
}

export interface ProxyListener {
  readonly name: string;
  readonly protocol: MailProtocol;
  readonly host: string;
  readonly port: number;
  /** Sessions running (before and after login). */
  sessions(): number;
  /**
   * Serves a connection accepted elsewhere (a primary process handing
   * sockets to workers, as zone-mta does), exactly as one accepted on this
   * listener's port: PROXY header, implicit TLS, limits, session.
   */
  accept(socket: Socket): void;
  /** Stops at once: the port closes and every connection is cut. */
  close(): Promise<void>;
  /**
   * Graceful stop: the port closes; sessions before login get BYE / -ERR;
   * sessions already piping to the upstream run until they end or the
   * deadline (ms since the epoch), when they are cut.
   */
  drain(deadline: number): Promise<{ sessions: number; cutOff: number }>;
}

const PROTOCOLS: Record<MailProtocol, ClientProtocol> = { imap: imapClient, pop3: pop3Client };

export async function startProxyListener(o: ProxyListenerOptions): Promise<ProxyListener> {
  if (o.tls.mode !== 'none' && !o.tls.context) throw new Error(`listener ${o.name}: tls ${o.tls.mode} needs a TLS context`);
  const protocol = PROTOCOLS[o.protocol];
  const settings: SessionSettings = {
    listener: o.name,
    tlsMode: o.tls.mode,
    ...(o.tls.context ? { tlsContext: o.tls.context } : {}),
    allowInsecureAuth: o.allowInsecureAuth ?? false,
    maxLineLength: o.maxLineLength ?? 8192,
    lineTimeoutMs: o.lineTimeoutMs,
    idleTimeoutMs: o.idleTimeoutMs ?? 180_000,
    sessionIdleTimeoutMs: o.sessionIdleTimeoutMs ?? (o.protocol === 'imap' ? 35 * 60_000 : 10 * 60_000),
    handshakeTimeoutMs: o.tls.handshakeTimeoutMs ?? 15_000,
    maxLoginFailures: o.maxLoginFailures ?? 3,
    policy: o.policy,
    upstream: o.upstream,
    ...(o.telemetry ? { telemetry: o.telemetry } : {}),
  };
  const sessions = new Set<ClientSession>();
  const pending = new Set<Socket>();
  const ended = new Set<() => void>();
  let draining = false;

  const accept = async (socket: Socket): Promise<void> => {
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    const peer = normaliseIp(socket.remoteAddress ?? '');
    if (draining) return void socket.destroy();
    if (sessions.size + pending.size >= o.maxClients) {
      o.log.warn({ event: 'proxy-busy', listener: o.name, clientIp: peer, maxClients: o.maxClients }, `refused a connection from ${peer} on ${o.name}: ${o.maxClients} clients are connected already`);
      if (o.tls.mode === 'implicit') socket.destroy();
      else socket.end(protocol.farewell('busy'));
      return;
    }
    pending.add(socket);
    let clientIp = peer;
    let proxiedBy: string | undefined;
    let tlsVersion: string | undefined;
    let stream: Socket = socket;
    try {
      if (o.proxyProtocol) {
        if (!ipInCidrs(peer, o.proxyProtocol.trusted)) {
          o.log.warn({ event: 'proxy-refused', listener: o.name, peer, reason: 'untrusted' }, `refused a connection from ${peer} on ${o.name}: only the trusted proxies may connect to a proxyProtocol listener`);
          return void socket.destroy();
        }
        const header = await readProxyHeader(socket, o.proxyProtocol.headerTimeoutMs);
        if (header.source) {
          clientIp = normaliseIp(header.source.address);
          proxiedBy = peer;
        }
      }
      if (o.tls.mode === 'implicit') {
        const tls = await acceptTls(socket, o.tls.context!, settings.handshakeTimeoutMs);
        tlsVersion = tls.getProtocol() ?? 'unknown';
        o.telemetry?.tlsEstablished?.(o.name, tlsVersion);
        stream = tls;
      }
    } catch (err) {
      o.log.info({ event: 'proxy-connection-failed', listener: o.name, peer, err: (err as Error).message }, `closed a connection from ${peer} on ${o.name} before its session: ${(err as Error).message}`);
      socket.destroy();
      return;
    } finally {
      pending.delete(socket);
    }
    if (draining) return void stream.destroy();
    const id = randomBytes(6).toString('hex');
    const log = o.log.child({ session: id, listener: o.name, protocol: o.protocol, clientIp, ...(proxiedBy ? { proxiedBy } : {}) });
    const refusal = o.policy.connectRefusal(clientIp, Date.now());
    if (refusal) {
      log.info({ event: 'proxy-locked-out' }, `refused a connection from ${clientIp}: ${refusal}`);
      stream.end(protocol.farewell('locked-out'));
      return;
    }
    const session = new ClientSession(stream, id, clientIp, settings, protocol, log, tlsVersion);
    sessions.add(session);
    o.telemetry?.connected?.(o.name, o.protocol);
    log.debug({ event: 'proxy-connect', tlsVersion }, `${o.protocol.toUpperCase()} connection from ${clientIp}`);
    const started = Date.now();
    try {
      const result = await session.run();
      if (result) {
        log.info({ event: 'proxy-session-end', toClient: result.toClient, toUpstream: result.toUpstream, endedBy: result.endedBy, durationMs: Date.now() - started, ...(result.error ? { err: result.error } : {}) },
          `${o.protocol.toUpperCase()} session ended (${result.endedBy}) after ${result.toClient} bytes to the client and ${result.toUpstream} to the server`);
      }
    } finally {
      sessions.delete(session);
      for (const f of ended) f();
    }
  };

  const serve = (socket: Socket) => {
    accept(socket).catch((err: unknown) => {
      o.log.error({ event: 'proxy-error', listener: o.name, err }, `a session on ${o.name} failed: ${(err as Error).message}`);
      socket.destroy();
    });
  };
  const server: Server | undefined = o.bind === false ? undefined : createServer(serve);
  if (server) await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  server?.on('error', (err) => o.log.warn({ event: 'proxy-error', listener: o.name, err: err.message }, `listener ${o.name} error: ${err.message}`));
  const addr = server?.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  if (server) announcer(o.log).info({ event: 'listening', listener: o.name, protocol: o.protocol, host: o.host, port, tls: o.tls.mode, upstream: `${o.upstream.host}:${o.upstream.port}`, ...(o.proxyProtocol ? { proxyProtocol: true } : {}) },
    `listening for ${o.protocol.toUpperCase()} on ${o.host}:${port} (${o.tls.mode === 'implicit' ? 'implicit TLS' : o.tls.mode === 'starttls' ? 'STARTTLS' : 'no TLS'}), logging in to ${o.upstream.host}:${o.upstream.port} for the devices' mailboxes`);

  const allEnded = () => new Promise<void>((resolve) => {
    if (sessions.size === 0) return resolve();
    const check = () => {
      if (sessions.size > 0) return;
      ended.delete(check);
      resolve();
    };
    ended.add(check);
  });
  const closeServer = () => new Promise<void>((r) => (server ? server.close(() => r()) : r()));

  return {
    name: o.name,
    protocol: o.protocol,
    host: o.host,
    port,
    sessions: () => sessions.size,
    accept: serve,
    async close() {
      draining = true;
      const closing = closeServer();
      for (const s of pending) s.destroy();
      for (const s of sessions) s.shutDown();
      await Promise.all([closing, settlesWithin(allEnded(), 5_000)]);
    },
    async drain(deadline: number) {
      draining = true;
      const closing = closeServer();
      for (const s of pending) s.destroy();
      const count = sessions.size;
      for (const s of sessions) if (!s.piping) s.shutDown();
      let cutOff = 0;
      if (!(await settlesWithin(allEnded(), deadline - Date.now()))) {
        cutOff = sessions.size;
        for (const s of sessions) s.shutDown();
        await settlesWithin(allEnded(), 5_000);
      }
      await closing;
      return { sessions: count, cutOff };
    },
  };
}
