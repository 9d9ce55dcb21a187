/**
 * The smtp.office365.com:587 policy: AUTH only after STARTTLS (504 5.7.4
 * before), XOAUTH2 with Microsoft's checks (token signature, expiry and
 * audience; SMTP.SendAsApp for app tokens, SMTP.Send and the user's right
 * to the mailbox for delegated ones; licence and SMTP AUTH enabled), basic
 * AUTH LOGIN refused (535 5.7.139), MAIL without AUTH 530 5.7.57, and after
 * DATA: Send As (554 5.2.252), the per-mailbox sender thread limit (432
 * 4.3.2), the message rate and daily recipient quotas (554 5.2.0). A
 * message taken is saved in the mailbox's Sent Items (mail-items.ts) under
 * the message id the 250 reply names.
 */
import type { EmulatorContext } from './context.js';
import type { SmtpPolicy, SmtpSession } from './smtp-session.js';
import { R } from './smtp-replies.js';
import { EXCHANGE_AUDIENCES, principalOf } from './tokens.js';
import { headerFields, mimeFrom } from './mime.js';
import { randomBytes } from 'node:crypto';

interface Usage {
  /** Open authenticated connections. */
  connections: number;
  peak: number;
  /** Submission times (last minute) and recipient counts (last day). */
  messages: number[];
}

export class SubmissionPolicy implements SmtpPolicy {
  readonly mode = 'submission' as const;
  readonly usage = new Map<string, Usage>();

  constructor(private readonly ctx: EmulatorContext) {}

  private use(mailbox: string): Usage {
    const key = mailbox.toLowerCase();
    let u = this.usage.get(key);
    if (!u) this.usage.set(key, (u = { connections: 0, peak: 0, messages: [] }));
    return u;
  }

  async auth(s: SmtpSession, mechanism: string, initial: string | undefined): Promise<string> {
    if (!s.tls) return R.authUnrecognized(this.mode);
    if (s.auth) return '503 5.5.2 Already authenticated';
    if (mechanism === 'LOGIN') {
      if (!initial) await s.ask('334 VXNlcm5hbWU6');
      await s.ask('334 UGFzc3dvcmQ6');
      return R.basicDisabled(this.mode);
    }
    if (mechanism !== 'XOAUTH2') return R.authUnrecognized(this.mode);
    const blob = initial && initial !== '=' ? initial : await s.ask('334 ');
    if (blob === '*') return '501 5.0.0 Authentication canceled';
    return this.xoauth2(s, Buffer.from(blob, 'base64').toString('utf8'));
  }

  private xoauth2(s: SmtpSession, decoded: string): string {
    // user=<mailbox>^Aauth=Bearer <token>^A^A
    const parts = decoded.split('\u0001');
    const user = parts[0]?.startsWith('user=') ? parts[0].slice(5) : '';
    const token = parts[1]?.startsWith('auth=Bearer ') ? parts[1].slice(12) : '';
    if (parts.length !== 4 || parts[2] !== '' || parts[3] !== '' || !user || !token) return R.authFailed(this.mode);
    const check = this.ctx.minter.check(token, EXCHANGE_AUDIENCES);
    if (!check.ok) return R.authFailed(this.mode);
    const p = principalOf(check.claims);
    if (p.user) {
      if (!p.permissions.some((x) => x.toLowerCase() === 'smtp.send')) return R.authFailed(this.mode);
    } else if (!p.permissions.includes('SMTP.SendAsApp')) {
      return R.authFailed(this.mode);
    }
    const mbx = this.ctx.state.findMailbox(user);
    if (!mbx || mbx.tenantId !== p.tenantId) return R.authFailed(this.mode);
    if (p.user && !this.ctx.state.maySendAs(p.user, mbx.address, p.clientId)) return R.authFailed(this.mode);
    if (!mbx.licensed) return R.criteriaNotMet(this.mode);
    if (mbx.smtpAuthDisabled) return R.smtpAuthDisabled(this.mode);
    s.auth = { mailbox: mbx.address, tenantId: mbx.tenantId, clientId: p.clientId, principal: p.user ?? p.clientId };
    const u = this.use(mbx.address);
    u.connections += 1;
    u.peak = Math.max(u.peak, u.connections);
    return R.authOk;
  }

  mail(s: SmtpSession): string {
    if (!s.auth) return R.notAuthenticated(this.mode);
    return R.senderOk;
  }

  rcpt(s: SmtpSession): string {
    if (s.rcpts.length >= this.ctx.state.smtpRecipientsPerMessage) return R.tooManyRecipients;
    return R.recipientOk;
  }

  async accept(s: SmtpSession, data: Buffer): Promise<string> {
    const a = s.auth!;
    const state = this.ctx.state;
    const mbx = state.findMailbox(a.mailbox);
    if (!mbx) return R.authFailed(this.mode);
    if (data.length > mbx.maxMessageSize) return R.tooBig(this.mode);
    const from = mimeFrom(data);
    if (from && !state.maySendAs(a.mailbox, from, a.clientId)) return R.sendAsDenied(a.mailbox, from);
    const u = this.use(a.mailbox);
    if (u.connections > state.smtpConcurrentConnections) return R.threadLimit();
    const now = Date.now();
    u.messages = u.messages.filter((t) => t > now - 60_000);
    if (u.messages.length >= state.smtpMessagesPerMinute || !state.submitRecipients(a.mailbox, s.rcpts.length, now)) return R.quota();
    u.messages.push(now);
    const sent = {
      at: now, via: 'smtp' as const, tenantId: a.tenantId, mailbox: a.mailbox, principal: a.principal,
      envelope: { from: s.from ?? '', to: [...s.rcpts] }, recipients: [...s.rcpts], mime: data, attachments: [],
    };
    state.sentMessages.push(sent);
    // Exchange saves what a mailbox submits by SMTP AUTH in its Sent Items, under the id the reply names.
    const id = messageId(data);
    state.mail.fileSent(sent, id, now);
    return R.queued(id);
  }

  closed(s: SmtpSession): void {
    if (s.auth) this.use(s.auth.mailbox).connections -= 1;
  }

  /** Highest number of connections authenticated as this mailbox at once. */
  peak(mailbox: string): number {
    return this.usage.get(mailbox.toLowerCase())?.peak ?? 0;
  }

  resetCounters(): void {
    for (const u of this.usage.values()) {
      u.peak = u.connections;
      u.messages = [];
    }
    this.ctx.state.resetDaily();
  }
}

/** The message's Message-ID, or one Exchange would assign. */
export function messageId(data: Buffer): string {
  const field = headerFields(data).find((f) => f.name.toLowerCase() === 'message-id');
  const m = field ? /<[^>]+>/.exec(field.value) : null;
  return m ? m[0] : `<${randomBytes(16).toString('hex').toUpperCase()}@SN4PR05MB1234.namprd05.prod.outlook.com>`;
}
