/**
 * Prometheus metrics (prom-client). Counters move as the stages report
 * events through the Telemetry hooks; the queue, the upstreams' health, the
 * token requests and the credential expiry dates are read when /metrics is
 * scraped, from the spool and the public status functions of the stages.
 * Labels hold only bounded values from the config and the protocols
 * (listener, route, TLS version, reply code), never addresses or secrets.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AttemptReport, Telemetry } from '../core/telemetry.js';
import { MESSAGE_STATES, type Store } from '../spool/store.js';
import { queueStats, type QueueStats } from './queue-stats.js';
import type { ExpiryItem } from './expiry.js';
import type { ProxyTelemetry } from '../proxy/common/types.js';

/** What is read at scrape time; set once the stages exist. */
export interface MetricsSources {
  store: Store;
  /** The scheduler's view of each upstream (deliver stage's destinationStatus()). */
  destinations: () => { route: string; inflight: number; pausedUntil: number; failures: number; fallback?: { since: number; reason: string } }[];
  /** Token providers made so far, with the number of requests each made to Entra ID. */
  tokens: () => { requests: number; upstreams: string[] }[];
  /** Credentials with a known expiry date. */
  expiries: () => ExpiryItem[];
  /** The daily budgets of the mailboxes sent as, per upstream. */
  budgets?: () => Promise<{ upstream: string; used: number; limit: number }[]>;
  now?: () => number;
}

/** Result of an attempt as a whole, in the precedence the scheduler uses for the message's new state. */
export function attemptResult(actions: readonly string[]): 'deferred' | 'held' | 'failed' | 'delivered' {
  if (actions.includes('retry')) return 'deferred';
  if (actions.includes('hold')) return 'held';
  if (actions.includes('fail')) return 'failed';
  return 'delivered';
}

export class RelayMetrics implements Telemetry {
  readonly registry = new Registry();
  private sources: MetricsSources | undefined;
  private snapshot: { at: number; stats: Promise<QueueStats> } | undefined;

