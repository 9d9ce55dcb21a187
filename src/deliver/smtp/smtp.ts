/**
 * The smtp transport: any SMTP relay (an Exchange connector, a commercial
 * relay, another MTA). nodemailer ≥ 10.0.12 sends the stored message as it
 * is (raw) with the envelope unchanged; certificate checking is on unless
 * the config turns it off; connections are pooled and reused.
 */
import { readFileSync } from 'node:fs';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { SmtpUpstreamConfig } from '../../config/schema.js';
import { outcomeForAll, type RecipientOutcome } from '../../core/outcome.js';
import { CountedBody, interrupted, unreadableBody, untilAborted } from '../body-transfer.js';
import type { DeliveryContext, OutboundMessage, Transport } from '../transport.js';
import { classifySmtpError, classifySmtpReply, type SmtpErrorLike } from './classify.js';
import { addressKey, perRecipient, type SentInfo } from './recipients.js';

type Mailer = Transporter<SMTPPool.SentMessageInfo>;

export class SmtpTransport implements Transport {
  readonly type = 'smtp';
  readonly concurrency: number;
  private readonly mailer: Mailer;

  constructor(
    readonly name: string,
    private readonly cfg: SmtpUpstreamConfig,
  ) {
    this.concurrency = cfg.concurrency;
    const tls: Record<string, unknown> = { rejectUnauthorized: cfg.rejectUnauthorized };
    if (cfg.ca) tls.ca = readFileSync(cfg.ca, 'utf8');
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
      ...(cfg.helo ? { name: cfg.helo } : {}),
      ...(cfg.auth ? { auth: { user: cfg.auth.user, pass: cfg.auth.pass }, ...(cfg.auth.method ? { authMethod: cfg.auth.method } : {}) } : {}),
    };
    this.mailer = nodemailer.createTransport(options);
  }

  async deliver(message: OutboundMessage, ctx: DeliveryContext): Promise<RecipientOutcome[]> {
    if (ctx.signal.aborted) return outcomeForAll(message.recipients, interrupted(false));
    let body: CountedBody;
    try {
      body = new CountedBody(message);
    } catch (err) {
      return outcomeForAll(message.recipients, unreadableBody(err as Error));
    }
    try {
      const info = await untilAborted(this.mailer.sendMail({ envelope: { from: message.sender, to: message.recipients }, raw: body.stream }), ctx.signal);
      return perRecipient(message.recipients, info as unknown as SentInfo, (r) => classifySmtpReply(r, 'RCPT TO'));
    } catch (err) {
      if (body.error) return outcomeForAll(message.recipients, unreadableBody(body.error));
      if (ctx.signal.aborted) return outcomeForAll(message.recipients, interrupted(body.sent > 0));
      return this.fromError(message, err as SmtpErrorLike, body.afterBody);
    } finally {
      body.close();
    }
  }

  private fromError(message: OutboundMessage, e: SmtpErrorLike, afterBody: boolean): RecipientOutcome[] {
    if (e.code === 'EENVELOPE' && e.rejectedErrors?.length) {
      // every recipient was refused, each with its own reply
      const byRcpt = new Map(e.rejectedErrors.filter((r) => r.recipient).map((r) => [addressKey(r.recipient!), r]));
      return message.recipients.map((recipient) => {
        const r = byRcpt.get(addressKey(recipient));
        return { recipient, outcome: r ? classifySmtpReply(r.response ?? '', 'RCPT TO') : classifySmtpError(e, afterBody) };
      });
    }
    return outcomeForAll(message.recipients, classifySmtpError(e, afterBody));
  }

  async close(): Promise<void> {
    this.mailer.close();
  }
}
