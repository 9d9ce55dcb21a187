/**
 * Alerts: a periodic check of the queue, the upstreams and the credentials,
 * plus failed messages as they fail. Each condition (e.g. "queue-depth",
 * "upstream-down:m365") raises one alert and stays quiet until it clears;
 * clearing sends a "resolved" alert. Alerts go to the log always, and to a
 * webhook and/or an e-mail to the administrator when configured.
 */
import type { Config } from '../config/schema.js';
import type { RecipientOutcome } from '../core/outcome.js';
import { formatDuration } from '../core/units.js';
import type { QueuedMessage, Store } from '../spool/store.js';
import { queueStats } from './queue-stats.js';
import type { ExpiryItem } from './expiry.js';
import { ALERT_ORIGIN, postWebhook, queueAlertEmail, type Alert, type AlertCondition, type ChannelDeps } from './alert-channels.js';

export type AlertSettings = Config['alerts'];

/** A sending mailbox's use of its daily budget (Exchange Online's recipients per day). */
export interface MailboxBudget {
  upstream: string;
  mailbox: string;
  used: number;
  limit: number;
  warnShare: number;
}

export interface AlertDeps extends Omit<ChannelDeps, 'hostname' | 'maxLifetimeMs'> {
  /** The current configuration's alert settings, host name and queue lifetime (a reload changes them). */
  current: () => { settings: AlertSettings; hostname: string; maxLifetimeMs: number };
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
    return { ...this.d, hostname: c.hostname, maxLifetimeMs: c.maxLifetimeMs };
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
    this.raise(`failed-messages:${route}`, 'failed-messages', `message ${m.id} failed via ${route}${reason === 'expired' ? ' (expired)' : ''}: ${first?.response ?? first?.category ?? 'error'}`, {
      route, id: m.id, reason, recipients: failed.map((f) => f.recipient), subject: m.subject ?? '',
      category: first?.category, response: first?.response, hint: first?.hint, fix: first?.fix,
      retry: `authrelay queue retry ${m.id}`,
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
        this.raise('queue-depth', 'queue-depth', `${stats.waiting} messages are waiting (more than ${s.queueDepth})`, {
          waiting: stats.waiting, threshold: s.queueDepth, byRoute: Object.fromEntries(stats.waitingByRoute),
        });
      } else this.resolve('queue-depth', `${stats.waiting} messages are waiting`);
    }
    if (stats && s.queueAge !== undefined) {
      const age = stats.oldestWaitingAt === undefined ? 0 : now - stats.oldestWaitingAt;
      if (age > s.queueAge) {
        this.raise('queue-age', 'queue-age', `a message has been waiting for ${formatDuration(age)} (more than ${formatDuration(s.queueAge)})`, {
          oldestSince: new Date(stats.oldestWaitingAt!).toISOString(), threshold: formatDuration(s.queueAge),
        });
      } else this.resolve('queue-age', 'no message has been waiting too long');
    }
    if (s.upstreamDown !== undefined) this.checkUpstreams(now, s.upstreamDown);
    this.checkFallback();
    await this.checkBudgets();
    if (s.expiryWarning !== undefined) this.checkExpiry(now, s.expiryWarning);
    for (const key of [...this.active.keys()].filter((k) => k.startsWith('failed-messages:'))) {
      const route = key.slice('failed-messages:'.length);
      const left = await this.d.store.list({ states: ['failed'], ...(route === 'unrouted' ? {} : { route }), limit: 1 });
      if (left.length === 0) this.resolve(key, `no failed message is left on ${route}`);
    }
  }

  private checkUpstreams(now: number, after: number): void {
    for (const u of this.d.destinations()) {
      const key = `upstream-down:${u.route}`;
      if (u.failures === 0) {
        this.downSince.delete(u.route);
        this.resolve(key, `upstream ${u.route} is reachable again`);
        continue;
      }
      const since = this.downSince.get(u.route) ?? now;
      this.downSince.set(u.route, since);
      if (now - since >= after) {
        this.raise(key, 'upstream-down', `upstream ${u.route} has been unavailable for ${formatDuration(now - since)}`, {
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
      this.raise(`fallback:${u.route}`, 'fallback', `running on fallback: ${u.route} cannot take mail (${u.fallback.reason}); messages go to the next upstream of their route`, {
        route: u.route, since: new Date(u.fallback.since).toISOString(), reason: u.fallback.reason,
      });
    }
    for (const key of [...this.active.keys()].filter((k) => k.startsWith('fallback:'))) {
      const route = key.slice('fallback:'.length);
      if (!out.has(route)) this.resolve(key, `back on primary: ${route} takes mail again`);
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
      this.raise(key, 'mailbox-budget', b.used >= b.limit
        ? `${b.mailbox} has used its daily budget (${b.used} of ${b.limit} recipients in the last 24 hours): its messages wait, or go to the next upstream of their route`
        : `${b.mailbox} has used ${pct} % of its daily budget (${b.used} of ${b.limit} recipients in the last 24 hours)`, {
        mailbox: b.mailbox, upstream: b.upstream, used: b.used, limit: b.limit, share: b.warnShare,
      });
    }
    for (const key of [...this.active.keys()].filter((k) => k.startsWith('mailbox-budget:') && !near.has(k))) {
      this.resolve(key, `${key.slice('mailbox-budget:'.length)} is below its daily budget warning again`);
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
      if (left < warning) {
        this.raise(key, condition, left <= 0 ? `${e.name} expired on ${new Date(e.expiresAt).toISOString().slice(0, 10)}` : `${e.name} expires in ${formatDuration(left)}`, {
          name: e.name, kind: e.kind, expiresAt: new Date(e.expiresAt).toISOString(),
          fix: e.kind === 'certificate' ? 'Renew the certificate, replace the file and restart the relay' : 'Make a new client secret in Entra ID, put it in the config with its new expiry date, restart the relay',
        });
      } else this.resolve(key, `${e.name} is valid until ${new Date(e.expiresAt).toISOString().slice(0, 10)}`);
    }
  }

  private raise(key: string, condition: AlertCondition, summary: string, details: Record<string, unknown>): void {
    if (this.active.has(key)) return;
    const alert: Alert = { key, condition, status: 'firing', summary, details, at: this.now() };
    this.active.set(key, alert);
    this.d.log.warn({ event: 'alert', key, condition, status: 'firing' }, `alert: ${summary}`);
    this.send(alert);
  }

  private resolve(key: string, summary: string): void {
    const was = this.active.get(key);
    if (!was) return;
    this.active.delete(key);
    const alert: Alert = { key, condition: was.condition, status: 'resolved', summary, details: { raisedAt: new Date(was.at).toISOString(), raised: was.summary }, at: this.now() };
    this.d.log.info({ event: 'alert', key, condition: was.condition, status: 'resolved' }, `resolved: ${summary}`);
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
