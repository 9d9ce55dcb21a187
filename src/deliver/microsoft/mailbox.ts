/**
 * Which Microsoft 365 mailbox sends a message (Graph: the /users/{mailbox}
 * path; SMTP OAuth: the XOAUTH2 user). In order of precedence:
 *   1. the device's sendAs (set by device policy at acceptance),
 *   2. the route's mailbox (upstreams.NAME.mailbox),
 *   3. the message's From address (headerFrom), then the envelope sender.
 */
import type { OutboundMessage } from '../transport.js';

export interface MailboxChoice {
  mailbox: string;
  source: 'device sendAs' | 'route mailbox' | 'From header' | 'envelope sender';
}

export function chooseMailbox(message: Pick<OutboundMessage, 'sendAs' | 'headerFrom' | 'sender'>, routeMailbox: string | undefined): MailboxChoice | undefined {
  if (message.sendAs) return { mailbox: message.sendAs, source: 'device sendAs' };
  if (routeMailbox) return { mailbox: routeMailbox, source: 'route mailbox' };
  if (message.headerFrom) return { mailbox: message.headerFrom, source: 'From header' };
  if (message.sender) return { mailbox: message.sender, source: 'envelope sender' };
  return undefined;
}
