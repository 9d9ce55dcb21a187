/**
 * One legacy client's session, shared by IMAP and POP3 (Dovecot's
 * login-common/client-common.c): the socket (plain, after STARTTLS/STLS, or
 * implicit TLS), the line reader with its deadlines, the login through the
 * policy and the upstream, and after it the byte pipe. The protocol's hook
 * table (ClientProtocol, filled in imap/ and pop3/) parses the commands and
 * writes the replies; it calls the session for everything else.
 */
import type { Socket } from 'node:net';
import type { SecureContext, TLSSocket } from 'node:tls';
import type { Logger } from '../../core/log.js';
import { LineReader, type LineError } from './line-reader.js';
import { acceptTls } from './tls.js';
import { openUpstream, type UpstreamProtocol, type UpstreamSession } from './upstream-login.js';
import { startBytePipe, type BytePipe, type PipeResult } from './byte-pipe.js';
import { explainFailure } from './failure-catalogue.js';
import { loggableName } from './mailbox-policy.js';
import type { ExplainedFailure, LoginAttempt, LoginPolicy, MailProtocol, ProxyTelemetry, UpstreamTarget } from './types.js';

export type FarewellReason = 'busy' | 'locked-out' | 'idle-timeout' | 'line-timeout' | 'too-long' | 'shutdown' | 'too-many-errors';

/** A protocol's hooks (the vfuncs table of Dovecot's imap-login / pop3-login). */
export interface ClientProtocol {
  readonly protocol: MailProtocol;
  readonly upstream: UpstreamProtocol;
  greeting(s: ClientSession): string;
  /** The line sent before the proxy closes the connection. */
  farewell(reason: FarewellReason): string;
  /** Reads commands until a login opened the upstream (answered to the client already), or the session ended. */
  serve(s: ClientSession): Promise<UpstreamSession | undefined>;
}

/** What a session needs from its listener. */
export interface SessionSettings {
  listener: string;
  tlsMode: 'none' | 'starttls' | 'implicit';
  tlsContext?: SecureContext;
  /** Logins without TLS are allowed (devices that cannot do TLS). */
  allowInsecureAuth: boolean;
  maxLineLength: number;
  lineTimeoutMs: number;
  /** Before login: how long the client may stay silent. */
  idleTimeoutMs: number;
  /** After login: how long the pipe may carry nothing either way. */
  sessionIdleTimeoutMs: number;
  handshakeTimeoutMs: number;
  /** Failed logins on one connection before it is closed. */
  maxLoginFailures: number;
  policy: LoginPolicy;
  upstream: UpstreamTarget;
  telemetry?: ProxyTelemetry;
}

export type LoginOutcome =
  | { ok: true; upstream: UpstreamSession; device: string; mailbox: string }
  | { ok: false; refused: 'credentials'; locked: boolean; close: boolean }
  | { ok: false; refused: 'upstream'; explained: ExplainedFailure; close: boolean };

export class ClientSession {
  private reader: LineReader;
  private loginFailures = 0;
  private pipe: BytePipe | undefined;
  private readonly aborter = new AbortController();
  /** The device and mailbox once logged in (for telemetry at the end). */
  private opened: { device: string; mailbox: string; at: number } | undefined;
  tlsVersion: string | undefined;
  closed = false;

  constructor(
    private socket: Socket | TLSSocket,
    readonly id: string,
    readonly clientIp: string,
    readonly settings: SessionSettings,
    readonly protocol: ClientProtocol,
    readonly log: Logger,
    secureFromStart: string | undefined,
  ) {
    this.tlsVersion = secureFromStart;
    this.reader = this.newReader();
    socket.on('error', () => undefined);
    socket.once('close', () => {
      this.closed = true;
      this.aborter.abort();
    });
  }

  get secure(): boolean {
    return this.tlsVersion !== undefined;
  }

  /** STARTTLS / STLS may be offered now. */
  get canStartTls(): boolean {
    return this.settings.tlsMode === 'starttls' && !this.secure && this.settings.tlsContext !== undefined;
  }

