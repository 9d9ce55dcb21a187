/**
 * The smtp transport: any SMTP relay (an Exchange connector, a commercial
 * relay, another MTA). nodemailer's SMTP pool sends the stored message as it
 * is (raw-send.ts) with the envelope as stored (an IDN domain in punycode);
 * certificate checking is on unless the config turns it off; connections
 * are pooled and reused.
 *
 * The upstream is greeted with `helo`, else the relay's host name (never
 * nodemailer's `[127.0.0.1]`). MAIL FROM declares BODY=8BITMIME for an 8-bit
 * message and SIZE= when the upstream offers them. A message whose envelope
 * needs SMTPUTF8, and every message of `send-test` (which prints each step),
 * goes over a connection of its own, where what the upstream offered is known
 * before MAIL FROM: without SMTPUTF8 such a message fails with the reason and
 * is never sent garbled. With credentials the relay always signs in (a server
 * that offers no AUTH then says so, instead of the mail going out unsigned).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { rootCertificates, type ConnectionOptions } from 'node:tls';
import SMTPPool from 'nodemailer/lib/smtp-pool';
import type { SmtpUpstreamConfig } from '../../config/schema.js';
import { outcomeForAll, type RecipientOutcome } from '../../core/outcome.js';
import { CountedBody, interrupted, unreadableBody, untilAborted } from '../body-transfer.js';
import type { PlaceholderValues } from '../microsoft/catalogue.js';
import { SmtpSession, type SessionOptions } from '../smtp-oauth/smtp-session.js';
import { transfer } from '../smtp-oauth/transfer.js';
import type { DeliveryContext, OutboundMessage, Transport } from '../transport.js';
import { classifySmtpError, classifySmtpReply, type SmtpErrorLike } from './classify.js';
import { asciiDomain, prepareMessage, smtpUtf8Addresses, type PreparedMessage } from './mail-params.js';
import { addressKey, perRecipient } from './recipients.js';
import { speedUpDataStream } from './data-stream.js';
import { sendRaw } from './raw-send.js';

speedUpDataStream();

export interface SmtpTransportDeps {
  /** EHLO name when the upstream sets no `helo`: the relay's host name (default: the system's). */
  hostname?: string;
}

export class SmtpTransport implements Transport {
  readonly type = 'smtp';
  readonly concurrency: number;
  /** The name the upstream is greeted with (EHLO). */
  readonly helo: string;
  private readonly pool: SMTPPool;
  private readonly session: SessionOptions;
  private readonly names: PlaceholderValues;

  constructor(
    readonly name: string,
    private readonly cfg: SmtpUpstreamConfig,
    deps: SmtpTransportDeps = {},
  ) {
    this.concurrency = cfg.concurrency;
    this.helo = cfg.helo ?? deps.hostname ?? hostname();
    this.names = { upstream: name };
    const tls: ConnectionOptions = { rejectUnauthorized: cfg.rejectUnauthorized };
    // Extra CA certificates: the system's are trusted as well (as docs/configuration.md says).
    if (cfg.ca) tls.ca = [...rootCertificates, readFileSync(cfg.ca, 'utf8')];
    if (cfg.servername) tls.servername = cfg.servername;
    if (cfg.clientCert) {
      tls.cert = readFileSync(cfg.clientCert.cert, 'utf8');
      tls.key = readFileSync(cfg.clientCert.key, 'utf8');
    }
    const options: SMTPPool.Options = {
      pool: true,
      maxConnections: cfg.concurrency,
      maxMessages: cfg.pool ? 100 : 1,
      // The pool must not resend a message on another connection by itself: the body
      // stream is consumed by then. The scheduler retries with a fresh stream instead.
      maxRequeues: 0,
      host: cfg.host,
      port: cfg.port,
      secure: cfg.tls === 'implicit',
      requireTLS: cfg.tls === 'starttls',
      ignoreTLS: cfg.tls === 'none',
      tls,
      connectionTimeout: cfg.connectTimeout,
      greetingTimeout: cfg.connectTimeout,
      socketTimeout: cfg.timeout,
      logger: false,
      name: this.helo,
      ...(cfg.auth ? { auth: { user: cfg.auth.user, pass: cfg.auth.pass }, forceAuth: true, ...(cfg.auth.method ? { authMethod: cfg.auth.method } : {}) } : {}),
    };
    this.pool = new SMTPPool(options);
    this.session = {
      host: cfg.host,
      port: cfg.port,
      secure: cfg.tls === 'implicit',
      requireTLS: cfg.tls === 'starttls',
      ignoreTLS: cfg.tls === 'none',
      tls,
      ...(cfg.servername ? { servername: cfg.servername } : {}),
      name: this.helo,
      connectTimeoutMs: cfg.connectTimeout,
      socketTimeoutMs: cfg.timeout,
    };
  }

