/**
 * The smtp transport: any SMTP relay (an Exchange connector, a commercial
 * relay, another MTA). nodemailer ≥ 10.0.12 sends the stored message as it
 * is (raw) with the envelope unchanged; certificate checking is on unless
 * the config turns it off; connections are pooled and reused.
 */
import { readFileSync } from 'node:fs';
import { Transform } from 'node:stream';
import { domainToASCII } from 'node:url';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { SmtpUpstreamConfig } from '../../config/schema.js';
import type { RecipientOutcome } from '../../core/outcome.js';
import { outcomeForAll, type DeliveryOutcome } from '../../core/outcome.js';
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
    const body = message.openBody();
    let bytesSent = 0;
    let bodyDone = false;
    let bodyError: Error | undefined;
    // Counts in the pipe itself: a 'data' listener would make the stream flow and the
    // bytes would be gone before nodemailer reads them.
    const counted = new Transform({
      transform(chunk: Buffer, _e, cb) {
        bytesSent += chunk.length;
        cb(null, chunk);
      },
    });
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
      if (ctx.signal.aborted) return outcomeForAll(message.recipients, interrupted(bytesSent > 0));
      return this.fromError(message, e, afterBody);
    } finally {
      if (onAbort) ctx.signal.removeEventListener('abort', onAbort);
      body.destroy();
    }
  }

  private perRecipient(message: OutboundMessage, info: SMTPPool.SentMessageInfo): RecipientOutcome[] {
    const rejected = new Map<string, SmtpErrorLike>();
    const errors = (info as unknown as { rejectedErrors?: SmtpErrorLike[] }).rejectedErrors ?? [];
    for (const e of errors) if (e.recipient) rejected.set(addressKey(e.recipient), e);
    const rejectedList = ((info.rejected ?? []) as unknown as (string | { address: string })[]).map((r) => addressKey(typeof r === 'string' ? r : r.address));
    return message.recipients.map((recipient) => {
      const key = addressKey(recipient);
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

/**
 * nodemailer rewrites envelope addresses on the way out (domain lower-cased,
 * an IDN domain turned into punycode, an unusual local part quoted), and
 * reports refused recipients in that form. Both sides are compared in one form,
 * so a refused recipient is never taken for a delivered one.
 */
function addressKey(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0) return address.toLowerCase();
  let local = address.slice(0, at);
  if (/^".*"$/.test(local)) local = local.slice(1, -1).replace(/\\(.)/g, '$1');
  const domain = address.slice(at + 1).toLowerCase();
  return `${local.toLowerCase()}@${domainToASCII(domain) || domain}`;
}

/** The relay stopped during the attempt; once some of the message went out, the upstream may still take it. */
function interrupted(sentSome: boolean): DeliveryOutcome {
  return {
    action: 'retry', scope: 'message', category: 'interrupted', response: 'delivery interrupted: the relay is shutting down',
    ...(sentSome ? { possibleDuplicate: true } : {}),
    hint: 'The relay stopped while sending; the message is tried again when it runs.',
  };
}
