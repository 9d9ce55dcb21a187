/**
 * An SMTP client's answer matched back to the envelope, one outcome per
 * recipient. The client reports refused recipients as it sent them (an IDN
 * domain in punycode) and an upstream may answer with another case or
 * quoting; both sides are compared in one form, so a refused recipient is
 * never taken for a delivered one. Shared by the smtp, smtp-oauth and direct-send transports.
 */
import { domainToASCII } from 'node:url';
import type { DeliveryOutcome, RecipientOutcome } from '../../core/outcome.js';
import type { SmtpErrorLike } from './classify.js';

export function addressKey(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0) return address.toLowerCase();
  let local = address.slice(0, at);
  if (/^".*"$/.test(local)) local = local.slice(1, -1).replace(/\\(.)/g, '$1');
  const domain = address.slice(at + 1).toLowerCase();
  return `${local.toLowerCase()}@${domainToASCII(domain) || domain}`;
}

/** What a client reports for an accepted transaction (nodemailer's pool gives addresses as objects). */
export interface SentInfo {
  response: string;
  rejected?: (string | { address: string })[];
  rejectedErrors?: SmtpErrorLike[];
}

/** Delivered, unless the recipient was refused: then `refused` tells what its RCPT reply means. */
export function perRecipient(recipients: string[], info: SentInfo, refused: (response: string) => DeliveryOutcome): RecipientOutcome[] {
  const rejected = new Map<string, SmtpErrorLike>();
  for (const e of info.rejectedErrors ?? []) if (e.recipient) rejected.set(addressKey(e.recipient), e);
  const rejectedList = (info.rejected ?? []).map((r) => addressKey(typeof r === 'string' ? r : r.address));
  const code = Number(/^\d{3}/.exec(info.response)?.[0] ?? 250);
  return recipients.map((recipient) => {
    const key = addressKey(recipient);
    const err = rejected.get(key);
    if (err || rejectedList.includes(key)) return { recipient, outcome: refused(err?.response ?? '550 recipient rejected') };
    return { recipient, outcome: { action: 'delivered', category: 'accepted', code, response: info.response } };
  });
}
