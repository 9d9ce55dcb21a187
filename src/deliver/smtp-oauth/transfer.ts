/**
 * Sends one stored message over an open SMTP session and turns what
 * happened into one outcome per recipient: the raw bytes and the envelope
 * go out unchanged (MAIL FROM declares BODY=8BITMIME, SIZE and SMTPUTF8
 * where they apply and the upstream offers them; a message that needs
 * SMTPUTF8 is not sent to an upstream without it); a refused recipient
 * fails or waits alone; a connection
 * lost after the whole body was written is an uncertain outcome (retry,
 * possibleDuplicate); an abort closes the session at once. A session that
 * cannot carry another message is closed here. Shared by the smtp-oauth
 * and direct-send transports.
 */
import { outcomeForAll, type DeliveryOutcome, type RecipientOutcome } from '../../core/outcome.js';
import { CountedBody, interrupted, unreadableBody, untilAborted } from '../body-transfer.js';
import { explainGeneric, outcomeFrom, type PlaceholderValues } from '../microsoft/catalogue.js';
import { asciiDomain, prepareMessage, smtpUtf8Addresses, type PreparedMessage } from '../smtp/mail-params.js';
import { addressKey, perRecipient } from '../smtp/recipients.js';
import type { DeliveryContext, OutboundMessage } from '../transport.js';
import { outcomeForError, outcomeForReply } from './replies.js';
import type { SmtpErrorLike, SmtpSession } from './smtp-session.js';

export interface TransferResult {
  outcomes: RecipientOutcome[];
  /** The session can carry another message (it was not broken by this one); otherwise it has been closed. */
  reusable: boolean;
  /** The session failed without a reply before a byte of the message went out (safe to try on a fresh connection). */
  untouched: boolean;
  /** The server's reply to the end of the data, when it took the message (Exchange names the message's id in it). */
  response?: string;
}

/** `names` fill the catalogue's placeholders (<mailbox>, <upstream>...) in hints and fixes. */
export async function transfer(session: SmtpSession, stored: OutboundMessage, ctx: DeliveryContext, names?: PlaceholderValues): Promise<TransferResult> {
  const utf8 = smtpUtf8Addresses(stored);
  if (utf8.length && !session.offers('SMTPUTF8')) {
    // Nothing was sent: the session stays good for the next message.
    ctx.trace?.('refused', { reason: 'SMTPUTF8 not offered', addresses: utf8 });
    return { outcomes: outcomeForAll(stored.recipients, smtpUtf8NotOffered(utf8, names)), reusable: true, untouched: false };
  }
  let prepared: PreparedMessage;
  let body: CountedBody;
  try {
    prepared = await prepareMessage(stored);
    body = new CountedBody(prepared.message);
  } catch (err) {
    // Nothing was sent: the session stays good for the next message.
    return { outcomes: outcomeForAll(stored.recipients, unreadableBody(err as Error)), reusable: true, untouched: false };
  }
  const message = prepared.message;
  try {
    const recipients = message.recipients.map(asciiDomain);
    const params = { eightBit: message.eightBit, ...(message.size > 0 ? { size: message.size } : {}) };
    const info = await untilAborted(session.send(asciiDomain(message.sender), recipients, body.stream, params), ctx.signal);
    ctx.trace?.('accepted', { response: info.response, accepted: info.accepted.length, rejected: info.rejected.length });
    return {
      outcomes: perRecipient(message.recipients, info, (r) => outcomeForReply(r, 'RCPT TO', names)), reusable: true, untouched: false,
      ...(info.response ? { response: info.response } : {}),
    };
  } catch (err) {
    if (ctx.signal.aborted) {
      session.close();
      return { outcomes: outcomeForAll(message.recipients, interrupted(body.sent > 0)), reusable: false, untouched: false };
    }
    if (body.error) {
      session.close();
      return { outcomes: outcomeForAll(message.recipients, unreadableBody(body.error)), reusable: false, untouched: false };
    }
    const e = err as SmtpErrorLike;
    // No reply came and no byte of the message went: the session was gone before this message used it.
    const untouched = body.sent === 0 && !e.responseCode;
    ctx.trace?.('refused', { command: e.command, response: e.response ?? e.message });
    const refusedByReply = (e.code === 'EENVELOPE' || e.code === 'EMESSAGE') && e.responseCode !== 421 && session.usable;
    if (!refusedByReply) session.close();
    if (e.code === 'EENVELOPE' && e.rejectedErrors?.length) {
      const byRcpt = new Map(e.rejectedErrors.filter((r) => r.recipient).map((r) => [addressKey(r.recipient!), r]));
      const outcomes = message.recipients.map((recipient) => {
        const r = byRcpt.get(addressKey(recipient));
        return { recipient, outcome: r?.response ? outcomeForReply(r.response, 'RCPT TO', names) : outcomeForError(e, body.afterBody, names) };
      });
      return { outcomes, reusable: refusedByReply, untouched };
    }
    return { outcomes: outcomeForAll(message.recipients, outcomeForError(e, body.afterBody, names)), reusable: refusedByReply, untouched };
  } finally {
    body.close();
    prepared.release();
  }
}

/** The message needs SMTPUTF8 and the upstream does not offer it: it is not sent (never garbled). */
export function smtpUtf8NotOffered(addresses: string[], names?: PlaceholderValues): DeliveryOutcome {
  const response = `the upstream does not offer SMTPUTF8, which ${addresses.join(', ')} ${addresses.length > 1 ? 'need' : 'needs'}`;
  const e = explainGeneric({ command: 'MAIL FROM', error: 'ESMTPUTF8', response }, names);
  return e ? outcomeFrom(e, { response }) : { action: 'fail', scope: 'message', category: 'smtputf8', response };
}