  async deliver(message: OutboundMessage, ctx: DeliveryContext): Promise<RecipientOutcome[]> {
    if (ctx.signal.aborted) return outcomeForAll(message.recipients, interrupted(false));
    if (ctx.trace || smtpUtf8Addresses(message).length) return this.deliverOnSession(message, ctx);
    return this.deliverPooled(message, ctx);
  }

  private async deliverPooled(stored: OutboundMessage, ctx: DeliveryContext): Promise<RecipientOutcome[]> {
    let prepared: PreparedMessage;
    let body: CountedBody;
    try {
      prepared = await prepareMessage(stored);
      body = new CountedBody(prepared.message);
    } catch (err) {
      return outcomeForAll(stored.recipients, unreadableBody(err as Error));
    }
    const message = prepared.message;
    try {
      // The envelope as a connection of its own sends it (transfer.ts): the addresses as stored, an IDN domain in punycode.
      const envelope = {
        from: asciiDomain(message.sender), to: message.recipients.map(asciiDomain),
        ...(message.eightBit ? { use8BitMime: true } : {}), ...(message.size > 0 ? { size: message.size } : {}),
      };
      const info = await untilAborted(sendRaw(this.pool, envelope, body.stream, `<${message.id}@authrelay.invalid>`), ctx.signal);
      return perRecipient(message.recipients, info, (r) => classifySmtpReply(r, 'RCPT TO', this.names));
    } catch (err) {
      if (body.error) return outcomeForAll(message.recipients, unreadableBody(body.error));
      if (ctx.signal.aborted) return outcomeForAll(message.recipients, interrupted(body.sent > 0));
      return this.fromError(message, err as SmtpErrorLike, body.afterBody);
    } finally {
      body.close();
      prepared.release();
    }
  }

  /** One connection for this message: every step traced, and SMTPUTF8 checked before MAIL FROM. */
  private async deliverOnSession(message: OutboundMessage, ctx: DeliveryContext): Promise<RecipientOutcome[]> {
    let session: SmtpSession | undefined;
    try {
      session = await SmtpSession.openUnlessAborted(this.session, ctx.signal, ctx.trace);
      if (this.cfg.auth) {
        ctx.trace?.('auth', { user: this.cfg.auth.user, ...(this.cfg.auth.method ? { method: this.cfg.auth.method } : {}) });
        await untilAborted(session.loginPassword(this.cfg.auth.user, this.cfg.auth.pass, this.cfg.auth.method), ctx.signal);
      }
    } catch (err) {
      session?.close();
      if (ctx.signal.aborted) return outcomeForAll(message.recipients, interrupted(false));
      return outcomeForAll(message.recipients, classifySmtpError(err as SmtpErrorLike, false, this.names));
    }
    const result = await transfer(session, message, ctx, this.names);
    if (result.reusable) session.quit();
    return result.outcomes;
  }

  private fromError(message: OutboundMessage, e: SmtpErrorLike, afterBody: boolean): RecipientOutcome[] {
    if (e.code === 'EENVELOPE' && e.rejectedErrors?.length) {
      // every recipient was refused, each with its own reply
      const byRcpt = new Map(e.rejectedErrors.filter((r) => r.recipient).map((r) => [addressKey(r.recipient!), r]));
      return message.recipients.map((recipient) => {
        const r = byRcpt.get(addressKey(recipient));
        return { recipient, outcome: r ? classifySmtpReply(r.response ?? '', 'RCPT TO', this.names) : classifySmtpError(e, afterBody, this.names) };
      });
    }
    return outcomeForAll(message.recipients, classifySmtpError(e, afterBody, this.names));
  }

  async close(): Promise<void> {
    this.pool.close();
  }
}
