/**
 * Where alerts go: a JSON POST to a webhook (with a timeout and retries)
 * and/or an e-mail queued through the relay's own spool, like non-delivery
 * notices. An alert carries names, counts, dates and the upstream's reply;
 * never a password, token, secret or webhook header. The webhook URL may
 * hold a token (chat webhooks do), so logs show only its origin.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { HttpClient } from '../core/http.js';
import type { Logger } from '../core/log.js';
import { newMessageId } from '../core/ids.js';
import { mailDate } from '../core/mail-date.js';
import type { Store } from '../spool/store.js';

export type AlertCondition = 'failed-messages' | 'queue-depth' | 'queue-age' | 'upstream-down' | 'fallback' | 'mailbox-budget' | 'certificate-expiry' | 'secret-expiry';

export interface Alert {
  /** The condition and what it is about, e.g. "upstream-down:m365"; one alert per key until it clears. */
  key: string;
  condition: AlertCondition;
  status: 'firing' | 'resolved';
  summary: string;
  details: Record<string, unknown>;
  at: number;
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
  /** Tells the scheduler a message was queued. */
  wake: () => void;
  /** Pause before the n-th retry of a webhook POST (default 1s, 2s, 4s...). */
  retryDelayMs?: (n: number) => number;
}

/** The JSON document POSTed to the webhook. */
export function webhookPayload(alert: Alert, hostname: string): Record<string, unknown> {
  return {
    source: 'authrelay', host: hostname, status: alert.status, condition: alert.condition, key: alert.key,
    summary: alert.summary, details: alert.details, at: new Date(alert.at).toISOString(),
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
  const subject = ascii(`[authrelay] ${alert.status === 'firing' ? 'ALERT' : 'RESOLVED'}: ${alert.summary}`).slice(0, 200);
  const lines = [
    alert.status === 'firing' ? `The mail relay ${deps.hostname} needs attention:` : `Resolved on the mail relay ${deps.hostname}:`,
    '',
    alert.summary,
    '',
    ...Object.entries(alert.details).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`),
    '',
    `Condition: ${alert.key}`,
    `Time: ${new Date(alert.at).toISOString()}`,
    alert.status === 'firing' ? 'You get one message for this condition until it clears.' : '',
  ].map((l) => wrap(ascii(l))).join('\r\n');
  const msg = [
    `From: authrelay alerts <${from}>`,
    `To: ${email.to.map((t) => `<${t}>`).join(', ')}`,
    `Subject: ${subject}`,
    `Date: ${mailDate()}`,
    `Message-ID: <${id}.alert@${deps.hostname}>`,
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    lines,
    '',
  ].join('\r\n');
  const writer = deps.store.createBody(id);
  writer.stream.end(Buffer.from(msg, 'latin1'));
  const size = await writer.finish();
  const now = Date.now();
  await deps.store.accept({
    id, receivedAt: now, expiresAt: now + deps.maxLifetimeMs, sender: '', recipients: [...email.to], size,
    origin: { device: null, clientIp: '127.0.0.1', listener: ALERT_ORIGIN }, kind: 'notice', subject, notes: [`alert ${alert.key} (${alert.status})`],
  });
  deps.log.info({ event: 'state', id, state: 'incoming', kind: 'alert', key: alert.key, recipients: email.to.length }, `alert e-mail ${id} queued for ${alert.key}`);
  deps.wake();
  return id;
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

function ascii(s: string): string {
  return s.replace(/[\r\n\t]+/g, ' ').replace(/[^\x20-\x7e]/g, '?');
}

/** Lines of a mail body stay well under the 998-byte limit. */
function wrap(line: string, width = 900): string {
  const parts: string[] = [];
  for (let i = 0; i < line.length; i += width) parts.push(line.slice(i, i + width));
  return parts.join('\r\n') || '';
}
