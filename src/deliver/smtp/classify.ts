/**
 * What an SMTP upstream's reply or a connection error means for delivery:
 * retry or fail, caused by the message or by the destination, and a hint.
 * Classification is data (rules), in the manner of zone-mta's bounce rules.
 * Replies the Microsoft 365 error catalogue knows (Exchange Online, connector
 * relay) are explained from it first, with their fix.
 */
import type { DeliveryOutcome } from '../../core/outcome.js';
import { explainSmtp, outcomeFrom } from '../microsoft/catalogue.js';

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

/** A reply with a code: 4xx → retry, 5xx → fail; 421 and 4.4.x/4.3.2 are the destination's trouble. */
export function classifySmtpReply(response: string, command: string): DeliveryOutcome {
  const code = Number(/^\d{3}/.exec(response)?.[0] ?? 0);
  const enhanced = enhancedOf(response);
  const base = { code, response, ...(enhanced ? { enhancedCode: enhanced } : {}) };
  const known = explainSmtp(response);
  if (known) {
    const hinted = retryHintMs(response);
    return outcomeFrom(known, { ...base, ...(hinted !== undefined ? { retryAfterMs: hinted } : {}) });
  }
  if (code >= 500) {
    const category = /^5\.7\./.test(enhanced ?? '') ? 'policy' : /^5\.1\./.test(enhanced ?? '') ? 'bad-recipient' : /^5\.3\.4|^5\.2\.3/.test(enhanced ?? '') || code === 552 ? 'too-big' : 'rejected';
    return { ...base, action: 'fail', scope: 'message', category, hint: hintFor(category, command) };
  }
  const hinted = retryHintMs(response);
  const wait = hinted !== undefined ? { retryAfterMs: hinted } : {};
  if (code === 421 || /^4\.4\.|^4\.3\.2/.test(enhanced ?? '')) {
    return { ...base, ...wait, action: 'retry', scope: 'destination', category: 'unavailable', hint: 'The upstream is not accepting mail now; the relay pauses this route and tries again.' };
  }
  if (code >= 400) {
    return { ...base, ...wait, action: 'retry', scope: 'message', category: 'deferred', hint: `The upstream deferred the message at ${command}; it will be retried with backoff.` };
  }
  return { ...base, action: 'retry', scope: 'message', category: 'protocol', hint: 'Unexpected reply from the upstream.' };
}

/** "try again in 30 seconds", "retry after 5 minutes": the wait a server asks for, if it says one. */
export function retryHintMs(response: string): number | undefined {
  const m = /\b(?:try|retry)(?: again)? (?:in|after) (\d{1,5}) ?(s|secs?|seconds?|m|mins?|minutes?|h|hours?)\b/i.exec(response);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  return n * (unit.startsWith('h') ? 3_600_000 : unit.startsWith('m') ? 60_000 : 1000);
}

function hintFor(category: string, command: string): string {
  switch (category) {
    case 'policy':
      return `The upstream refused it for policy reasons at ${command} (sender not permitted, relay denied or authentication needed). Check the upstream's sender permissions and this route's credentials.`;
    case 'bad-recipient':
      return 'The upstream says the recipient address does not exist. Check the address.';
    case 'too-big':
      return "The message is larger than the upstream accepts. Lower the device's scan resolution or split size, or raise the upstream's limit.";
    default:
      return `The upstream refused the message at ${command}.`;
  }
}

const CONNECTION_CODES = new Set(['ECONNECTION', 'ESOCKET', 'ETIMEDOUT', 'EDNS', 'ETLS', 'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND', 'EPROTOCOL']);

/** An error from nodemailer (connection, TLS, auth, or a refused command). */
export function classifySmtpError(e: SmtpErrorLike, afterBody: boolean): DeliveryOutcome {
  const response = e.response ?? e.message ?? String(e.code ?? 'error');
  const known = e.response ? explainSmtp(e.response) : undefined;
  if (known && e.response) {
    const enhanced = enhancedOf(e.response);
    return outcomeFrom(known, { response: e.response, ...(e.responseCode ? { code: e.responseCode } : {}), ...(enhanced ? { enhancedCode: enhanced } : {}) });
  }
  if (e.code === 'EAUTH') {
    return {
      action: 'retry', scope: 'destination', category: 'auth', response,
      ...(e.responseCode ? { code: e.responseCode } : {}),
      hint: 'The upstream refused this route\'s credentials. Check upstreams.<name>.auth (user and password); messages wait in the queue meanwhile.',
    };
  }
  if (e.responseCode && e.response) {
    return classifySmtpReply(e.response, e.command ?? 'unknown');
  }
  if (CONNECTION_CODES.has(e.code ?? '') || CONNECTION_CODES.has(e.originalCode ?? '')) {
    const tls = e.code === 'ETLS' || /certificate|self[- ]signed|TLS|SSL/i.test(response);
    return {
      action: 'retry', scope: 'destination', category: tls ? 'tls' : 'connection', response,
      ...(afterBody ? { possibleDuplicate: true } : {}),
      hint: afterBody
        ? 'The connection was lost after the whole message was sent, before the upstream confirmed it. It will be sent again; the recipient may get it twice.'
        : tls
          ? 'TLS with the upstream failed: check the host name, its certificate, or set ca for a private CA.'
          : 'The upstream could not be reached. The relay pauses this route and tries again; check host, port and firewall if it lasts.',
    };
  }
  return { action: 'retry', scope: 'message', category: 'error', response, hint: 'Unexpected error while sending; it will be retried.' };
}
