/**
 * The receive stage: one smtp-server per listener, with device policy in its
 * callbacks. smtp-server is used for the protocol; two of its behaviours are
 * replaced through a connection subclass:
 *  - the fixed 100 ms pause before every greeting becomes the listener's
 *    greetingDelay (0 by default; early-talker protection where it is set);
 *  - replies that carry their own enhanced status code are sent as they are.
 * Accepted sockets get TCP_NODELAY.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession, type SMTPServerAuthentication, type SMTPServerAddress } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import type { ListenerConfig } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import { Replies, SmtpReply } from '../core/smtp-reply.js';
import { relayTrickIn } from '../core/address.js';
import type { Store } from '../spool/store.js';
import { listenerTlsOptions, type CertificatePair } from './tls.js';
import { ingest, type IngestContext } from './ingest.js';
import type { ConnectionState, SessionPolicy } from './policy.js';
import type { ReceiveTelemetry } from '../core/telemetry.js';

const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3} /;
const RCPT_PATH = /^RCPT\s+TO\s*:\s*<([^<>]*)>/i;

type SendFn = (code: number, data?: string | string[], context?: string | false) => void;

class RelayConnection extends SMTPConnection {
  override init(): void {
    const server = this._server as unknown as RelaySmtpServer;
    this._setListeners(() => {
      const max = server.options.maxClients;
      if (max && server.connections.size > max) {
        this.send(421, `${this.name} Too many connected clients, try again in a moment`, false as never);
        return;
      }
      if (server.greetingDelayMs > 0) setTimeout(() => this.connectionReady(), server.greetingDelayMs).unref();
      else this.connectionReady();
    });
  }

  override send(code: number, data?: string | string[], context?: string | false): void {
    const ctx = typeof data === 'string' && ENHANCED.test(data) ? false : context;
    (SMTPConnection.prototype.send as unknown as SendFn).call(this, code, data, ctx);
  }

  /**
   * Relay-trick recipient syntax is checked on the path as the client sent it:
   * smtp-server drops source routes (`<@a,@b:user@c>`, RFC 5321 appendix C)
   * before the callbacks see the address, and answers quoted local parts and
   * bang paths without a domain with a generic 501. Both get 553 here.
   */
  override handler_RCPT(command: Buffer, callback: () => void): void {
    const path = RCPT_PATH.exec(command.toString('utf8'))?.[1];
    const trick = path && this.session.envelope?.mailFrom ? relayTrickIn(path) : undefined;
    if (path && trick) {
      const reply = Replies.badRecipientSyntax(path, trick);
      (this._server as unknown as RelaySmtpServer).onRecipientRefused?.(this.session, reply, path);
      this.send(reply.code, reply.message);
      return callback();
    }
    super.handler_RCPT(command, callback);
  }
}

class RelaySmtpServer extends SMTPServer {
  greetingDelayMs = 0;
  onRecipientRefused?: (session: SMTPServerSession, reply: SmtpReply, recipient: string) => void;

  override connect(socket: Socket, socketOptions: unknown): void {
    socket.setNoDelay(true);
    const connection = new RelayConnection(this, socket, socketOptions as never);
    this.connections.add(connection);
    connection.on('error', (err: Error) => (this as unknown as { _onError(e: Error): void })._onError(err));
    connection.on('connect', (data: unknown) => (this as unknown as { _onClientConnect(d: unknown): void })._onClientConnect(data));
    connection.init();
  }
}

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

export class ReceiveStage {
  private readonly servers: { server: RelaySmtpServer; listener: ListenerConfig & { name: string } }[] = [];
  private readonly connections = new Map<string, ConnectionState>();
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
        { event: 'listening', listener: named.name, host: l.host, port, tls: l.tls, minTlsVersion: l.minTlsVersion, requireAuth: l.requireAuth },
        `listening for SMTP on ${l.host}:${port} (${l.tls === 'implicit' ? 'implicit TLS' : l.tls === 'starttls' ? 'STARTTLS' : 'no TLS'}, TLS ${l.minTlsVersion} or newer)`,
      );
    }
    return this.bound;
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map(({ server }) => new Promise<void>((r) => server.close(() => r()))));
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
      onConnect: (session, cb) => this.onConnect(l, session, cb),
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
        this.onData(stream, session, cb).catch((err: unknown) => {
          this.deps.log.error({ event: 'data-error', err }, 'message transfer failed');
          cb(Replies.storeFailed());
        });
      },
      onClose: (session) => {
        this.connections.delete(session.id);
      },
    };
    const server = new RelaySmtpServer(options);
    server.greetingDelayMs = l.greetingDelay;
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

  private onConnect(l: ListenerConfig & { name: string }, session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    const st = this.deps.policy.open(session.id, l, session.remoteAddress);
    this.connections.set(session.id, st);
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
