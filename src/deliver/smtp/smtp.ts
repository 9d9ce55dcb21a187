/**
 * The smtp transport: any SMTP relay (an Exchange connector, a commercial
 * relay, another MTA). nodemailer ≥ 10.0.12 sends the stored message as it
 * is (raw) with the envelope unchanged; certificate checking is on unless
 * the config turns it off; connections are pooled and reused.
 */
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { SmtpUpstreamConfig } from '../../config/schema.js';
import type { RecipientOutcome } from '../../core/outcome.js';
import { outcomeForAll } from '../../core/outcome.js';
import type { DeliveryContext, OutboundMessage, Transport } from '../transport.js';
import { classifySmtpError, classifySmtpReply, type SmtpErrorLike } from './classify.js';

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
    const body = message.openBody();
    const counted = new PassThrough();
    let bytesSent = 0;
    let bodyDone = false;
    let bodyError: Error | undefined;
    counted.on('data', (c: Buffer) => (bytesSent += c.length));
    counted.on('end', () => (bodyDone = true));
    body.on('error', (err) => {
      bodyError = err;
      counted.destroy(err);
    });
    body.pipe(counted);
    const send = this.mailer.sendMail({
      envelope: { from: message.sender, to: message.recipients },
      raw: counted,
    });
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new Error('delivery interrupted: the relay is shutting down'));
      ctx.signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const info = await Promise.race([send, aborted]);
      return this.perRecipient(message, info);
    } catch (err) {
      if (bodyError) {
        return outcomeForAll(message.recipients, {
          action: 'fail', category: 'spool', scope: 'message',
          response: bodyError.message,
          hint: 'The stored message could not be read; it may have been deleted from the spool.',
        });
      }
      const e = err as SmtpErrorLike;
      const afterBody = bodyDone && bytesSent > 0 && message.size > 0;
      return this.fromError(message, e, afterBody);
    } finally {
      if (onAbort) ctx.signal.removeEventListener('abort', onAbort);
      body.destroy();
    }
  }

  private perRecipient(message: OutboundMessage, info: SMTPPool.SentMessageInfo): RecipientOutcome[] {
    const rejected = new Map<string, SmtpErrorLike>();
    const errors = (info as unknown as { rejectedErrors?: SmtpErrorLike[] }).rejectedErrors ?? [];
    for (const e of errors) if (e.recipient) rejected.set(e.recipient.toLowerCase(), e);
    const rejectedList = ((info.rejected ?? []) as unknown as (string | { address: string })[]).map((r) => (typeof r === 'string' ? r : r.address).toLowerCase());
    return message.recipients.map((recipient) => {
      const key = recipient.toLowerCase();
      const err = rejected.get(key);
      if (err || rejectedList.includes(key)) {
        return { recipient, outcome: classifySmtpReply(err?.response ?? '550 recipient rejected', 'RCPT TO') };
      }
      return {
        recipient,
        outcome: { action: 'delivered', category: 'accepted', code: Number(/^\d{3}/.exec(info.response)?.[0] ?? 250), response: info.response },
      };
    });
  }

  private fromError(message: OutboundMessage, e: SmtpErrorLike, afterBody: boolean): RecipientOutcome[] {
    if (e.code === 'EENVELOPE' && e.rejectedErrors?.length) {
      // every recipient was refused, each with its own reply
      const byRcpt = new Map(e.rejectedErrors.filter((r) => r.recipient).map((r) => [r.recipient!.toLowerCase(), r]));
      return message.recipients.map((recipient) => {
        const r = byRcpt.get(recipient.toLowerCase());
        return { recipient, outcome: r ? classifySmtpReply(r.response ?? '', 'RCPT TO') : classifySmtpError(e, afterBody) };
      });
    }
    return outcomeForAll(message.recipients, classifySmtpError(e, afterBody));
  }

  async close(): Promise<void> {
    this.mailer.close();
  }
}
