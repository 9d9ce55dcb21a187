/**
 * What a Microsoft 365 SMTP reply or a session error means for delivery.
 * The error catalogue (deliver/microsoft/catalogue.ts) explains the replies
 * Microsoft is known to give (535 5.7.3, 535 5.7.139, 554 5.2.252 SendAsDenied,
 * 554 5.2.0 SubmissionQuotaExceeded, 550 5.7.68 RejectDirectSend, ...) with a
 * hint, a fix and, where it matters, a wait; anything it does not know is
 * classified like any SMTP reply (smtp/classify.ts). Shared by the smtp-oauth
 * and direct-send transports.
 */
import type { DeliveryOutcome } from '../../core/outcome.js';
import { explainSmtp, fillPlaceholders, outcomeFrom, type PlaceholderValues } from '../microsoft/catalogue.js';
import { classifySmtpError, classifySmtpReply, enhancedOf, type SmtpErrorLike } from '../smtp/classify.js';

const XOAUTH2_FIX = 'Check in Entra admin center that the app <appId> has the Office 365 Exchange Online application permission SMTP.SendAsApp with admin consent; in Exchange Online PowerShell that its service principal exists (New-ServicePrincipal) with FullAccess to <mailbox> (Add-MailboxPermission), and that SMTP AUTH is on for <mailbox> (Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false).';

/** A reply to a command (MAIL, RCPT, DATA, AUTH...), explained by the catalogue when it knows it. */
export function outcomeForReply(response: string, command: string, ctx?: PlaceholderValues): DeliveryOutcome {
  const explained = explainSmtp(response, ctx);
  if (!explained) return classifySmtpReply(response, command, ctx);
  const code = Number(/^\d{3}/.exec(response)?.[0] ?? 0);
  const enhanced = enhancedOf(response);
  return outcomeFrom(explained, { ...(code ? { code } : {}), ...(enhanced ? { enhancedCode: enhanced } : {}), response });
}

/**
 * An error from a session step. An AUTH refusal the catalogue knows (535 5.7.3,
 * 535 5.7.139 ...) is decided by the catalogue: Microsoft refused for a
 * permission or a setting, so the message fails with the fix, to be retried
 * with `authrelay queue retry --failed` once fixed. An AUTH refusal it does not
 * know pauses the route and the messages wait. Other replies go through
 * outcomeForReply; connection and TLS failures through the generic classifier.
 */
export function outcomeForError(e: SmtpErrorLike, afterBody: boolean, ctx?: PlaceholderValues): DeliveryOutcome {
  if (e.code === 'EAUTH') {
    const response = e.response ?? e.message ?? 'authentication failed';
    // Only Microsoft's own explanations decide here; a generic 535 would name the wrong setting.
    const microsoft = e.response ? explainSmtp(e.response, ctx) : undefined;
    const enhanced = e.response ? enhancedOf(e.response) : undefined;
    const reply = { response, ...(e.responseCode ? { code: e.responseCode } : {}), ...(enhanced ? { enhancedCode: enhanced } : {}) };
    if (microsoft) return outcomeFrom(microsoft, reply);
    return {
      ...reply,
      action: 'retry',
      scope: 'destination',
      category: 'auth',
      hint: 'Microsoft 365 refused the sign-in (AUTH XOAUTH2). Check the app permission SMTP.SendAsApp, the service principal in Exchange and that SMTP AUTH is enabled for the mailbox; messages wait meanwhile.',
      fix: fillPlaceholders(XOAUTH2_FIX, ctx),
    };
  }
  if (e.responseCode && e.response && !isConnectionCode(e.code)) {
    // The server answered: whatever it said, the outcome is known (no duplicate possible).
    return outcomeForReply(e.response, e.command ?? 'unknown', ctx);
  }
  const o = classifySmtpError(e, afterBody, ctx);
  // A connection closed with a reply as its last words (421 4.7.66 ...) is explained too.
  const ex = e.response && e.responseCode ? explainSmtp(e.response, ctx) : undefined;
  return ex ? { ...o, category: ex.category, hint: ex.hint, fix: ex.fix, ref: ex.ref } : o;
}

function isConnectionCode(code: string | undefined): boolean {
  return code === 'ECONNECTION' || code === 'ETIMEDOUT' || code === 'ESOCKET' || code === 'ETLS';
}
