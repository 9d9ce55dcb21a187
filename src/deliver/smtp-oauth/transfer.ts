/**
 * Sends one stored message over an open SMTP session and turns what
 * happened into one outcome per recipient: the raw bytes and the envelope
 * go out unchanged; a refused recipient fails or waits alone; a connection
 * lost after the whole body was written is an uncertain outcome (retry,
 * possibleDuplicate); an abort closes the session at once. A session that
 * cannot carry another message is closed here. Shared by the smtp-oauth
 * and direct-send transports.
 */
import { outcomeForAll, type RecipientOutcome } from '../../core/outcome.js';
import { CountedBody, interrupted, unreadableBody, untilAborted } from '../body-transfer.js';
import type { PlaceholderValues } from '../microsoft/catalogue.js';
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
}

/** `names` fill the catalogue's placeholders (<mailbox>, <upstream>...) in hints and fixes. */
export async function transfer(session: SmtpSession, message: OutboundMessage, ctx: DeliveryContext, names?: PlaceholderValues): Promise<TransferResult> {
  let body: CountedBody;
  try {
    body = new CountedBody(message);
  } catch (err) {
    // Nothing was sent: the session stays good for the next message.
    return { outcomes: outcomeForAll(message.recipients, unreadableBody(err as Error)), reusable: true, untouched: false };
  }
  try {
    const info = await untilAborted(session.send(message.sender, message.recipients, body.stream), ctx.signal);
    ctx.trace?.('accepted', { response: info.response, accepted: info.accepted.length, rejected: info.rejected.length });
    return { outcomes: perRecipient(message.recipients, info, (r) => outcomeForReply(r, 'RCPT TO', names)), reusable: true, untouched: false };
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
  }
}
