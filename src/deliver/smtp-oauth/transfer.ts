/**
 * Sends one stored message over an open SMTP session and turns what
 * happened into one outcome per recipient: the raw bytes and the envelope
 * go out unchanged; a refused recipient fails or waits alone; a connection
 * lost after the whole body was written is an uncertain outcome (retry,
 * possibleDuplicate); an abort closes the session at once. Shared by the
 * smtp-oauth and direct-send transports.
 */
import { Transform } from 'node:stream';
import { domainToASCII } from 'node:url';
import { outcomeForAll, type DeliveryOutcome, type RecipientOutcome } from '../../core/outcome.js';
import type { PlaceholderValues } from '../microsoft/catalogue.js';
import type { DeliveryContext, OutboundMessage } from '../transport.js';
import { outcomeForError, outcomeForReply } from './replies.js';
import type { SmtpErrorLike, SmtpSession } from './smtp-session.js';

export interface TransferResult {
  outcomes: RecipientOutcome[];
  /** The session can carry another message (it was not broken by this one). */
  reusable: boolean;
  /** The session failed without a reply before a byte of the message went out (safe to try on a fresh connection). */
  untouched: boolean;
}

/** `names` fill the catalogue's placeholders (<mailbox>, <upstream>...) in hints and fixes. */
export async function transfer(session: SmtpSession, message: OutboundMessage, ctx: DeliveryContext, names?: PlaceholderValues): Promise<TransferResult> {
  const body = message.openBody();
  let bytesSent = 0;
  let bodyDone = false;
  let bodyError: Error | undefined;
  // Counts in the pipe itself: a 'data' listener would make the stream flow before the session reads it.
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
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error('delivery interrupted: the relay is shutting down'));
    ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const info = await Promise.race([session.send(message.sender, message.recipients, counted), aborted]);
    ctx.trace?.('accepted', { response: info.response, accepted: info.accepted.length, rejected: info.rejected.length });
    return { outcomes: perRecipient(message.recipients, info, names), reusable: true, untouched: false };
  } catch (err) {
    if (ctx.signal.aborted) {
      session.close();
      return { outcomes: outcomeForAll(message.recipients, interrupted(bytesSent > 0)), reusable: false, untouched: false };
    }
    if (bodyError) {
      session.close();
      return {
        outcomes: outcomeForAll(message.recipients, {
          action: 'fail', category: 'spool', scope: 'message', response: bodyError.message,
          hint: 'The stored message could not be read; it may have been deleted from the spool.',
        }),
        reusable: false, untouched: false,
      };
    }
    const e = err as SmtpErrorLike;
    // No reply came and no byte of the message went: the session was gone before this message used it.
    const untouched = bytesSent === 0 && !e.responseCode;
    ctx.trace?.('refused', { command: e.command, response: e.response ?? e.message });
    const refusedByReply = (e.code === 'EENVELOPE' || e.code === 'EMESSAGE') && e.responseCode !== 421 && session.usable;
    const afterBody = bodyDone && bytesSent > 0 && message.size > 0;
    if (e.code === 'EENVELOPE' && e.rejectedErrors?.length) {
      const byRcpt = new Map(e.rejectedErrors.filter((r) => r.recipient).map((r) => [addressKey(r.recipient!), r]));
      const outcomes = message.recipients.map((recipient) => {
        const r = byRcpt.get(addressKey(recipient));
        return { recipient, outcome: r?.response ? outcomeForReply(r.response, 'RCPT TO', names) : outcomeForError(e, afterBody, names) };
      });
      return { outcomes, reusable: refusedByReply, untouched };
    }
    if (!refusedByReply) session.close();
    return { outcomes: outcomeForAll(message.recipients, outcomeForError(e, afterBody, names)), reusable: refusedByReply, untouched };
  } finally {
    if (onAbort) ctx.signal.removeEventListener('abort', onAbort);
    body.destroy();
  }
}

function perRecipient(recipients: string[], info: { response: string; rejected: string[]; rejectedErrors?: SmtpErrorLike[] }, names?: PlaceholderValues): RecipientOutcome[] {
  const rejected = new Map<string, SmtpErrorLike>();
  for (const e of info.rejectedErrors ?? []) if (e.recipient) rejected.set(addressKey(e.recipient), e);
  const rejectedList = (info.rejected ?? []).map(addressKey);
  const code = Number(/^\d{3}/.exec(info.response)?.[0] ?? 250);
  return recipients.map((recipient) => {
    const key = addressKey(recipient);
    const err = rejected.get(key);
    if (err || rejectedList.includes(key)) return { recipient, outcome: outcomeForReply(err?.response ?? '550 recipient rejected', 'RCPT TO', names) };
    return { recipient, outcome: { action: 'delivered', category: 'accepted', code, response: info.response } };
  });
}

/**
 * nodemailer rewrites envelope addresses on the way out (domain lower-cased,
 * IDN to punycode, unusual local parts quoted) and reports refusals in that
 * form; both sides are compared in one form.
 */
export function addressKey(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0) return address.toLowerCase();
  let local = address.slice(0, at);
  if (/^".*"$/.test(local)) local = local.slice(1, -1).replace(/\\(.)/g, '$1');
  const domain = address.slice(at + 1).toLowerCase();
  return `${local.toLowerCase()}@${domainToASCII(domain) || domain}`;
}

/** The relay stopped during the attempt; once some of the message went out, the upstream may still take it. */
export function interrupted(sentSome: boolean): DeliveryOutcome {
  return {
    action: 'retry', scope: 'message', category: 'interrupted', response: 'delivery interrupted: the relay is shutting down',
    ...(sentSome ? { possibleDuplicate: true } : {}),
    hint: 'The relay stopped while sending; the message is tried again when it runs.',
  };
}
