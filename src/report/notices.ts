/**
 * Non-delivery notices (RFC 3464 multipart/report). A notice is a new message
 * in the spool with the null sender, addressed to the original sender when
 * that is a real mailbox, and/or to the configured admin address. Devices
 * never hear of later failures (their "send complete" means "the relay has
 * it"), so the relay owns telling people. The text part says what happened,
 * what it means and the fix (from the error catalogue), in English, Japanese
 * or both (notices.language; UTF-8, the Subject in RFC 2047 encoded words);
 * Diagnostic-Code carries the upstream's reply as received. The texts are in
 * notice-texts.ts.
 */
import libmime from 'libmime';
import { render, type Lang, type Placeholders, type Text } from '../core/i18n.js';
import type { Logger } from '../core/log.js';
import type { RecipientOutcome } from '../core/outcome.js';
import { newMessageId } from '../core/ids.js';
import { mailDate } from '../core/mail-date.js';
import { isNotifiableSender } from '../core/address.js';
import type { QueuedMessage, Store } from '../spool/store.js';
import { entryOf } from '../spool/trail-events.js';
import { notesOf, say } from '../core/trail-texts.js';
import type { FailureReporter } from '../deliver/scheduler.js';
import { NOTICE_TEXT } from './notice-texts.js';
import { LANGUAGE_SEPARATOR, languagesOf, type ReportLanguage } from './report-language.js';

export interface NoticeOptions {
  toSender: boolean;
  admin?: string;
  from?: string;
  hostname: string;
  maxLifetimeMs: number;
  /** The language of the text part and the Subject (notices.language, its default resolved once per configuration). */
  language: ReportLanguage;
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
    const { body, subject } = await this.compose(id, message, failed, reason, to, headers);
    const writer = this.store.createBody(id);
    writer.stream.end(body);
    const size = await writer.finish();
    const now = Date.now();
    await this.store.accept({
      id, receivedAt: now, expiresAt: now + this.opts.maxLifetimeMs, sender: '', recipients: to, size,
      origin: { device: null, clientIp: '127.0.0.1', listener: 'notice' },
      kind: 'notice', subject, ...notesOf([say('note.noticeAbout', { id: message.id })]),
    });
    const queued = entryOf(say('notice', { id, to: to.join(', ') }), { noticeId: id });
    await this.store.addEvent(message.id, { at: now, kind: 'notice', ...queued });
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

  private async compose(id: string, m: QueuedMessage, failed: RecipientOutcome[], reason: string, to: string[], headers: string): Promise<{ body: Buffer; subject: string }> {
    const host = this.opts.hostname;
    const from = this.opts.from ?? `MAILER-DAEMON@${host}`;
    const language = this.opts.language;
    const original = originalSubject(m.subject);
    const subject = noticeSubject(language, original);
    const text = noticeText(language, { host, id: m.id, reason, failed, subject: original });
    const perRcpt = failed.map(({ recipient, outcome }) => [
      `Final-Recipient: rfc822; ${toAscii(recipient)}`,
      'Action: failed',
      `Status: ${statusOf(outcome.enhancedCode, outcome.code, reason)}`,
      ...(outcome.response ? [`Diagnostic-Code: smtp; ${toAscii(outcome.response).slice(0, 900)}`] : []),
      `Last-Attempt-Date: ${mailDate()}`,
    ].join('\r\n')).join('\r\n\r\n');
    // nodemailer's MIME builder: the Subject as RFC 2047 encoded words, the text part in UTF-8 with a transfer encoding that keeps it 7-bit.
    // Loaded when the first notice or alert is written, not when the relay starts.
    const { default: MimeNode } = await import('nodemailer/lib/mime-node/index.js');
    const root = new MimeNode('multipart/report; report-type=delivery-status', { boundaryPrefix: '=_authrelay', textEncoding: language === 'en' ? 'Q' : 'B' });
    root.setHeader('From', `Mail Delivery System <${from}>`);
    // The admin's copy travels in the envelope only: the sender never sees the admin's address.
    root.setHeader('To', `<${to[0]}>`);
    root.setHeader('Subject', subject);
    root.setHeader('Date', mailDate());
    root.setHeader('Message-ID', `<${id}.notice@${host}>`);
    root.setHeader('Auto-Submitted', 'auto-replied');
    if (/^[\t\r\n\x20-\x7e]*$/.test(text) && text.split('\r\n').every((l) => l.length < 990)) {
      // Plain US-ASCII (English, nothing else in it) goes as it is, readable in the raw message as it always was.
      root.createChild('text/plain').setRaw(`Content-Type: text/plain; charset=us-ascii\r\n\r\n${text}`);
    } else {
      root.createChild('text/plain; charset=utf-8')
        .setHeader('Content-Transfer-Encoding', language === 'en' ? 'quoted-printable' : 'base64')
        .setContent(text);
    }
    // The machine-readable parts go out as they are (US-ASCII status fields; the original header block byte for byte).
    root.createChild('message/delivery-status').setContent([
      `Reporting-MTA: dns; ${host}`,
      `X-Authrelay-Queue-ID: ${m.id}`,
      `Arrival-Date: ${mailDate(new Date(m.receivedAt))}`,
      '',
      perRcpt,
      '',
    ].join('\r\n'));
    root.createChild('text/rfc822-headers').setRaw(Buffer.from(`Content-Type: text/rfc822-headers\r\n\r\n${headers.replace(/\r?\n/g, '\r\n').replace(/\r\n$/, '')}\r\n`, 'latin1'));
    return { body: await root.build(), subject };
  }
}

