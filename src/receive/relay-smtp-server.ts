/**
 * smtp-server, adapted for the relay (used by the receive stage, server.ts):
 *  - RelayConnection: the listener's greetingDelay instead of the fixed 100 ms
 *    pause before every greeting; replies with their own enhanced status code
 *    sent as they are; the per-line deadline against slow-loris clients
 *    (line-deadline.ts); the 421 of the graceful stop.
 *  - RelaySmtpServer: TCP_NODELAY on accepted sockets, and on proxyProtocol
 *    listeners only trusted proxies, each connection starting with a PROXY
 *    header whose client address becomes the session's address.
 */
import type { Socket } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import type { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import { pooledRandomBytes } from '../core/ids.js';
import { Replies, SmtpReply } from '../core/smtp-reply.js';
import { relayTrickIn } from '../core/address.js';
import { LineDeadline } from './line-deadline.js';
import { ipInCidrs, normaliseIp, type Cidr } from '../core/net.js';
import { ProxyHeaderError, readProxyHeader } from './proxy-protocol.js';
import { speedUpDataScan } from './data-scan.js';

// DATA is scanned for its end with a native search where smtp-server would check every byte (data-scan.ts).
speedUpDataScan();

const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3} /;
const RCPT_PATH = /^RCPT\s+TO\s*:\s*<([^<>]*)>/i;

type SendFn = (code: number, data?: string | string[], context?: string | false) => void;
type ProxyCallback = Parameters<SMTPServer['_handleProxy']>[1];
type ProxySocketOptions = NonNullable<Parameters<ProxyCallback>[1]>;
const SHUTTING_DOWN = Replies.shuttingDown();

const ID_DIGITS = '0123456789abcdefghijklmnopqrstuv';

