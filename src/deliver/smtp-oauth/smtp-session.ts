/**
 * One SMTP client session, as promises: connect (greeting, EHLO, STARTTLS or
 * TLS from the first byte), XOAUTH2 or password login, one or more
 * transactions, quit.
 * Built on nodemailer's SMTPConnection, so the protocol code (dot-stuffing,
 * pipelining, per-recipient replies) is nodemailer's; this file adds what the
 * Microsoft transports need on top: the TLS version actually negotiated, a
 * transcript for `send-test` (the AUTH line is masked by nodemailer and again
 * here, so a token never reaches a trace), and errors that never go unheard
 * (SMTPConnection reports socket failures as events, not through callbacks).
 *
 * Used by the smtp-oauth and direct-send transports, and by the smtp
 * transport for `send-test` and for messages that need SMTPUTF8 (it knows
 * what the upstream offered in its EHLO before the transaction starts).
 */
import type { Readable } from 'node:stream';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { SMTPConnectionSendInfo } from 'nodemailer/lib/smtp-connection';
import XOAuth2 from 'nodemailer/lib/xoauth2';
import { untilAborted } from '../body-transfer.js';
import type { SmtpErrorLike } from '../smtp/classify.js';
import { speedUpDataStream } from '../smtp/data-stream.js';

speedUpDataStream();

export interface SessionOptions {
  /** Host name or IP address to connect to. */
  host: string;
  port: number;
  /** Name the certificate must carry (and SNI), when host is an address. */
  servername?: string;
  /** STARTTLS must succeed; fail rather than send in the clear. */
  requireTLS: boolean;
  /** TLS from the first byte (port-465 style). */
  secure?: boolean;
  /** Never STARTTLS, even when offered. */
  ignoreTLS?: boolean;
  tls: ConnectionOptions;
  /** EHLO name. */
  name?: string;
  connectTimeoutMs: number;
  /** Idle time on the socket before the session is abandoned. */
  socketTimeoutMs: number;
}

export type TraceFn = (step: string, detail?: Record<string, unknown>) => void;

/** What MAIL FROM may declare about the message. */
export interface MailParams {
  /** Declare BODY=8BITMIME (when the upstream offers it). */
  eightBit?: boolean;
  /** Declare SIZE= (when the upstream offers it). */
  size?: number;
}

type Callback<T> = (err: Error | null | undefined, value?: T) => void;

/** An SMTP transcript line, with any AUTH argument hidden (tokens and passwords never leave). */
export function maskLine(line: string): string {
  return line.replace(/^(AUTH\s+\S+)\s+.*$/i, '$1 [hidden]');
}

export class SmtpSession {
  /** Messages sent on this session so far. */
  messages = 0;
  /** When the session last finished a transaction (for idle reuse). */
  lastUsed = Date.now();
  private dead = false;
  private failure: Error | undefined;
  private pending: ((err: Error) => void) | undefined;
  private traceFn: TraceFn | undefined;
  /** The upstream's last EHLO reply (after STARTTLS, the one over TLS). */
  private ehlo = '';

  private constructor(private readonly conn: SMTPConnection) {
    // SMTPConnection emits socket failures as 'error'; without a listener they would crash the process.
    conn.on('error', (err: Error) => {
      this.dead = true;
      this.failure = err;
      this.pending?.(err);
    });
    conn.on('end', () => {
      this.dead = true;
      this.pending?.(this.failure ?? Object.assign(new Error('Connection closed unexpectedly'), { code: 'ECONNECTION' }));
    });
  }

  /** Connects, reads the greeting, says EHLO and does STARTTLS when required or offered. */
  static async open(opts: SessionOptions, trace?: TraceFn): Promise<SmtpSession> {
    const conn: SMTPConnection = new SMTPConnection({
      host: opts.host,
      port: opts.port,
      secure: opts.secure ?? false,
      requireTLS: opts.requireTLS,
      ...(opts.ignoreTLS ? { ignoreTLS: true } : {}),
      ...(opts.servername ? { servername: opts.servername } : {}),
      tls: { ...opts.tls, ...(opts.servername ? { servername: opts.servername } : {}) },
      ...(opts.name ? { name: opts.name } : {}),
      connectionTimeout: opts.connectTimeoutMs,
      greetingTimeout: opts.connectTimeoutMs,
      socketTimeout: opts.socketTimeoutMs,
      transactionLog: true,
      // Called only once the connection runs, after `session` below exists.
      logger: transcriptLogger(() => session.traceFn),
    });
    const session: SmtpSession = new SmtpSession(conn);
    session.traceFn = trace;
    trace?.('connect', { host: opts.host, port: opts.port, ...(opts.servername ? { servername: opts.servername } : {}) });
    await session.op<void>((cb) => conn.connect((err) => cb(err)));
    session.ehlo = conn.lastServerResponse || '';
    trace?.('tls', session.secure ? { version: session.tlsVersion, cipher: session.cipher } : { version: 'none (plain text)' });
    return session;
  }

