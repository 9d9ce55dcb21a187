/**
 * Where alerts go: a JSON POST to a webhook (with a timeout and retries)
 * and/or an e-mail queued through the relay's own spool, like non-delivery
 * notices. An alert carries names, counts, dates and the upstream's reply;
 * never a password, token, secret or webhook header. The webhook URL may
 * hold a token (chat webhooks do), so logs show only its origin.
 *
 * Languages: the webhook JSON keeps its English fields (summary, details) and
 * always adds `ja: { summary, hint?, fix?, raised? }` with the same texts in
 * Japanese; the e-mail is written in alerts.language (en, ja or both,
 * Japanese first), UTF-8 with the Subject in RFC 2047 encoded words.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { HttpClient } from '../core/http.js';
import type { Logger } from '../core/log.js';
import { newMessageId } from '../core/ids.js';
import { mailDate } from '../core/mail-date.js';
import type { Store } from '../spool/store.js';
import { render, type Lang, type Text } from '../core/i18n.js';
import { notesOf, say } from '../core/trail-texts.js';
import { ALERT_MAIL_TEXT as M } from './alert-texts.js';
import { LANGUAGE_SEPARATOR, languagesOf, type ReportLanguage } from './report-language.js';

export type AlertCondition = 'failed-messages' | 'queue-depth' | 'queue-age' | 'upstream-down' | 'fallback' | 'mailbox-budget' | 'certificate-expiry' | 'secret-expiry';

export interface Alert {
  /** The condition and what it is about, e.g. "upstream-down:m365"; one alert per key until it clears. */
  key: string;
  condition: AlertCondition;
  status: 'firing' | 'resolved';
  /** In English (the log line and the webhook's summary). */
  summary: string;
  /** What a person reads, in both languages: the summary, what it means and what to do, and for a resolved alert what was raised. */
  texts: AlertTexts;
  details: Record<string, unknown>;
  at: number;
}

export interface AlertTexts {
  summary: Text;
  hint?: Text;
  fix?: Text;
  raised?: Text;
}

export interface WebhookSettings {
  url: string;
  headers: Readonly<Record<string, string>>;
  timeout: number;
  retries: number;
}

export interface EmailSettings {
  to: readonly string[];
  from?: string | undefined;
}

export interface ChannelDeps {
  hostname: string;
  log: Logger;
  http: HttpClient;
  store: Store;
  maxLifetimeMs: number;
  /** The language of alert e-mails (alerts.language, its default resolved once per configuration). */
  language: ReportLanguage;
  /** Tells the scheduler a message was queued. */
  wake: () => void;
  /** Pause before the n-th retry of a webhook POST (default 1s, 2s, 4s...). */
  retryDelayMs?: (n: number) => number;
}

/** The JSON document POSTed to the webhook: the English fields as they always were, and `ja` with the texts in Japanese. */
export function webhookPayload(alert: Alert, hostname: string): Record<string, unknown> {
  const t = alert.texts;
  return {
    source: 'authrelay', host: hostname, status: alert.status, condition: alert.condition, key: alert.key,
    summary: alert.summary, details: alert.details, at: new Date(alert.at).toISOString(),
    ja: { summary: t.summary.ja, ...(t.hint ? { hint: t.hint.ja } : {}), ...(t.fix ? { fix: t.fix.ja } : {}), ...(t.raised ? { raised: t.raised.ja } : {}) },
  };
}

export async function postWebhook(alert: Alert, hook: WebhookSettings, deps: ChannelDeps, signal: AbortSignal): Promise<boolean> {
  const body = JSON.stringify(webhookPayload(alert, deps.hostname));
  const where = originOf(hook.url);
  const delay = deps.retryDelayMs ?? ((n: number) => 1000 * 2 ** (n - 1));
  for (let attempt = 0; attempt <= hook.retries; attempt++) {
    if (attempt > 0) {
      try {
        await sleep(delay(attempt), undefined, { signal });
      } catch {
        return false;
      }
    }
    try {
      const res = await deps.http.request({
        method: 'POST', url: hook.url, body, signal, timeoutMs: hook.timeout,
        headers: { 'content-type': 'application/json', 'user-agent': 'authrelay-alerts', ...hook.headers },
      });
      if (res.status >= 200 && res.status < 300) return true;
      deps.log.warn({ event: 'alert-webhook-failed', webhook: where, key: alert.key, status: res.status, attempt: attempt + 1 }, `alert webhook ${where} answered HTTP ${res.status}`);
    } catch (err) {
      if (signal.aborted) return false;
      deps.log.warn({ event: 'alert-webhook-failed', webhook: where, key: alert.key, error: (err as Error).message, attempt: attempt + 1 }, `alert webhook ${where} could not be reached: ${(err as Error).message}`);
    }
  }
  deps.log.error({ event: 'alert-webhook-gave-up', webhook: where, key: alert.key }, `gave up posting alert ${alert.key} to ${where}`);
  return false;
}