  /** A password may be sent now (TLS in place, or the listener allows it without). */
  get plaintextAllowed(): boolean {
    return this.secure || this.settings.allowInsecureAuth;
  }

  readLine(): Promise<Buffer | null> {
    return this.reader.readLine();
  }

  readBytes(n: number): Promise<Buffer | null> {
    return this.reader.readBytes(n);
  }

  write(text: string): void {
    if (!this.closed && this.socket.writable) this.socket.write(text);
  }

  /** Writes the line and closes the connection once it is sent. */
  end(text?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.reader.detach();
    if (text) this.socket.end(text);
    else this.socket.end();
    setTimeout(() => this.socket.destroy(), 5_000).unref();
  }

  /** Sends the farewell line for a reader error (deadline, line too long, closed) and ends the session. */
  readFailed(err: LineError): void {
    const reason = err.reason === 'too-long' ? 'too-long' : err.reason === 'idle-timeout' ? 'idle-timeout' : err.reason === 'line-timeout' ? 'line-timeout' : undefined;
    if (reason) this.log.info({ event: 'proxy-client-cut', reason }, `closed the session: ${err.message}`);
    this.end(reason ? this.protocol.farewell(reason) : undefined);
  }

  /**
   * Switches to TLS after the protocol's "go ahead" line. Bytes the client
   * sent after its STARTTLS command are dropped (they would otherwise be
   * taken as sent under TLS: command injection).
   */
  async startTls(goAhead: string): Promise<boolean> {
    const context = this.settings.tlsContext;
    if (!context) return false;
    const injected = this.reader.detach();
    if (injected.length) this.log.warn({ event: 'proxy-starttls-injection', bytes: injected.length }, `dropped ${injected.length} bytes the client sent after STARTTLS before the TLS handshake`);
    const raw = this.socket as Socket;
    await new Promise<void>((r) => raw.write(goAhead, () => r()));
    try {
      const tls = await acceptTls(raw, context, this.settings.handshakeTimeoutMs);
      this.socket = tls;
      this.tlsVersion = tls.getProtocol() ?? 'unknown';
      this.settings.telemetry?.tlsEstablished?.(this.settings.listener, this.tlsVersion);
      this.log.debug({ event: 'proxy-tls', tlsVersion: this.tlsVersion }, `TLS started (${this.tlsVersion})`);
      this.reader = this.newReader();
      return true;
    } catch (err) {
      this.log.info({ event: 'proxy-tls-failed', err: (err as Error).message }, `the TLS handshake after STARTTLS failed: ${(err as Error).message}`);
      this.closed = true;
      raw.destroy();
      return false;
    }
  }