  private readonly accepted: Counter;
  private readonly tlsSessions: Counter;
  private readonly authFailures: Counter;
  private readonly refusals: Counter;
  private readonly attempts: Counter;
  private readonly replies: Counter;
  private readonly latency: Histogram;
  private readonly alerts: Counter;
  private readonly draftCleanups: Counter;
  private readonly sentItemsCleanups: Counter;
  private readonly readerSessions: Counter;
  private readonly readerFailures: Counter;
  private readonly readerBytes: Counter;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.accepted = new Counter({ name: 'authrelay_messages_accepted_total', help: 'Messages accepted from devices (answered 250), by listener and TLS version ("none" for plain SMTP)', labelNames: ['listener', 'tls'], registers });
    this.tlsSessions = new Counter({ name: 'authrelay_tls_sessions_total', help: 'TLS sessions set up by devices, by listener and TLS version', labelNames: ['listener', 'version'], registers });
    this.authFailures = new Counter({ name: 'authrelay_auth_failures_total', help: 'Failed device logins, by listener and mechanism; locked_out="true" when the answer was the lockout', labelNames: ['listener', 'mechanism', 'locked_out'], registers });
    this.refusals = new Counter({ name: 'authrelay_smtp_refusals_total', help: 'SMTP commands and connections refused, by listener and reply code', labelNames: ['listener', 'code'], registers });
    this.attempts = new Counter({ name: 'authrelay_delivery_attempts_total', help: 'Delivery attempts by route and result (delivered, deferred, held, failed)', labelNames: ['route', 'type', 'result'], registers });
    this.replies = new Counter({ name: 'authrelay_upstream_replies_total', help: "Upstream answers per recipient: action, category and the upstream's reply code (SMTP or HTTP; \"none\" when no reply came)", labelNames: ['route', 'action', 'category', 'code'], registers });
    this.latency = new Histogram({ name: 'authrelay_upstream_duration_seconds', help: 'Time one delivery attempt took, by route', labelNames: ['route', 'type'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300], registers });
    this.alerts = new Counter({ name: 'authrelay_alerts_total', help: 'Alerts raised and resolved, by condition', labelNames: ['condition', 'status'], registers });
    this.draftCleanups = new Counter({
      name: 'authrelay_graph_draft_cleanups_total', registers, labelNames: ['route', 'result'],
      help: 'Graph drafts of large messages cleaned up, by route and result: deleted (a failed attempt\'s own draft), orphan-deleted (left by an earlier attempt, found and deleted), gone (already deleted), kept (its send may have happened), failed (could not be deleted), search-failed (the Drafts folder could not be searched)',
    });
    this.sentItemsCleanups = new Counter({
      name: 'authrelay_sent_items_cleanups_total', registers, labelNames: ['route', 'result'],
      help: 'Copies of sent messages deleted from Sent Items (sentItems: delete), by route and result: deleted, not-found (no copy appeared in time), denied (Graph refused: Mail.ReadWrite missing), failed (errors until the last try), dropped (the queue was full), abandoned (the relay stopped first), no-message-id (nothing to look for)',
    });
    this.readerSessions = new Counter({
      name: 'authrelay_reader_sessions_total', registers, labelNames: ['listener', 'protocol', 'result'],
      help: 'IMAP/POP3 logins of legacy readers, by listener, protocol and result: connected (a connection reached the session), logged-in (the mailbox was opened), refused (wrong password, unknown name, mailbox not allowed), locked-out, upstream-refused (the mailbox server or Entra refused; the fix is in the log), upstream-unavailable (try again later)',
    });
    this.readerFailures = new Counter({ name: 'authrelay_reader_upstream_failures_total', help: 'IMAP/POP3 logins the mailbox server or Entra ID refused, by listener, protocol and kind (role-missing, no-permission, not-connected, protocol-disabled, throttled, unreachable, token-failed, ...)', labelNames: ['listener', 'protocol', 'kind'], registers });
    this.readerBytes = new Counter({ name: 'authrelay_reader_bytes_total', help: 'Bytes relayed by IMAP/POP3 sessions after login, counted when a session ends, by listener, protocol and direction (to-client, to-server)', labelNames: ['listener', 'protocol', 'direction'], registers });

    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the collect callbacks are called with the metric as `this`
    const self = this;
    const stats = () => this.queueSnapshot();
    new Gauge({
      name: 'authrelay_messages', help: 'Messages in the spool by state', labelNames: ['state'], registers,
      collect: async function (this: Gauge) {
        const s = await stats();
        if (s) for (const state of MESSAGE_STATES) this.set({ state }, s.byState[state]);
      },
    });
    new Gauge({
      name: 'authrelay_queue_waiting', help: 'Messages accepted and not finished (incoming, active, deferred), by route', labelNames: ['route'], registers,
      collect: async function (this: Gauge) {
        const s = await stats();
        this.reset();
        if (s) for (const [route, n] of s.waitingByRoute) this.set({ route }, n);
      },
    });
    new Gauge({
      name: 'authrelay_queue_oldest_age_seconds', help: 'Age of the oldest waiting message (0 when nothing waits)', registers,
      collect: async function (this: Gauge) {
        const s = await stats();
        if (s) this.set(s.oldestWaitingAt === undefined ? 0 : Math.max(0, (self.now() - s.oldestWaitingAt) / 1000));
      },
    });
    new Gauge({
      name: 'authrelay_upstream_up', help: '1 while the route is available, 0 while it is paused after the upstream could not be reached or refused the relay', labelNames: ['route'], registers,
      collect: function (this: Gauge) {
        this.reset();
        for (const d of self.sources?.destinations() ?? []) this.set({ route: d.route }, d.failures > 0 && d.pausedUntil > self.now() ? 0 : 1);
      },
    });
    new Gauge({
      name: 'authrelay_upstream_fallback', help: '1 while the upstream cannot take mail and the messages of routes listing another go there (running on fallback), else 0', labelNames: ['route'], registers,
      collect: function (this: Gauge) {
        this.reset();
        for (const d of self.sources?.destinations() ?? []) this.set({ route: d.route }, d.fallback ? 1 : 0);
      },
    });
    new Gauge({
      name: 'authrelay_mailbox_budget_used_ratio',
      help: "Share of its daily recipient budget (recipientsPerDay) used in the last 24 hours by the busiest mailbox the upstream sends as (1: its messages wait or go to a fallback)",
      labelNames: ['upstream'], registers,
      collect: async function (this: Gauge) {
        this.reset();
        const top = new Map<string, number>();
        for (const b of (await self.sources?.budgets?.().catch(() => [])) ?? []) top.set(b.upstream, Math.max(top.get(b.upstream) ?? 0, b.used / b.limit));
        for (const [upstream, ratio] of top) this.set({ upstream }, Math.round(ratio * 1000) / 1000);
      },
    });
    new Gauge({
      name: 'authrelay_upstream_inflight', help: 'Messages being delivered now, by route', labelNames: ['route'], registers,
      collect: function (this: Gauge) {
        this.reset();
        for (const d of self.sources?.destinations() ?? []) this.set({ route: d.route }, d.inflight);
      },
    });
    new Counter({
      name: 'authrelay_token_requests_total', help: 'Token requests made to Entra ID (refreshes), by the upstreams sharing the token', labelNames: ['upstreams'], registers,
      collect: function (this: Counter) {
        this.reset();
        for (const t of self.sources?.tokens() ?? []) this.inc({ upstreams: t.upstreams.join(',') }, t.requests);
      },
    });
    new Gauge({
      name: 'authrelay_credential_expiry_timestamp_seconds', help: 'When a certificate or client secret expires (Unix time)', labelNames: ['kind', 'name'], registers,
      collect: function (this: Gauge) {
        this.reset();
        for (const e of self.sources?.expiries() ?? []) if (Number.isFinite(e.expiresAt)) this.set({ kind: e.kind, name: e.name }, Math.floor(e.expiresAt / 1000));
      },
    });
  }

  /** Connects the scrape-time readings once the stages are built. */
  observe(sources: MetricsSources): void {
    this.sources = sources;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  now(): number {
    return this.sources?.now?.() ?? Date.now();
  }

  tlsEstablished(listener: string, version: string): void {
    this.tlsSessions.inc({ listener, version });
  }

  messageAccepted(listener: string, tlsVersion: string | undefined): void {
    this.accepted.inc({ listener, tls: tlsVersion ?? 'none' });
  }

  authFailure(listener: string, mechanism: string, lockedOut: boolean): void {
    this.authFailures.inc({ listener, mechanism, locked_out: String(lockedOut) });
  }

  refused(listener: string, code: number): void {
    this.refusals.inc({ listener, code: String(code) });
  }

  attempt(r: AttemptReport): void {
    this.attempts.inc({ route: r.route, type: r.type, result: attemptResult(r.outcomes.map((o) => o.action)) });
    this.latency.observe({ route: r.route, type: r.type }, r.durationMs / 1000);
    for (const o of r.outcomes) this.replies.inc({ route: r.route, action: o.action, category: o.category, code: o.code === undefined ? 'none' : String(o.code) });
  }

  alert(condition: string, status: 'firing' | 'resolved'): void {
    this.alerts.inc({ condition, status });
  }

  /** One clean-up step of a Graph draft (see deliver/graph/graph-cleanup.ts for the results). */
  draftCleanup(route: string, result: string): void {
    this.draftCleanups.inc({ route, result });
  }

  /** One Sent Items clean-up (see deliver/microsoft/sent-items.ts for the results). */
  sentItemsCleanup(route: string, result: string): void {
    this.sentItemsCleanups.inc({ route, result });
  }

  /** The IMAP/POP3 proxy's hooks (legacy readers). */
  readonly readers: ProxyTelemetry = {
    connected: (listener, protocol) => this.readerSessions.inc({ listener, protocol, result: 'connected' }),
    tlsEstablished: (listener, version) => this.tlsSessions.inc({ listener, version }),
    loginRefused: (listener, protocol, reason) => this.readerSessions.inc({ listener, protocol, result: reason === 'locked-out' ? 'locked-out' : 'refused' }),
    loggedIn: (listener, protocol) => this.readerSessions.inc({ listener, protocol, result: 'logged-in' }),
    upstreamFailed: (listener, protocol, kind, info) => {
      this.readerFailures.inc({ listener, protocol, kind });
      this.readerSessions.inc({ listener, protocol, result: info?.temporary ? 'upstream-unavailable' : 'upstream-refused' });
    },
    sessionEnded: (listener, protocol, bytes) => {
      this.readerBytes.inc({ listener, protocol, direction: 'to-client' }, bytes.toClient);
      this.readerBytes.inc({ listener, protocol, direction: 'to-server' }, bytes.toUpstream);
    },
  };

  /** One reading of the queue serves every gauge of a scrape. */
  private queueSnapshot(): Promise<QueueStats | undefined> {
    const store = this.sources?.store;
    if (!store) return Promise.resolve(undefined);
    const now = Date.now();
    if (!this.snapshot || now - this.snapshot.at > 250) this.snapshot = { at: now, stats: queueStats(store) };
    return this.snapshot.stats;
  }
}
