/**
 * Alerts: a periodic check of the queue, the upstreams and the credentials,
 * plus failed messages as they fail. Each condition (e.g. "queue-depth",
 * "upstream-down:m365") raises one alert and stays quiet until it clears;
 * clearing sends a "resolved" alert. Alerts go to the log always, and to a
 * webhook and/or an e-mail to the administrator when configured. Every
 * text exists in English and Japanese (alert-texts.ts): the log and the
 * webhook's summary in English, the webhook's `ja` in Japanese, the e-mail in
 * alerts.language.
 */
import type { Config } from '../config/schema.js';
import type { RecipientOutcome } from '../core/outcome.js';
import { formatDuration } from '../core/units.js';
import type { QueuedMessage, Store } from '../spool/store.js';
import { queueStats } from './queue-stats.js';
import type { ExpiryItem } from './expiry.js';
import { renderBoth, type Text } from '../core/i18n.js';
import { ALERT_ORIGIN, postWebhook, queueAlertEmail, type Alert, type AlertCondition, type ChannelDeps } from './alert-channels.js';
import { ALERT_TEXT as T } from './alert-texts.js';
import type { ReportLanguage } from './report-language.js';

export type AlertSettings = Config['alerts'];

/** A sending mailbox's use of its daily budget (Exchange Online's recipients per day). */
export interface MailboxBudget {
  upstream: string;
  mailbox: string;
  used: number;
  limit: number;
  warnShare: number;
}

export interface AlertDeps extends Omit<ChannelDeps, 'hostname' | 'maxLifetimeMs' | 'language'> {
  /** The current configuration's alert settings, host name, queue lifetime and e-mail language (alerts.language, its default resolved once per configuration; a reload changes them). */
  current: () => { settings: AlertSettings; hostname: string; maxLifetimeMs: number; language: ReportLanguage };
  store: Store;
  /** The scheduler's view of each upstream (deliver stage's destinationStatus()). */
  destinations: () => { route: string; pausedUntil: number; failures: number; lastError?: string; fallback?: { since: number; reason: string } }[];
  expiries: () => { items: ExpiryItem[]; unreadable: string[] };
  /** The daily budgets of the mailboxes sent as (deliver stage's BudgetBook). */
  budgets?: () => Promise<MailboxBudget[]>;
  /** Told of every alert raised or resolved (metrics). */
  onAlert?: (condition: AlertCondition, status: Alert['status']) => void;
  now?: () => number;
}

export class AlertMonitor {
  private readonly active = new Map<string, Alert>();
  private readonly downSince = new Map<string, number>();
  private readonly unreadableSeen = new Set<string>();
  private readonly sending = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private readonly now: () => number;
  private interval = 0;

  constructor(private readonly d: AlertDeps) {
    this.now = d.now ?? Date.now;
  }

  start(): void {
    this.interval = this.d.current().settings.checkInterval;
    this.timer = setInterval(() => void this.check(), this.interval);
    this.timer.unref();
    void this.check();
  }

  /** Applies a new check interval after a reload (the other settings are read at every check). */
  reconfigured(): void {
    if (!this.timer || this.d.current().settings.checkInterval === this.interval) return;
    clearInterval(this.timer);
    this.start();
  }

  private channel(): ChannelDeps {
    const c = this.d.current();
    return { ...this.d, hostname: c.hostname, maxLifetimeMs: c.maxLifetimeMs, language: c.language };
  }

  /** Stops checking; alerts being posted are given up (they are in the log). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.abort.abort();
    await this.checking;
    await Promise.allSettled([...this.sending]);
  }

  /** Conditions now firing (for the console and tests). */
  firing(): Alert[] {
    return [...this.active.values()];
  }

  /** Called by the report stage when recipients of a message failed for good. */
  messageFailed(m: QueuedMessage, failed: RecipientOutcome[], reason: 'rejected' | 'expired'): void {
    if (!this.d.current().settings.failedMessages || m.origin.listener === ALERT_ORIGIN) return;
    const route = m.route ?? 'unrouted';
    const first = failed[0]?.outcome;
    const summary = renderBoth(reason === 'expired' ? T.failedExpired : T.failed, { id: m.id, route, reply: first?.response ?? first?.category ?? 'error' });
    this.raise(`failed-messages:${route}`, 'failed-messages', summary, {
      route, id: m.id, reason, recipients: failed.map((f) => f.recipient), subject: m.subject ?? '',
      category: first?.category, response: first?.response, hint: first?.hint, fix: first?.fix,
      retry: `authrelay queue retry ${m.id}`,
    }, {
      // The catalogue's Japanese when it has one; the English otherwise (an upstream's own words).
      ...(first?.hint ? { hint: { en: first.hint, ja: first.ja?.hint ?? first.hint } } : {}),
      ...(first?.fix ? { fix: { en: first.fix, ja: first.ja?.fix ?? first.fix } } : {}),
    });
  }