/** Queues the alert as an e-mail (null sender: a failure of it never causes a notice). Returns its queue id. */
export async function queueAlertEmail(alert: Alert, email: EmailSettings, deps: ChannelDeps): Promise<string> {
  const id = newMessageId();
  const from = email.from ?? `authrelay@${deps.hostname}`;
  const { subject, text } = alertEmail(alert, deps.hostname, deps.language);
  // nodemailer's MIME builder: the Subject as RFC 2047 encoded words, the text in UTF-8 with a transfer encoding that keeps it 7-bit.
  // Loaded when the first notice or alert is written, not when the relay starts.
  const { default: MimeNode } = await import('nodemailer/lib/mime-node/index.js');
  const mail = new MimeNode('text/plain; charset=utf-8', { textEncoding: deps.language === 'en' ? 'Q' : 'B' });
  mail.setHeader('From', `authrelay alerts <${from}>`);
  mail.setHeader('To', email.to.map((t) => `<${t}>`).join(', '));
  mail.setHeader('Subject', subject);
  mail.setHeader('Date', mailDate());
  mail.setHeader('Message-ID', `<${id}.alert@${deps.hostname}>`);
  mail.setHeader('Auto-Submitted', 'auto-generated');
  if (/[^\t\r\n\x20-\x7e]/.test(text)) mail.setHeader('Content-Transfer-Encoding', deps.language === 'en' ? 'quoted-printable' : 'base64');
  mail.setContent(text);
  const writer = deps.store.createBody(id);
  writer.stream.end(await mail.build());
  const size = await writer.finish();
  const now = Date.now();
  await deps.store.accept({
    id, receivedAt: now, expiresAt: now + deps.maxLifetimeMs, sender: '', recipients: [...email.to], size,
    origin: { device: null, clientIp: '127.0.0.1', listener: ALERT_ORIGIN }, kind: 'notice', subject,
    ...notesOf([say('note.alert', { key: alert.key, status: say(alert.status === 'firing' ? 'alertStatus.firing' : 'alertStatus.resolved') })]),
  });
  deps.log.info({ event: 'state', id, state: 'incoming', kind: 'alert', key: alert.key, recipients: email.to.length }, `alert e-mail ${id} queued for ${alert.key}`);
  deps.wake();
  return id;
}

/** The Subject and the text of an alert e-mail: one block per language (Japanese first when both), then the details as data. */
export function alertEmail(alert: Alert, hostname: string, language: ReportLanguage): { subject: string; text: string } {
  const langs = languagesOf(language);
  const firing = alert.status === 'firing';
  // Each language's summary kept to 160 characters, so that both stay readable in a list of messages.
  const subject = langs.map((l) => render(firing ? M.subjectFiring : M.subjectResolved, l, { summary: clip(oneLine(alert.texts.summary[l]), 160) }))
    .join(' / ').replace(/ \/ \[authrelay\] /, ' / ');
  const blocks = langs.map((l) => alertBlock(alert, hostname, l));
  // hint, fix and raised are in the blocks above, in the reader's language.
  const data = Object.entries(alert.details).filter(([k]) => !['hint', 'fix', 'raised'].includes(k))
    .map(([k, v]) => wrap(`${k}: ${oneLine(typeof v === 'string' ? v : JSON.stringify(v) ?? '')}`));
  return { subject, text: `${blocks.join(LANGUAGE_SEPARATOR)}${data.length ? `\r\n\r\n${data.join('\r\n')}` : ''}\r\n` };
}

function alertBlock(alert: Alert, hostname: string, lang: Lang): string {
  const t = alert.texts;
  const firing = alert.status === 'firing';
  return [
    render(firing ? M.headFiring : M.headResolved, lang, { host: hostname }),
    '',
    wrap(oneLine(t.summary[lang])),
    ...(t.hint ? [wrap(render(M.meaning, lang, { hint: oneLine(t.hint[lang]) }))] : []),
    ...(t.fix ? [wrap(render(M.whatToDo, lang, { fix: oneLine(t.fix[lang]) }))] : []),
    ...(t.raised ? [wrap(render(M.raised, lang, { summary: oneLine(t.raised[lang]), at: String(alert.details.raisedAt ?? '') }))] : []),
    '',
    render(M.condition, lang, { key: alert.key }),
    render(M.time, lang, { time: new Date(alert.at).toISOString() }),
    ...(firing ? [render(M.once, lang)] : []),
  ].join('\r\n');
}

/** The origin recorded on alert e-mails; failures of those never raise an alert themselves. */
export const ALERT_ORIGIN = 'alert';

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

function oneLine(s: string): string {
  return s.replace(/[\r\n\t]+/g, ' ');
}

function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}\u2026` : s;
}

/** Lines stay well under the 998-byte limit before they are encoded (a reader that shows the decoded text may still care). */
function wrap(line: string, width = 900): string {
  const parts: string[] = [];
  for (let i = 0; i < line.length; i += width) parts.push(line.slice(i, i + width));
  return parts.join('\r\n') || '';
}
