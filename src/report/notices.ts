/**
 * Non-delivery notices (RFC 3464 multipart/report). A notice is a new message
 * in the spool with the null sender, addressed to the original sender when
 * that is a real mailbox, and/or to the configured admin address. Devices
 * never hear of later failures (their "send complete" means "the relay has
 * it"), so the relay owns telling people. The text part says what happened,
 * what it means and the fix (from the error catalogue); Diagnostic-Code
 * carries the upstream's reply as received.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../core/log.js';
import type { RecipientOutcome } from '../core/outcome.js';
import { newMessageId } from '../core/ids.js';
import { mailDate } from '../core/mail-date.js';
import { isNotifiableSender } from '../core/address.js';
import type { QueuedMessage, Store } from '../spool/store.js';
import type { FailureReporter } from '../deliver/scheduler.js';

export interface NoticeOptions {
  toSender: boolean;
  admin?: string;
  from?: string;
  hostname: string;
  maxLifetimeMs: number;
}

export class NonDeliveryNotices implements FailureReporter {
  constructor(
    private readonly store: Store,
    /** The current configuration's settings (a reload changes them). */
    private readonly options: () => NoticeOptions,
    private readonly log: Logger,
    private readonly onQueued: (id: string) => void,
  ) {}

  private get opts(): NoticeOptions {
    return this.options();
  }

  async failed(message: QueuedMessage, failed: RecipientOutcome[], reason: 'rejected' | 'expired'): Promise<void> {
    if (message.kind === 'notice' || message.sender === '') {
      // Mail with the null sender never causes a notice, not even to the admin, so notices cannot loop (RFC 5321, 4.5.5).
      this.log.warn({ event: 'notice-skipped', id: message.id }, `${message.id} failed; it is itself a notice or has no sender, so no notice is sent about it`);
      return;
    }
    const to: string[] = [];
    if (this.opts.toSender && isNotifiableSender(message.sender)) to.push(message.sender);
    if (this.opts.admin && !to.some((t) => t.toLowerCase() === this.opts.admin!.toLowerCase())) to.push(this.opts.admin);
    if (to.length === 0) {
      this.log.warn({ event: 'notice-skipped', id: message.id }, `${message.id} failed; no notice sent (sender ${message.sender || '<>'} is not a mailbox and notices.admin is not set)`);
      return;
    }
    const id = newMessageId();
    const headers = await this.originalHeaders(message);
    const body = this.compose(id, message, failed, reason, to, headers);
    const writer = this.store.createBody(id);
    writer.stream.end(body);
    const size = await writer.finish();
    const now = Date.now();
    await this.store.accept({
      id, receivedAt: now, expiresAt: now + this.opts.maxLifetimeMs, sender: '', recipients: to, size,
      origin: { device: null, clientIp: '127.0.0.1', listener: 'notice' },
      kind: 'notice', subject: `Undelivered Mail Returned to Sender`, notes: [`non-delivery notice for ${message.id}`],
    });
    await this.store.addEvent(message.id, { at: now, kind: 'notice', text: `non-delivery notice ${id} queued for ${to.join(', ')}`, data: { noticeId: id } });
    this.log.info({ event: 'state', id, state: 'incoming', kind: 'notice', about: message.id, recipients: to.length }, `non-delivery notice ${id} queued about ${message.id}`);
    this.onQueued(id);
  }

  private async originalHeaders(m: QueuedMessage): Promise<string> {
    try {
      const stream = m.bodyId ? this.store.openBody(m.bodyId) : undefined;
      if (!stream) return '';
      const chunks: Buffer[] = [];
      let length = 0;
      for await (const c of stream) {
        chunks.push(c as Buffer);
        length += (c as Buffer).length;
        const all = Buffer.concat(chunks);
        const end = all.indexOf('\r\n\r\n');
        if (end >= 0 || length > 64 * 1024) {
          stream.destroy();
          return all.subarray(0, end >= 0 ? end + 2 : 64 * 1024).toString('latin1');
        }
      }
      return Buffer.concat(chunks).toString('latin1');
    } catch {
      return '';
    }
  }

  private compose(id: string, m: QueuedMessage, failed: RecipientOutcome[], reason: string, to: string[], headers: string): Buffer {
    const host = this.opts.hostname;
    const from = this.opts.from ?? `MAILER-DAEMON@${host}`;
    const boundary = `=_authrelay_${randomBytes(8).toString('hex')}`;
    const ascii = (s: string) => toAscii(s);
    const lines = (s: string) => s.replace(/\r?\n/g, '\r\n');
    const explain = failed.map(({ recipient, outcome }) =>
      [`  <${ascii(recipient)}>`, `    Reply: ${ascii(outcome.response ?? outcome.category)}`, ...explanation(outcome).map((l) => `    ${ascii(l)}`)].join('\r\n')).join('\r\n\r\n');
    const text = [
      `This is the authrelay mail relay at ${host}.`,
      '',
      reason === 'expired'
        ? 'Your message could not be delivered within the time the relay keeps trying, and it has been given up for these recipients:'
        : 'Your message was refused for these recipients and will not be retried:',
      '',
      explain,
      '',
      ...(failed.some(({ outcome }) => outcome.fix)
        ? ['If you are not the one who manages this relay or your Microsoft 365 organisation, forward this notice to your IT contact: the fix above is for them.', '']
        : []),
      `Queue ID: ${m.id}. Subject: ${ascii(m.subject ?? '(none)')}.`,
      'The administrator can retry it with: authrelay queue retry ' + m.id,
    ].join('\r\n');
    const perRcpt = failed.map(({ recipient, outcome }) => [
      `Final-Recipient: rfc822; ${ascii(recipient)}`,
      'Action: failed',
      `Status: ${statusOf(outcome.enhancedCode, outcome.code, reason)}`,
      ...(outcome.response ? [`Diagnostic-Code: smtp; ${ascii(outcome.response).slice(0, 900)}`] : []),
      `Last-Attempt-Date: ${mailDate()}`,
    ].join('\r\n')).join('\r\n\r\n');
    const msg = [
      `From: Mail Delivery System <${from}>`,
      // The admin's copy travels in the envelope only: the sender never sees the admin's address.
      `To: <${to[0]}>`,
      'Subject: Undelivered Mail Returned to Sender',
      `Date: ${mailDate()}`,
      `Message-ID: <${id}.notice@${host}>`,
      'Auto-Submitted: auto-replied',
      'MIME-Version: 1.0',
      `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=us-ascii',
      '',
      text,
      '',
      `--${boundary}`,
      'Content-Type: message/delivery-status',
      '',
      `Reporting-MTA: dns; ${host}`,
      `X-Authrelay-Queue-ID: ${m.id}`,
      `Arrival-Date: ${mailDate(new Date(m.receivedAt))}`,
      '',
      perRcpt,
      '',
      `--${boundary}`,
      'Content-Type: text/rfc822-headers',
      '',
      lines(headers).replace(/\r\n$/, ''),
      '',
      `--${boundary}--`,
      '',
    ].join('\r\n');
    return Buffer.from(msg, 'latin1');
  }
}

/** "What it means" and "What to do" for one recipient; outcomes without a fix carry one hint that says what to do. */
function explanation(o: RecipientOutcome['outcome']): string[] {
  if (!o.fix) return o.hint ? [`What to do: ${o.hint}`] : [];
  return [
    ...(o.hint ? [`What it means: ${o.hint}`] : []),
    `What to do: ${o.fix}`,
    ...(o.ref ? [`Reference: ${o.ref} (authrelay docs/errors.md)`] : []),
  ];
}

/** US-ASCII for the text part: common typography spelled out, anything else as "?". */
function toAscii(s: string): string {
  return s
    .replace(/\u2192/g, '->')
    .replace(/\u2026/g, '...')
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/[\u2013\u2014]/g, '-')
    .replace(/[^\x20-\x7e]/g, '?');
}

function statusOf(enhanced: string | undefined, code: number | undefined, reason: string): string {
  if (enhanced && /^5\./.test(enhanced)) return enhanced;
  if (reason === 'expired') return '4.4.7';
  if (code && code >= 500) return '5.0.0';
  return '5.0.0';
}