  /** Checks the login with the policy, then logs in upstream for the chosen mailbox. */
  async login(a: Omit<LoginAttempt, 'protocol' | 'clientIp' | 'secure'>): Promise<LoginOutcome> {
    const s = this.settings;
    const protocol = this.protocol.protocol;
    const decision = await s.policy.authenticate({ ...a, protocol, clientIp: this.clientIp, secure: this.secure });
    if (!decision.ok) {
      this.loginFailures += 1;
      const username = loggableName(a.user);
      s.telemetry?.loginRefused?.(s.listener, protocol, decision.reason, { ...this.info(), user: username, detail: decision.detail });
      this.log.warn({
        event: 'proxy-auth-failed', username, ...(a.authzid ? { authzid: loggableName(a.authzid) } : {}), mechanism: a.mechanism,
        reason: decision.reason, detail: decision.detail, locked: decision.locked,
      }, `${protocol.toUpperCase()} login refused for ${JSON.stringify(username)} from ${this.clientIp}: ${decision.detail}${decision.locked ? ' (locked out)' : ''}`);
      return { ok: false, refused: 'credentials', locked: decision.locked, close: decision.locked || this.loginFailures >= s.maxLoginFailures };
    }
    const upstreamName = `${s.upstream.host}:${s.upstream.port}`;
    const opened = await openUpstream(s.upstream, this.protocol.upstream, decision.mailbox, this.aborter.signal);
    if (!opened.ok) {
      const explained = explainFailure(opened.failure, { protocol, mailbox: decision.mailbox, upstream: upstreamName, ...(opened.token ? { token: opened.token } : {}) });
      s.telemetry?.upstreamFailed?.(s.listener, protocol, explained.kind, {
        ...this.info(), device: decision.device, mailbox: decision.mailbox, summary: explained.summary, fix: explained.fix, temporary: explained.temporary,
      });
      const level = explained.temporary ? 'warn' : 'error';
      this.log[level]({
        event: 'proxy-upstream-failed', device: decision.device, mailbox: decision.mailbox, upstream: upstreamName, kind: explained.kind,
        stage: opened.failure.stage, upstreamText: opened.failure.upstreamText, fix: explained.fix, ...(explained.ref ? { ref: explained.ref } : {}),
      }, `${explained.summary} Fix: ${explained.fix.join(' ; ')}${explained.ref ? ` (docs/errors.md: ${explained.ref})` : ''}`);
      return { ok: false, refused: 'upstream', explained, close: !explained.temporary && this.loginFailures + 1 >= s.maxLoginFailures };
    }
    this.opened = { device: decision.device, mailbox: decision.mailbox, at: Date.now() };
    s.telemetry?.loggedIn?.(s.listener, protocol, decision.device, { ...this.info(), device: decision.device, mailbox: decision.mailbox });
    this.log.info({ event: 'proxy-login', device: decision.device, mailbox: decision.mailbox, via: decision.via, mechanism: a.mechanism, tlsVersion: this.tlsVersion, upstream: upstreamName, upstreamTls: opened.session.tlsVersion },
      `device ${decision.device} opened ${decision.mailbox} by ${protocol.toUpperCase()} through ${upstreamName}`);
    return { ok: true, upstream: opened.session, device: decision.device, mailbox: decision.mailbox };
  }

  /** Runs the session: greeting, commands until login, then the byte pipe until either side closes. */
  async run(): Promise<PipeResult | undefined> {
    this.write(this.protocol.greeting(this));
    let upstream: UpstreamSession | undefined;
    try {
      upstream = await this.protocol.serve(this);
    } catch (err) {
      this.log.warn({ event: 'proxy-session-error', err: (err as Error).message }, `the session failed before login: ${(err as Error).message}`);
      this.end();
      return undefined;
    }
    if (!upstream) {
      if (!this.closed) this.end();
      return undefined;
    }
    if (this.closed) {
      upstream.socket.destroy();
      return undefined;
    }
    const clientLeftover = this.reader.detach();
    this.pipe = startBytePipe(this.socket, upstream.socket, { clientLeftover, upstreamLeftover: upstream.leftover, idleTimeoutMs: this.settings.sessionIdleTimeoutMs });
    const result = await this.pipe.done;
    this.settings.telemetry?.sessionEnded?.(this.settings.listener, this.protocol.protocol, { toClient: result.toClient, toUpstream: result.toUpstream }, {
      ...this.info(), endedBy: result.endedBy, durationMs: this.opened ? Date.now() - this.opened.at : 0,
    });
    return result;
  }

  /** True once the byte pipe runs (the session can no longer be told anything). */
  get piping(): boolean {
    return this.pipe !== undefined;
  }

  /** Graceful stop: a session before login gets the farewell; a piped one is cut (call at the drain deadline). */
  shutDown(): void {
    if (this.pipe) this.pipe.stop();
    else this.end(this.protocol.farewell('shutdown'));
  }

  private info(): { session: string; clientIp: string; device?: string; mailbox?: string; tlsVersion?: string } {
    return {
      session: this.id, clientIp: this.clientIp,
      ...(this.opened ? { device: this.opened.device, mailbox: this.opened.mailbox } : {}),
      ...(this.tlsVersion ? { tlsVersion: this.tlsVersion } : {}),
    };
  }

  private newReader(): LineReader {
    const s = this.settings;
    return new LineReader(this.socket, { maxLineLength: s.maxLineLength, lineTimeoutMs: s.lineTimeoutMs, idleTimeoutMs: s.idleTimeoutMs });
  }
}