/** Ten bytes as smtp-server writes a session id: 80 bits in 16 base-32 digits, the most significant first. */
export function sessionIdFromBytes(bytes: Uint8Array): string {
  let id = '';
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < 10; i++) {
    acc = (acc << 8) | bytes[i]!;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      id += ID_DIGITS[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return id;
}

/** A session id in smtp-server's own format (its generator is not exported), from the pool of random bytes. */
export function connectionId(): string {
  return sessionIdFromBytes(pooledRandomBytes(10));
}

/** What a server tells the live view of its sessions (server.ts turns it into watch events). */
export interface ServerWatch {
  /** A command, as received; AUTH arguments and SASL lines are never passed (passwords). */
  command(session: string, text: string): void;
  reply(session: string, code: number, text: string): void;
  /** A TLS handshake failed: in a session (STARTTLS), or before any (implicit TLS; session undefined). */
  tlsFailed(session: string | undefined, clientIp: string, err: Error): void;
}

export class RelayConnection extends SMTPConnection {
  /** Set by _createParser, which smtp-server calls from its constructor (hence `declare`: no field initialiser). */
  declare private lineDeadline?: LineDeadline;

  /**
   * Every parser (the first one, and the TLS session's after STARTTLS) tells
   * the line deadline what arrives: a line not complete within socketTimeout
   * gets 421 (slow-loris; see line-deadline.ts).
   */
  override _createParser(): SMTPStream {
    const parser = super._createParser();
    const deadline = (this.lineDeadline ??= new LineDeadline(
      this._server.options.socketTimeout || 60_000,
      () => this._handlerPending || this._upgrading || (Boolean(this._dataStream) && Boolean(this._parser) && !(this._parser as SMTPStream)._dataMode),
      () => {
        if (!this._closing && !this._closed) this.send(421, '4.4.2 Timeout: a line took longer than the socket timeout; closing connection');
      },
    ));
    const write = parser.write;
    parser.write = function (this: SMTPStream, chunk: unknown, ...rest: unknown[]): boolean {
      if (Buffer.isBuffer(chunk)) deadline.observe(chunk, parser._dataMode);
      return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as SMTPStream['write'];
    return parser;
  }

  override _onClose(): void {
    this.lineDeadline?.stop();
    super._onClose();
    const server = this._server as unknown as RelaySmtpServer;
    if (server.connections.size === 0) server.onIdle?.();
  }

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
    // AUTH is offered only once a password may be sent: before STARTTLS on a port that takes
    // passwords only over TLS it is left out of the EHLO reply (Postfix's smtpd_tls_auth_only).
    if (code === 250 && Array.isArray(data) && !this.secure && !this._server.options.allowInsecureAuth) {
      data = data.filter((line) => !/^AUTH\b/i.test(line));
    }
    const ctx = typeof data === 'string' && ENHANCED.test(data) ? false : context;
    (SMTPConnection.prototype.send as unknown as SendFn).call(this, code, data, ctx);
    const watch = (this._server as unknown as RelaySmtpServer).watch;
    if (watch && code !== 334) watch.reply(this.id, code, Array.isArray(data) ? data.join(' | ') : (data ?? ''));
  }

  /** Commands to the live view: AUTH without its arguments, the lines of a SASL exchange not at all. */
  override _onCommand(command: Buffer, callback?: () => void): void {
    const watch = (this._server as unknown as RelaySmtpServer).watch;
    if (watch) {
      const line = command.toString('utf8');
      const words = line.trim().split(/\s+/);
      const verb = (words[0] ?? '').toUpperCase();
      if (this._nextHandler) watch.command(this.id, '(login data, not shown)');
      else if (verb === 'AUTH') watch.command(this.id, `AUTH ${words[1]?.toUpperCase() ?? ''}${words.length > 2 ? ' (credentials not shown)' : ''}`.trim());
      else watch.command(this.id, line.length > 200 ? `${line.slice(0, 200)}…` : line);
    }
    super._onCommand(command, callback);
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

  /** A message is in progress: MAIL FROM accepted, DATA arriving or being stored, or a command being handled. */
  get busy(): boolean {
    return Boolean(this._dataStream) || Boolean(this.session.envelope?.mailFrom) || this._handlerPending || this._upgrading;
  }

  /** While the server drains: a session with no message in progress gets 421 and is closed. */
  closeIfIdle(): void {
    if (!(this._server as unknown as RelaySmtpServer).draining || this._closing || this._closed || this.busy) return;
    this.shutDown();
  }

  /** 421 4.3.2 and close, whatever the session is doing. */
  shutDown(): void {
    if (this._closing || this._closed) return;
    this.send(SHUTTING_DOWN.code, SHUTTING_DOWN.message);
  }

  /** The end of a transaction (message answered, RSET, EHLO, STARTTLS done). */
  override _resetSession(): void {
    super._resetSession();
    if (this._ready) this.closeIfIdle();
  }

  /** After every command. */
  override _whenWritable(next: () => void): void {
    super._whenWritable(next);
    this.closeIfIdle();
  }
}

export interface ProxySettings {
  trusted: readonly Cidr[];
  headerTimeoutMs: number;
  /** Told of every connection refused before the SMTP session (untrusted source, bad, late or missing header). */
  refused: (peer: string, reason: 'untrusted' | ProxyHeaderError['reason'], detail: string) => void;
}

export class RelaySmtpServer extends SMTPServer {
  greetingDelayMs = 0;
  onRecipientRefused?: (session: SMTPServerSession, reply: SmtpReply, recipient: string) => void;
  /** Set on proxyProtocol listeners. */
  proxy?: ProxySettings;
  draining = false;
  /** The live view of this server's sessions, when someone may watch them. */
  watch?: ServerWatch;
  /** Called when the last session of this server has ended (a server replaced by a reload is then dropped). */
  onIdle?: () => void;
  /** The proxy's own address, by session id, for sessions whose address came from a PROXY header. */
  readonly proxiedBy = new Map<string, string>();

  /** On a proxyProtocol listener every connection is held until its header is read (and counted as pending). */
  override _expectsProxyHeader(socket: Socket): boolean {
    return this.proxy ? true : super._expectsProxyHeader(socket);
  }

  /**
   * Reads the PROXY header on proxyProtocol listeners. A source that is not a
   * trusted proxy is closed before anything is read; a header that is
   * invalid, late or cut short closes the connection. The client address in
   * the header becomes the session's remote address.
   */
  override _handleProxy(socket: Socket, callback: ProxyCallback): void {
    const proxy = this.proxy;
    if (!proxy) {
      // smtp-server's own step for a connection without a PROXY header, with an id from the pool.
      if (this.options.useProxy) return super._handleProxy(socket, callback);
      const options: ProxySocketOptions = { id: connectionId() };
      if (this.options.ignoredHosts?.includes(socket.remoteAddress ?? '')) options.ignore = true;
      setImmediate(() => callback(null, options));
      return;
    }
    const peer = normaliseIp(socket.remoteAddress ?? '');
    socket.on('error', () => undefined);
    if (!ipInCidrs(peer, proxy.trusted)) {
      socket.destroy();
      proxy.refused(peer, 'untrusted', 'not in trustedProxies');
      callback(new Error(`connection from ${peer} refused: not a trusted proxy`));
      return;
    }
    readProxyHeader(socket, proxy.headerTimeoutMs).then(
      (header) => {
        const options: ProxySocketOptions & { proxiedBy?: string } = { id: connectionId() };
        if (header.source) {
          Object.assign(options, { remoteAddress: header.source.address, remotePort: header.source.port, proxiedBy: peer });
          if (header.destination) Object.assign(options, { localAddress: header.destination.address, localPort: header.destination.port });
        }
        callback(null, options);
      },
      (err: ProxyHeaderError) => {
        socket.destroy();
        proxy.refused(peer, err.reason, err.message);
        callback(err);
      },
    );
  }

  /** The implicit-TLS handshake, told to the live view when it fails (the session has not begun). */
  override _upgrade(socket: Socket, callback: Parameters<SMTPServer['_upgrade']>[1]): void {
    super._upgrade(socket, (err, tlsSocket) => {
      if (err) this.watch?.tlsFailed(undefined, normaliseIp(socket.remoteAddress ?? ''), err);
      callback(err, tlsSocket);
    });
  }

  override connect(socket: Socket, socketOptions: unknown): void {
    socket.setNoDelay(true);
    const connection = new RelayConnection(this, socket, socketOptions as never);
    const proxiedBy = (socketOptions as { proxiedBy?: string } | undefined)?.proxiedBy;
    if (proxiedBy) this.proxiedBy.set(connection.id, proxiedBy);
    this.connections.add(connection);
    let tlsFailed = false;
    connection.on('error', (err: Error) => {
      // A STARTTLS handshake that failed ends the session: the live view says why (once: the TLS socket may report it twice).
      if (!connection._upgrading || tlsFailed) return;
      tlsFailed = true;
      this.watch?.tlsFailed(connection.id, normaliseIp(connection.remoteAddress ?? ''), err);
    });
    connection.on('error', (err: Error) => (this as unknown as { _onError(e: Error): void })._onError(err));
    connection.on('connect', (data: unknown) => (this as unknown as { _onClientConnect(d: unknown): void })._onClientConnect(data));
    connection.init();
  }
}