  /**
   * Opens a session unless the relay shuts down first (then it rejects at
   * once); a session that connects after that is closed as soon as it does.
   */
  static openUnlessAborted(opts: SessionOptions, signal: AbortSignal, trace?: TraceFn): Promise<SmtpSession> {
    const opening = SmtpSession.open(opts, trace);
    opening.then((s) => (signal.aborted ? s.close() : undefined), () => undefined);
    return untilAborted(opening, signal);
  }

  /** The trace that receives this session's transcript (changes per message when the session is reused). */
  set trace(fn: TraceFn | undefined) {
    this.traceFn = fn;
  }

  get secure(): boolean {
    return this.conn.secure;
  }

  get tlsVersion(): string | undefined {
    const s = this.conn._socket as TLSSocket | false | null;
    return s && typeof s.getProtocol === 'function' ? (s.getProtocol() ?? undefined) : undefined;
  }

  get cipher(): string | undefined {
    const s = this.conn._socket as TLSSocket | false | null;
    return s && typeof s.getCipher === 'function' ? s.getCipher()?.name : undefined;
  }

  /** Whether the upstream offered an ESMTP extension (SMTPUTF8, 8BITMIME, SIZE...) in its EHLO. */
  offers(extension: string): boolean {
    return new RegExp(`^\\d{3}[ -]${extension}(\\s|$)`, 'im').test(this.ehlo);
  }

  /** Still connected and not failed. */
  get usable(): boolean {
    return !this.dead && !this.conn.destroyed;
  }

  /** AUTH XOAUTH2 as `user` with a bearer token (the one-line form Microsoft documents). */
  async loginXOAuth2(user: string, accessToken: string): Promise<void> {
    const oauth2 = new XOAuth2({ user, accessToken });
    await this.op<boolean>((cb) => this.conn.login({ type: 'OAuth2', user, oauth2, method: 'XOAUTH2' }, (err, ok) => cb(err, ok)));
  }

  /** AUTH PLAIN or LOGIN (the first the upstream offers when no method is given). */
  async loginPassword(user: string, pass: string, method?: string): Promise<void> {
    await this.op<boolean>((cb) => this.conn.login({ user, pass, ...(method ? { method } : {}) }, (err, ok) => cb(err, ok)));
  }

  /**
   * One transaction: MAIL FROM (with BODY=8BITMIME and SIZE= when asked for
   * and offered, SMTPUTF8 when an address needs it and it is offered), RCPT TO
   * for each recipient, DATA with the raw bytes.
   */
  async send(sender: string, recipients: string[], raw: Readable, params: MailParams = {}): Promise<SMTPConnectionSendInfo> {
    const envelope = { from: sender, to: recipients, ...(params.eightBit ? { use8BitMime: true } : {}), ...(params.size ? { size: params.size } : {}) };
    const info = await this.op<SMTPConnectionSendInfo>((cb) => this.conn.send(envelope, raw, (err, i) => cb(err, i)));
    this.messages++;
    this.lastUsed = Date.now();
    return info;
  }

  /** RSET after a refused transaction, so the session can carry the next message. */
  async reset(): Promise<void> {
    await this.op<boolean>((cb) => this.conn.reset((err, ok) => cb(err, ok)));
    this.lastUsed = Date.now();
  }

  quit(): void {
    this.dead = true;
    if (!this.conn.destroyed) this.conn.quit();
  }

  close(): void {
    this.dead = true;
    this.conn.close();
  }

  /** Runs one SMTPConnection call; settles on its callback or on the first socket failure, whichever comes first. */
  private op<T>(start: (cb: Callback<T>) => void): Promise<T> {
    if (this.dead && this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | null | undefined, value?: T) => {
        if (settled) return;
        settled = true;
        this.pending = undefined;
        if (err) reject(err);
        else resolve(value as T);
      };
      this.pending = (err) => finish(err);
      try {
        start(finish);
      } catch (err) {
        finish(err as Error);
      }
    });
  }
}

/** A bunyan-style logger that hands SMTPConnection's transcript lines (C:/S:) to the current trace. */
function transcriptLogger(current: () => TraceFn | undefined): Record<string, (...args: unknown[]) => void> {
  const line = (entry: unknown, message?: unknown, ...args: unknown[]) => {
    const trace = current();
    if (!trace || typeof entry !== 'object' || entry === null) return;
    const tnx = (entry as { tnx?: string }).tnx;
    if (tnx !== 'client' && tnx !== 'server') return;
    let text = typeof message === 'string' ? message : '';
    if (args.length) text = text.replace(/%s/g, () => String(args.shift()));
    for (const l of text.split(/\r?\n/)) trace(tnx === 'client' ? 'smtp-client' : 'smtp-server', { line: maskLine(l) });
  };
  const none = () => undefined;
  return { trace: none, debug: line, info: none, warn: none, error: none, fatal: none };
}

export type { SMTPConnectionSendInfo, SmtpErrorLike };
