/**
 * What an SMTP upstream's reply or a connection error means for delivery:
 * retry or fail, caused by the message or by the destination, and a hint.
 * Classification is data: the error catalogue's rows, in the manner of
 * zone-mta's bounce rules. Replies of Exchange Online (connector relay,
 * SMTP AUTH) are explained first, then those of any SMTP server and the
 * failures without a reply, each with its fix.
 */
import type { DeliveryOutcome } from '../../core/outcome.js';
import { explainGeneric, explainSmtp, fillPlaceholders, outcomeFrom, type PlaceholderValues } from '../microsoft/catalogue.js';

export interface SmtpErrorLike {
  code?: string;
  originalCode?: string;
  response?: string;
  responseCode?: number;
  command?: string;
  recipient?: string;
  message?: string;
  rejectedErrors?: SmtpErrorLike[];
}

/** The enhanced status code (RFC 3463) of a reply, e.g. "5.7.139". */
export function enhancedOf(response: string): string | undefined {
  return /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(response)?.[1];
}

/**
 * A reply with a code, explained: first by the Exchange Online entries, then
 * by the entries for any SMTP server (4xx retry, 5xx fail, 421 and 4.4.x
 * pause the route; each with what it means and what to do). `ctx` fills the
 * fix's placeholders (<upstream>, <mailbox>...).
 */
export function classifySmtpReply(response: string, command: string, ctx?: PlaceholderValues): DeliveryOutcome {
  const code = Number(/^\d{3}/.exec(response)?.[0] ?? 0);
  const enhanced = enhancedOf(response);
  const hinted = retryHintMs(response);
  const reply = { code, response, ...(enhanced ? { enhancedCode: enhanced } : {}), ...(hinted !== undefined ? { retryAfterMs: hinted } : {}) };
  const known = explainSmtp(response, ctx) ?? explainGeneric({ command, response }, ctx);
  if (known) return outcomeFrom(known, reply);
  return {
    code, response, ...(enhanced ? { enhancedCode: enhanced } : {}), action: 'retry', scope: 'message', category: 'protocol',
    hint: `Unexpected reply from the upstream at ${command}.`,
    fix: fillPlaceholders(SEE_STEPS, ctx),
  };
}

/** "try again in 30 seconds", "retry after 5 minutes": the wait a server asks for, if it says one. */
export function retryHintMs(response: string): number | undefined {
  const m = /\b(?:try|retry)(?: again)? (?:in|after) (\d{1,5}) ?(s|secs?|seconds?|m|mins?|minutes?|h|hours?)\b/i.exec(response);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  return n * (unit.startsWith('h') ? 3_600_000 : unit.startsWith('m') ? 60_000 : 1000);
}

const SEE_STEPS = 'Run authrelay send-test --route <upstream> --to <address> to see each step of the conversation; if it repeats, report it with the reply.';

const CONNECTION_CODES = new Set(['ECONNECTION', 'ESOCKET', 'ETIMEDOUT', 'EDNS', 'ETLS', 'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND', 'EPROTOCOL']);

/** An error from nodemailer (connection, TLS, auth, or a refused command); `afterBody`: the whole message had been written. */
export function classifySmtpError(e: SmtpErrorLike, afterBody: boolean, ctx?: PlaceholderValues): DeliveryOutcome {
  const response = e.response ?? e.message ?? String(e.code ?? 'error');
  const microsoft = e.response ? explainSmtp(e.response, ctx) : undefined;
  if (microsoft && e.response) {
    const enhanced = enhancedOf(e.response);
    return outcomeFrom(microsoft, { response: e.response, ...(e.responseCode ? { code: e.responseCode } : {}), ...(enhanced ? { enhancedCode: enhanced } : {}) });
  }
  if (e.responseCode && e.response) {
    const o = classifySmtpReply(e.response, e.command ?? 'unknown', ctx);
    // A refused sign-in is the route's trouble whatever the code says: its messages wait.
    return e.code === 'EAUTH' ? { ...o, action: 'retry', scope: 'destination', category: 'auth' } : o;
  }
  const connectionLost = CONNECTION_CODES.has(e.code ?? '') || CONNECTION_CODES.has(e.originalCode ?? '');
  if (afterBody && connectionLost) {
    return {
      action: 'retry', scope: 'destination', category: 'connection', response, possibleDuplicate: true,
      hint: 'The connection was lost after the whole message was sent, before the upstream confirmed it. It will be sent again; the recipient may get it twice.',
      fix: 'Nothing to do if it is rare (look in the recipient\'s mailbox before sending it again by hand). If it repeats, look in the upstream\'s log for a time limit after the end of the message.',
    };
  }
  const known = explainGeneric({ command: e.command, response, error: e.code }, ctx)
    ?? (e.originalCode ? explainGeneric({ command: e.command, response, error: e.originalCode }, ctx) : undefined);
  if (known) return outcomeFrom(known, { response });
  return {
    action: 'retry', scope: 'message', category: 'error', response,
    hint: 'Unexpected error while sending; it will be retried.',
    fix: fillPlaceholders(SEE_STEPS, ctx),
  };
}
