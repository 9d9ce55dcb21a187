/**
 * The port 25 policy (<domain>.mail.protection.outlook.com): Direct Send.
 * No AUTH (504 5.7.4), STARTTLS offered but optional, recipients only in a
 * tenant's accepted domains (550 5.7.64 TenantAttribution otherwise) and
 * with a mailbox there (550 5.4.1), and a tenant with RejectDirectSend
 * refuses anonymous mail whose MAIL FROM domain is one of its accepted
 * domains (550 5.7.68). Accepted mail is recorded with its envelope.
 */
import type { EmulatorContext } from './context.js';
import type { SmtpPolicy, SmtpSession } from './smtp-session.js';
import { R } from './smtp-replies.js';
import { messageId } from './smtp-submission.js';

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

export class DirectSendPolicy implements SmtpPolicy {
  readonly mode = 'direct-send' as const;

  constructor(private readonly ctx: EmulatorContext) {}

  async auth(): Promise<string> {
    return R.authUnrecognized(this.mode);
  }

  mail(): string {
    return R.senderOk;
  }

  rcpt(s: SmtpSession, to: string): string {
    const tenant = this.ctx.state.tenantOfDomain(domainOf(to));
    if (!tenant) return R.relayDenied(this.mode);
    if (tenant.rejectDirectSend && s.from && tenant.domains.some((d) => d.toLowerCase() === domainOf(s.from!))) return R.directSendRejected(this.mode);
    const mbx = this.ctx.state.findMailbox(to);
    if (!mbx || mbx.tenantId !== tenant.id) return R.recipientRejected(this.mode);
    return R.recipientOk;
  }

  async accept(s: SmtpSession, data: Buffer): Promise<string> {
    const tenant = this.ctx.state.tenantOfDomain(domainOf(s.rcpts[0]!));
    this.ctx.state.sentMessages.push({
      at: Date.now(), via: 'direct-send', tenantId: tenant?.id ?? '',
      envelope: { from: s.from ?? '', to: [...s.rcpts] }, recipients: [...s.rcpts], mime: data, attachments: [],
    });
    return R.queued(messageId(data));
  }

  closed(): void {}
}