/** The original message's Subject, its encoded words decoded (a Japanese device's subject reads as Japanese); undefined when it has none. */
function originalSubject(raw: string | undefined): string | undefined {
  if (!raw?.trim()) return undefined;
  let s = raw;
  try {
    s = libmime.decodeWords(raw);
  } catch {
    // shown as it came
  }
  s = s.replace(/[\r\n\t]+/g, ' ').trim();
  return s.length > 120 ? `${s.slice(0, 119)}\u2026` : s;
}

/** The Subject: "Undelivered mail: SUBJECT", in Japanese, or "配信できなかったメール / Undelivered mail: SUBJECT" for both. */
export function noticeSubject(language: ReportLanguage, original: string | undefined): string {
  const lead = languagesOf(language).map((l) => NOTICE_TEXT.subject[l]).join(' / ');
  return original ? `${lead}: ${original}` : lead;
}

export interface NoticeFacts {
  host: string;
  /** The queue id of the failed message. */
  id: string;
  reason: string;
  failed: RecipientOutcome[];
  subject: string | undefined;
}

/** The human-readable part: one block per language (Japanese first when both), each complete on its own. */
export function noticeText(language: ReportLanguage, f: NoticeFacts): string {
  return languagesOf(language).map((lang) => noticeTextIn(lang, f)).join(LANGUAGE_SEPARATOR) + '\r\n';
}

function noticeTextIn(lang: Lang, f: NoticeFacts): string {
  const t = (text: Text, values?: Placeholders) => render(text, lang, values);
  const explain = f.failed.map(({ recipient, outcome }) =>
    [`  <${recipient}>`, `    ${t(NOTICE_TEXT.reply, { reply: oneLine(outcome.response ?? outcome.category) })}`, ...explanation(outcome, lang).map((l) => `    ${l}`)].join('\r\n')).join('\r\n\r\n');
  return [
    t(NOTICE_TEXT.intro, { host: f.host }),
    '',
    t(f.reason === 'expired' ? NOTICE_TEXT.expired : NOTICE_TEXT.rejected),
    '',
    explain,
    '',
    ...(f.failed.some(({ outcome }) => outcome.fix) ? [t(NOTICE_TEXT.forward), ''] : []),
    t(NOTICE_TEXT.queued, { id: f.id, subject: f.subject ?? t(NOTICE_TEXT.noSubject) }),
    t(NOTICE_TEXT.retry, { id: f.id }),
  ].join('\r\n');
}

/** "What it means" and "What to do" for one recipient, in one language (the catalogue's Japanese when there is one, else its English); outcomes without a fix carry one hint that says what to do. */
function explanation(o: RecipientOutcome['outcome'], lang: Lang): string[] {
  const hint = oneLine((lang === 'ja' ? o.ja?.hint : undefined) ?? o.hint);
  const fix = oneLine((lang === 'ja' ? o.ja?.fix : undefined) ?? o.fix);
  const t = (text: Text, values: Placeholders) => render(text, lang, values);
  if (!fix) return hint ? [t(NOTICE_TEXT.whatToDo, { fix: hint })] : [];
  return [
    ...(hint ? [t(NOTICE_TEXT.meaning, { hint })] : []),
    t(NOTICE_TEXT.whatToDo, { fix }),
    ...(o.ref ? [t(NOTICE_TEXT.reference, { ref: o.ref })] : []),
  ];
}

function oneLine(s: string | undefined): string | undefined {
  return s?.replace(/\s*[\r\n]+\s*/g, ' ');
}

/** US-ASCII for the delivery-status fields: common typography spelled out, anything else as "?". */
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
