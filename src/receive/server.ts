/**
 * The receive stage: one smtp-server per listener, with device policy in its
 * callbacks. smtp-server does the protocol, adapted in relay-smtp-server.ts
 * (greeting pause, enhanced status codes, per-line deadline, PROXY protocol
 * from trusted balancers, TCP_NODELAY).
 *
 * drain() is the graceful stop: no new connections; a session answers the
 * message in progress, then gets 421 and is closed; at the deadline every
 * session left gets 421.
 */
import type { TLSSocket } from 'node:tls';
import { type SMTPServerOptions, type SMTPServerSession, type SMTPServerAuthentication, type SMTPServerAddress } from 'smtp-server';
import type { ListenerConfig } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import { Replies, SmtpReply } from '../core/smtp-reply.js';
import type { Store } from '../spool/store.js';
import { listenerTlsOptions, type CertificatePair } from './tls.js';
import { ingest, type IngestContext } from './ingest.js';
import type { ConnectionState, SessionPolicy } from './policy.js';
import type { ReceiveTelemetry } from '../core/telemetry.js';
import { parseCidr, type Cidr } from '../core/net.js';
import { settlesWithin } from '../core/settle.js';

import { RelayConnection, RelaySmtpServer } from './relay-smtp-server.js';

export interface ReceiveDeps {
  store: Store;
  policy: SessionPolicy;
  log: Logger;
  hostname: string;
  maxLifetimeMs: number;
  certificate: CertificatePair;
  onAccepted: (id: string) => void;
  router?: IngestContext['router'];
  /** Told of TLS sessions, accepted messages, failed logins and refusals (metrics). */
  telemetry?: ReceiveTelemetry;
}

export interface BoundListener {
  name: string;
  host: string;
  port: number;
  tls: ListenerConfig['tls'];
}

export interface DrainResult {
  /** Sessions open when the drain began. */
  sessions: number;
  /** Sessions still open at the deadline, closed with 421 (a message in progress there is not accepted; the client sends it again). */
  cutOff: number;
}

export class ReceiveStage {
  private readonly servers: { server: RelaySmtpServer; listener: ListenerConfig & { name: string } }[] = [];
  private readonly connections = new Map<string, ConnectionState>();
  /** Messages being stored (DATA handlers that have not answered yet). */
  private readonly ingesting = new Set<Promise<void>>();
  private drained = false;
  readonly bound: BoundListener[] = [];

  constructor(private readonly deps: ReceiveDeps) {}