  /** One pass over the periodic conditions (runs every alerts.checkInterval). */
  check(): Promise<void> {
    this.checking ??= this.evaluate()
      .catch((err: unknown) => this.d.log.error({ event: 'alert-check-error', err }, 'could not check the alert conditions'))
      .finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async evaluate(): Promise<void> {
    const s = this.d.current().settings;
    const now = this.now();
    const needQueue = s.queueDepth !== undefined || s.queueAge !== undefined;
    const stats = needQueue ? await queueStats(this.d.store) : undefined;
    if (stats && s.queueDepth !== undefined) {
      if (stats.waiting > s.queueDepth) {
        this.raise('queue-depth', 'queue-depth', renderBoth(T.queueDepth, { waiting: stats.waiting, threshold: s.queueDepth }), {
          waiting: stats.waiting, threshold: s.queueDepth, byRoute: Object.fromEntries(stats.waitingByRoute),
        });
      } else this.resolve('queue-depth', renderBoth(T.queueDepthCleared, { waiting: stats.waiting }));
    }
    if (stats && s.queueAge !== undefined) {
      const age = stats.oldestWaitingAt === undefined ? 0 : now - stats.oldestWaitingAt;
      if (age > s.queueAge) {
        this.raise('queue-age', 'queue-age', renderBoth(T.queueAge, { age: formatDuration(age), threshold: formatDuration(s.queueAge) }), {
          oldestSince: new Date(stats.oldestWaitingAt!).toISOString(), threshold: formatDuration(s.queueAge),
        });
      } else this.resolve('queue-age', renderBoth(T.queueAgeCleared));
    }
    if (s.upstreamDown !== undefined) this.checkUpstreams(now, s.upstreamDown);
    this.checkFallback();
    await this.checkBudgets();
    if (s.expiryWarning !== undefined) this.checkExpiry(now, s.expiryWarning);
    for (const key of [...this.active.keys()].filter((k) => k.startsWith('failed-messages:'))) {
      const route = key.slice('failed-messages:'.length);
      const left = await this.d.store.list({ states: ['failed'], ...(route === 'unrouted' ? {} : { route }), limit: 1 });
      if (left.length === 0) this.resolve(key, renderBoth(T.failedCleared, { route }));
    }
  }

  private checkUpstreams(now: number, after: number): void {
    for (const u of this.d.destinations()) {
      const key = `upstream-down:${u.route}`;
      if (u.failures === 0) {
        this.downSince.delete(u.route);
        this.resolve(key, renderBoth(T.upstreamUp, { route: u.route }));
        continue;
      }
      const since = this.downSince.get(u.route) ?? now;
      this.downSince.set(u.route, since);
      if (now - since >= after) {
        this.raise(key, 'upstream-down', renderBoth(T.upstreamDown, { route: u.route, duration: formatDuration(now - since) }), {
          route: u.route, since: new Date(since).toISOString(), failures: u.failures, lastError: u.lastError ?? '',
          pausedUntil: new Date(u.pausedUntil).toISOString(),
        });
      }
    }
  }

  /** "Running on fallback" while an upstream cannot take mail and its messages go to the next of their route; "back on primary" when it can again. */
  private checkFallback(): void {
    const out = new Set<string>();
    for (const u of this.d.destinations()) {
      if (!u.fallback) continue;
      out.add(u.route);
      this.raise(`fallback:${u.route}`, 'fallback', renderBoth(T.fallback, { route: u.route, reason: u.fallback.reason }), {
        route: u.route, since: new Date(u.fallback.since).toISOString(), reason: u.fallback.reason,
      });
    }
    for (const key of [...this.active.keys()].filter((k) => k.startsWith('fallback:'))) {
      const route = key.slice('fallback:'.length);
      if (!out.has(route)) this.resolve(key, renderBoth(T.fallbackCleared, { route }));
    }
  }

  /** A mailbox at its warning share of the daily budget (or over it), until its last 24 hours fall below the share again. */
  private async checkBudgets(): Promise<void> {
    if (!this.d.budgets) return;
    const near = new Set<string>();
    for (const b of await this.d.budgets()) {
      if (b.used < b.warnShare * b.limit) continue;
      const key = `mailbox-budget:${b.mailbox}`;
      near.add(key);
      const pct = Math.round((b.used / b.limit) * 100);
      this.raise(key, 'mailbox-budget', renderBoth(b.used >= b.limit ? T.budgetUsed : T.budgetNear, { mailbox: b.mailbox, used: b.used, limit: b.limit, pct }), {
        mailbox: b.mailbox, upstream: b.upstream, used: b.used, limit: b.limit, share: b.warnShare,
      });
    }
    for (const key of [...this.active.keys()].filter((k) => k.startsWith('mailbox-budget:') && !near.has(k))) {
      this.resolve(key, renderBoth(T.budgetCleared, { mailbox: key.slice('mailbox-budget:'.length) }));
    }
  }

  private checkExpiry(now: number, warning: number): void {
    const { items, unreadable } = this.d.expiries();
    for (const name of unreadable) {
      if (this.unreadableSeen.has(name)) continue;
      this.unreadableSeen.add(name);
      this.d.log.warn({ event: 'expiry-unreadable', name }, `cannot read the expiry date of ${name}; check the file`);
    }
    for (const e of items) {
      const condition = e.kind === 'certificate' ? 'certificate-expiry' : 'secret-expiry';
      const key = `${condition}:${e.name}`;
      const left = e.expiresAt - now;
      const date = new Date(e.expiresAt).toISOString().slice(0, 10);
      if (left < warning) {
        const fix = renderBoth(e.kind === 'certificate' ? T.renewCertificate : T.renewSecret);
        this.raise(key, condition, left <= 0 ? renderBoth(T.expired, { name: e.name, date }) : renderBoth(T.expires, { name: e.name, left: formatDuration(left) }), {
          name: e.name, kind: e.kind, expiresAt: new Date(e.expiresAt).toISOString(), fix: fix.en,
        }, { fix });
      } else this.resolve(key, renderBoth(T.valid, { name: e.name, date }));
    }
  }

  /** summary, hint and fix in both languages; details as data (English hint and fix among them, as the webhook always had). */
  private raise(key: string, condition: AlertCondition, summary: Text, details: Record<string, unknown>, advice: { hint?: Text; fix?: Text } = {}): void {
    if (this.active.has(key)) return;
    const alert: Alert = { key, condition, status: 'firing', summary: summary.en, texts: { summary, ...advice }, details, at: this.now() };
    this.active.set(key, alert);
    this.d.log.warn({ event: 'alert', key, condition, status: 'firing' }, `alert: ${summary.en}`);
    this.send(alert);
  }

  private resolve(key: string, summary: Text): void {
    const was = this.active.get(key);
    if (!was) return;
    this.active.delete(key);
    const alert: Alert = {
      key, condition: was.condition, status: 'resolved', summary: summary.en, texts: { summary, raised: was.texts.summary },
      details: { raisedAt: new Date(was.at).toISOString(), raised: was.summary }, at: this.now(),
    };
    this.d.log.info({ event: 'alert', key, condition: was.condition, status: 'resolved' }, `resolved: ${summary.en}`);
    this.send(alert);
  }

  private send(alert: Alert): void {
    this.d.onAlert?.(alert.condition, alert.status);
    const { webhook, email } = this.d.current().settings;
    const channel = this.channel();
    const jobs: Promise<unknown>[] = [];
    if (webhook) jobs.push(postWebhook(alert, webhook, channel, this.abort.signal));
    if (email) {
      jobs.push(queueAlertEmail(alert, email, channel).catch((err: unknown) =>
        this.d.log.error({ event: 'alert-email-failed', key: alert.key, err }, `could not queue the alert e-mail for ${alert.key}`)));
    }
    const p: Promise<void> = Promise.allSettled(jobs).then(() => {
      this.sending.delete(p);
    });
    this.sending.add(p);
  }
}
