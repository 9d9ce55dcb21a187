/**
 * A stored message handed to nodemailer's SMTP pool as it is, without
 * nodemailer's message builder.
 *
 * `sendMail({ raw })` builds a MIME tree around the raw stream before the
 * pool sees it: a random boundary (`randomBytes`), the envelope's addresses
 * parsed again, and a read stream joined with `stream.pipeline` (whose end
 * makes an AbortError with a stack trace). None of it changes a byte of a raw
 * message, and it was about a tenth of the main process's CPU per message
 * under load (docs/benchmarks.md, "Where a message's work goes"). The pool
 * takes a message through nodemailer's transport interface, `send(mail,
 * callback)`, and reads only this of it: the envelope, the Message-ID that
 * names it in logs and answers, and the stream of its bytes. Those are given
 * here directly. The bytes on the wire are the same: the pool's connection
 * ends the data with CRLF and a dot whatever the last byte
 * (test/deliver/smtp-wire.test.ts compares them with what the upstream received).
 */
import { Readable } from 'node:stream';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import type MailMessage from 'nodemailer/lib/mailer/mail-message.js';
import type { SentInfo } from './recipients.js';

export interface RawEnvelope {
  from: string;
  to: string[];
  use8BitMime?: boolean;
  size?: number;
}

/** Sends `stream` with `envelope` over one of the pool's connections; resolves with the upstream's answer. */
export function sendRaw(pool: SMTPPool, envelope: RawEnvelope, stream: Readable, messageId: string): Promise<SentInfo> {
  // The pool reads the stream once a connection is free: a read error before then is kept (as nodemailer's
  // builder keeps it) and given to the connection as the stream it reads, which then fails the message.
  let early: Error | undefined;
  const keep = (err: Error) => (early = err);
  stream.once('error', keep);
  const message = {
    // The pool adds to the envelope it is given (DSN, REQUIRETLS): a copy each time.
    getEnvelope: () => ({ ...envelope, to: [...envelope.to] }),
    messageId: () => messageId,
    getHeader: (key: string) => (key.toLowerCase() === 'message-id' ? messageId : undefined),
    createReadStream: (): Readable => {
      stream.removeListener('error', keep);
      if (!early) return stream;
      const failed = new Readable({ read: () => undefined });
      const err = early;
      process.nextTick(() => failed.destroy(err));
      return failed;
    },
  };
  const mail = { data: {}, message } as unknown as MailMessage<SMTPPool.SentMessageInfo>;
  return new Promise((resolve, reject) => {
    pool.send(mail, (err, info) => (err ? reject(err) : resolve(info as unknown as SentInfo)));
  });
}