  async listen(listeners: readonly ListenerConfig[]): Promise<BoundListener[]> {
    for (const [i, l] of listeners.entries()) {
      const named = { ...l, name: l.name ?? `${l.tls}-${l.port || i}` };
      const server = this.createServer(named);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(l.port, l.host, () => {
          server.removeListener('error', reject);
          resolve();
        });
      });
      server.on('error', (err: Error) => this.deps.log.warn({ event: 'smtp-error', listener: named.name, err: err.message }, 'SMTP connection error'));
      const addr = server.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : l.port;
      this.servers.push({ server, listener: named });
      const b = { name: named.name, host: l.host, port, tls: l.tls };
      this.bound.push(b);
      this.deps.log.warn(
        {
          event: 'listening', listener: named.name, host: l.host, port, tls: l.tls, minTlsVersion: l.minTlsVersion, requireAuth: l.requireAuth,
          ...(l.proxyProtocol ? { proxyProtocol: true, trustedProxies: l.trustedProxies } : {}),
        },
        `listening for SMTP on ${l.host}:${port} (${l.tls === 'implicit' ? 'implicit TLS' : l.tls === 'starttls' ? 'STARTTLS' : 'no TLS'}, TLS ${l.minTlsVersion} or newer` +
        `${l.proxyProtocol ? `; PROXY protocol from ${l.trustedProxies.join(', ')} only` : ''})`,
      );
      const everyone = l.trustedProxies.filter((c) => parseCidr(c)?.range[1] === 0);
      if (l.proxyProtocol && everyone.length) {
        this.deps.log.warn({ event: 'proxy-trust-all', listener: named.name, trustedProxies: everyone },
          `listener ${named.name} trusts PROXY headers from every address (${everyone.join(', ')}): any client that reaches the port can claim any source address, and so a device's trusted network. List only the load balancers' addresses`);
      }
    }
    return this.bound;
  }

  async close(): Promise<void> {
    if (this.drained) return;
    await Promise.all(this.servers.map(({ server }) => new Promise<void>((r) => server.close(() => r()))));
  }

  /**
   * The graceful stop. The listening sockets close at once (new connections
   * are refused) and connections still before their session (PROXY header,
   * TLS handshake) are dropped. A session without a message in progress gets
   * `421 4.3.2` and is closed; a session with one finishes it (the client gets
   * its 250, or its refusal) and is then closed the same way. Sessions still
   * open at the deadline get 421 at once. Resolves when every session is gone
   * and every message being stored has been answered.
   */
  async drain(deadline: number): Promise<DrainResult> {
    this.drained = true;
    const closed: Promise<void>[] = [];
    let sessions = 0;
    for (const { server } of this.servers) {
      server.draining = true;
      closed.push(new Promise<void>((r) => server.server.close(() => r())));
      for (const pending of server._pendingSockets.values()) pending.destroy();
      sessions += server.connections.size;
      for (const c of [...server.connections]) (c as RelayConnection).closeIfIdle();
    }
    const all = Promise.all(closed);
    let cutOff = 0;
    if (!(await settlesWithin(all, deadline - Date.now()))) {
      const left = this.servers.flatMap(({ server }) => [...server.connections] as RelayConnection[]);
      cutOff = left.length;
      for (const c of left) c.shutDown();
      // A client that does not close its side after the 421 is cut off shortly after.
      if (!(await settlesWithin(all, 2_000))) {
        for (const c of left) c._socket.destroy();
        await all;
      }
    }
    await settlesWithin(Promise.allSettled([...this.ingesting]), 10_000);
    return { sessions, cutOff };
  }

  private createServer(l: ListenerConfig & { name: string }): RelaySmtpServer {
    const d = this.deps;
    const plain = l.tls === 'none';
    const options: SMTPServerOptions = {
      name: d.hostname,
      banner: 'authrelay ESMTP ready',
      secure: l.tls === 'implicit',
      ...listenerTlsOptions(l, d.certificate),
      disabledCommands: plain ? (l.allowInsecureAuth ? ['STARTTLS'] : ['STARTTLS', 'AUTH']) : [],
      hideSTARTTLS: plain,
      hidePIPELINING: false,
      hide8BITMIME: false,
      hideSMTPUTF8: false,
      hideENHANCEDSTATUSCODES: false,
      hideDSN: true,
      authMethods: l.authMethods,
      authOptional: true,
      allowInsecureAuth: l.allowInsecureAuth,
      size: l.maxMessageSize,
      maxClients: l.maxClients,
      socketTimeout: l.socketTimeout,
      closeTimeout: 5_000,
      disableReverseLookup: true,
      lenientAddressParsing: true,
      logger: false,
      onConnect: (session, cb) => this.onConnect(l, session, cb, server.proxiedBy.get(session.id)),
      onSecure: (socket, session, cb) => {
        const st = this.connections.get(session.id);
        if (st) st.tlsVersion = (socket as TLSSocket).getProtocol?.() ?? undefined;
        if (st?.tlsVersion) this.deps.telemetry?.tlsEstablished(l.name, st.tlsVersion);
        cb();
      },
      onAuth: (auth, session, cb) => {
        this.onAuth(auth, session, cb).catch((err: unknown) => {
          this.deps.log.error({ event: 'auth-error', err }, 'could not check a login');
          cb(new SmtpReply(454, '4.7.0', 'Temporary authentication failure'));
        });
      },
      onMailFrom: (address, session, cb) => this.onMailFrom(address, session, cb),
      onRcptTo: (address, session, cb) => this.onRcptTo(address, session, cb),
      onData: (stream, session, cb) => {
        const p = this.onData(stream, session, cb).catch((err: unknown) => {
          this.deps.log.error({ event: 'data-error', err }, 'message transfer failed');
          cb(Replies.storeFailed());
        }).finally(() => this.ingesting.delete(p));
        this.ingesting.add(p);
      },
      onClose: (session) => {
        this.connections.delete(session.id);
        server.proxiedBy.delete(session.id);
      },
    };
    const server = new RelaySmtpServer(options);
    server.greetingDelayMs = l.greetingDelay;
    if (l.proxyProtocol) {
      server.proxy = {
        trusted: l.trustedProxies.map((c) => parseCidr(c)).filter((c): c is Cidr => c !== undefined),
        headerTimeoutMs: l.proxyHeaderTimeout,
        refused: (peer, reason, detail) => {
          // A load balancer's plain TCP health check connects and closes without a header: not worth a warning.
          const level = reason === 'closed' ? 'debug' : 'warn';
          this.deps.log[level]({ event: 'proxy-refused', listener: l.name, peer, reason, detail },
            reason === 'untrusted'
              ? `refused a connection from ${peer} on ${l.name}: only the trusted proxies (${l.trustedProxies.join(', ')}) may connect to a proxyProtocol listener`
              : `closed a connection from proxy ${peer} on ${l.name}: ${detail}`);
        },
      };
    }
    server.onRecipientRefused = (session, reply, recipient) => {
      const st = this.connections.get(session.id);
      if (st) this.refused(st, reply, { recipient });
    };
    return server;
  }

  private state(session: SMTPServerSession): ConnectionState {
    const st = this.connections.get(session.id);
    if (!st) throw new SmtpReply(421, '4.3.0', 'Session state lost; please reconnect');
    st.heloName = session.hostNameAppearsAs || st.heloName;
    st.esmtp = session.openingCommand === 'EHLO' || session.openingCommand === 'LHLO';
    return st;
  }

  private onConnect(l: ListenerConfig & { name: string }, session: SMTPServerSession, cb: (err?: Error | null) => void, proxiedBy?: string): void {
    const st = this.deps.policy.open(session.id, l, session.remoteAddress, proxiedBy);
    this.connections.set(session.id, st);
    if (proxiedBy) this.deps.log.debug({ event: 'proxied', listener: l.name, clientIp: st.clientIp, proxy: proxiedBy }, `session from ${st.clientIp} through proxy ${proxiedBy}`);
    const refusal = this.deps.policy.connectRefusal(st, Date.now());
    if (refusal) {
      this.deps.log.info({ event: 'connection-refused', listener: l.name, clientIp: st.clientIp, reason: 'locked-out' }, 'refused a locked-out address');
      this.deps.telemetry?.refused(l.name, refusal.code);
      return cb(refusal);
    }
    cb();
  }

  private async onAuth(auth: SMTPServerAuthentication, session: SMTPServerSession, cb: (err: Error | null | undefined, res?: { user?: unknown }) => void): Promise<void> {
    const st = this.state(session);
    const result = await this.deps.policy.authenticate(st, auth.method, auth.username ?? '', auth.password ?? '', session.secure);
    if (result instanceof SmtpReply) {
      this.deps.log.warn({ event: 'auth-failed', listener: st.listener.name, clientIp: st.clientIp, username: auth.username, method: auth.method, reply: result.code },
        `authentication failed for ${JSON.stringify(auth.username ?? '')} from ${st.clientIp}${result.code === 421 ? ' (locked out)' : ''}`);
      this.deps.telemetry?.authFailure(st.listener.name, auth.method, result.code === 421);
      this.deps.telemetry?.refused(st.listener.name, result.code);
      if (st.networkDevice) this.recordRefusal(st.networkDevice.name, st.clientIp);
      return cb(result);
    }
    this.deps.log.info({ event: 'auth', listener: st.listener.name, clientIp: st.clientIp, device: result.name, method: auth.method, tlsVersion: st.tlsVersion }, `device ${result.name} logged in`);
    cb(null, { user: result.name });
  }

  private onMailFrom(address: SMTPServerAddress, session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    const st = this.state(session);
    const size = Number(((address.args || {}) as Record<string, string>).SIZE ?? 0) || 0;
    const r = this.deps.policy.mailFrom(st, address.address ?? '', size, session.secure, Date.now());
    if (r instanceof SmtpReply) {
      this.refused(st, r, { sender: address.address });
      return cb(r);
    }
    cb();
  }

  private onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    const st = this.state(session);
    const r = this.deps.policy.rcptTo(st, address.address, session.envelope.rcptTo.length);
    if (r) {
      this.refused(st, r, { recipient: address.address });
      return cb(r);
    }
    cb();
  }

  private async onData(stream: NodeJS.ReadableStream, session: SMTPServerSession, cb: (err?: Error | null, message?: string) => void): Promise<void> {
    const st = this.state(session);
    const txn = st.txn;
    if (!txn) {
      stream.resume();
      return cb(new SmtpReply(503, '5.5.1', 'No valid sender'));
    }
    const ctx: IngestContext = { ...this.deps };
    const recipients = session.envelope.rcptTo.map((r) => r.address);
    try {
      const res = await ingest(ctx, st, txn, recipients, stream as never, session.secure);
      this.deps.log.info(
        { event: 'state', id: res.id, state: 'incoming', device: txn.device.name, clientIp: st.clientIp, sender: txn.sender, recipients: recipients.length, size: res.size, tlsVersion: session.secure ? st.tlsVersion : undefined, routes: res.routes },
        `accepted ${res.id} from ${txn.device.name}${res.routes.length ? ` for ${res.routes.join(', ')}` : ''}`,
      );
      this.deps.telemetry?.messageAccepted(st.listener.name, session.secure ? st.tlsVersion : undefined);
      this.deps.onAccepted(res.id);
      cb(null, `2.0.0 OK: queued as ${res.id}`);
    } catch (err) {
      if (err instanceof SmtpReply) {
        this.refused(st, err, { sender: txn.sender });
        return cb(err);
      }
      this.deps.log.warn({ event: 'data-aborted', clientIp: st.clientIp, err: (err as Error).message }, 'message transfer did not complete');
      cb(err as Error);
    } finally {
      st.txn = undefined;
    }
  }

  private refused(st: ConnectionState, r: SmtpReply, fields: Record<string, unknown>): void {
    const device = st.authDevice ?? st.networkDevice;
    this.deps.log.info({ event: 'refused', listener: st.listener.name, clientIp: st.clientIp, device: device?.name, code: r.code, enhanced: r.enhanced, reason: r.text, ...fields }, `refused: ${r.code} ${r.enhanced} ${r.text}`);
    this.deps.telemetry?.refused(st.listener.name, r.code);
    if (device) this.recordRefusal(device.name, st.clientIp);
  }

  private recordRefusal(device: string, clientIp: string): void {
    this.deps.store.recordDeviceActivity({ device, clientIp, at: Date.now(), rejected: 1 })
      .catch((err: unknown) => this.deps.log.warn({ event: 'inventory-error', err }, 'could not update the device inventory'));
  }
}
