/**
 * The queue manager. Claims due messages with leases, routes new ones,
 * limits concurrency per upstream, retries with backoff and jitter (message
 * failures per message, destination failures per route), honours retry
 * hints, gives up after the queue lifetime and reports the failure.
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from '../core/log.js';
import type { DeliveryOutcome, RecipientOutcome } from '../core/outcome.js';
import type { AttemptResult, QueuedMessage, RecipientState, RecipientUpdate, Store } from '../spool/store.js';
import type { RouteTable } from '../route/rules.js';
import type { Transport } from './transport.js';
import { DestinationHealth, messageBackoff, type BackoffOptions } from './backoff.js';
import { settlesWithin } from '../core/settle.js';

export interface QueueOptions extends BackoffOptions {
  lease: number;
  pollInterval: number;
}

export interface FailureReporter {
  /** Called once for recipients that have failed for good. */
  failed(message: QueuedMessage, failed: RecipientOutcome[], reason: 'rejected' | 'expired'): Promise<void>;
}

export interface StopResult {
  /** Deliveries in flight when the stop began. */
  inFlight: number;
  /** Deliveries still running at the deadline, interrupted. */
  interrupted: number;
  /** Deliveries that had not ended a few seconds after the interruption (their messages keep their lease). */
  unfinished: number;
}

export interface SchedulerDeps {
  store: Store;
  transports: ReadonlyMap<string, Transport>;
  routes: RouteTable;
  deviceRoute: (device: string | null) => string | undefined;
  reporter: FailureReporter;
  log: Logger;
  options: QueueOptions;
  owner: string;
  now?: () => number;
}

export class Scheduler {
  private readonly health = new Map<string, DestinationHealth>();
  private readonly inflight = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  /** The pass in progress, if any (stop waits for it). */
  private pass: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private readonly abort = new AbortController();
  private readonly now: () => number;
  private lastOrphanCheck = 0;
  private wakeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly d: SchedulerDeps) {
    this.now = d.now ?? Date.now;
    // Every delivery in flight listens on the one shutdown signal.
    setMaxListeners(0, this.abort.signal);
    for (const name of d.transports.keys()) {
      this.health.set(name, new DestinationHealth());
      this.inflight.set(name, 0);
    }
  }

  async start(): Promise<void> {
    const recovered = await this.d.store.recoverActive(this.d.owner, this.now());
    if (recovered) this.d.log.warn({ event: 'recovered', count: recovered }, `picked up ${recovered} message(s) left active by an earlier run`);
    this.stopped = false;
    this.schedule(0);
  }

  /** Looks for work now (a message was accepted or released). */
  wake(): void {
    // Coalesce bursts: one pass a few milliseconds later serves every message that arrived meanwhile.
    if (this.stopped || this.wakeTimer) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      void this.tick();
    }, 5);
  }

  destinationStatus(): { route: string; inflight: number; pausedUntil: number; failures: number; lastError?: string }[] {
    return [...this.health].map(([route, h]) => ({
      route, inflight: this.inflight.get(route) ?? 0, pausedUntil: h.pausedUntil, failures: h.failures,
      ...(h.lastError ? { lastError: h.lastError } : {}),
    }));
  }

  /**
   * Stops claiming and lets the deliveries in flight finish, up to graceMs;
   * then interrupts them (each records its outcome, usually a retry). Messages
   * this node claimed but had not started are released at once, for another
   * node to take. A delivery that does not end within a few seconds of the
   * interruption is left with its lease (it may still be sending; the lease
   * runs out on its own).
   */
  async stop(graceMs = 10_000): Promise<StopResult> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    const deadline = this.now() + graceMs;
    // A pass in progress releases what it claims once it sees the stop.
    if (this.pass) await this.pass;
    const inFlight = this.running.size;
    let interrupted = 0;
    const all = Promise.allSettled([...this.running]);
    if (!(await settlesWithin(all, deadline - this.now()))) {
      interrupted = this.running.size;
      this.abort.abort();
      await settlesWithin(all, 5_000);
    }
    return { inFlight, interrupted, unfinished: this.running.size };
  }

  /** Ends this node's leases on messages it claimed but will not deliver: any node may claim them now. */
  private async release(ms: QueuedMessage[]): Promise<void> {
    if (ms.length === 0) return;
    const now = this.now();
    // A lease that ended a moment ago: claim() takes active messages whose lease has run out.
    await this.d.store.renewLease(ms.map((m) => m.id), this.d.owner, 0, now - 1);
    this.d.log.info({ event: 'released', ids: ms.map((m) => m.id) }, `released ${ms.length} claimed message(s) not started before the stop`);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = true;
    const pass = (async () => {
      try {
        await this.routeNew();
        await this.dispatch();
      } catch (err) {
        this.d.log.error({ event: 'scheduler-error', err }, 'queue manager error; retrying shortly');
      } finally {
        this.ticking = false;
        if (!this.stopped) this.schedule(this.again ? 0 : this.d.options.pollInterval);
        this.again = false;
      }
    })();
    this.pass = pass;
    await pass;
    if (this.pass === pass) this.pass = undefined;
  }

  private async routeNew(): Promise<void> {
    while (!this.stopped) {
      const now = this.now();
      const batch = await this.d.store.claim({ owner: this.d.owner, route: null, limit: 100, leaseMs: this.d.options.lease, now });
      for (const [i, m] of batch.entries()) {
        if (this.stopped) {
          await this.release(batch.slice(i));
          return;
        }
        const pending = m.recipientRecords.filter((r) => r.state === 'pending').map((r) => r.address);
        const groups = this.d.routes.resolve({ device: m.origin.device, deviceRoute: this.d.deviceRoute(m.origin.device), sender: m.sender, recipients: pending });
        const ids = await this.d.store.assignRoutes(m.id, this.d.owner, groups.map((g) => ({ route: g.route, recipients: g.recipients })), now);
        groups.forEach((g, i) =>
          this.d.log.info({ event: 'routed', id: ids[i], route: g.route, rule: g.rule, recipients: g.recipients.length, ...(i > 0 ? { splitFrom: m.id } : {}) },
            `${ids[i]} routed to ${g.route} (${g.rule})`));
      }
      if (batch.length < 100) return;
    }
  }

  private async dispatch(): Promise<void> {
    const now = this.now();
    for (const [name, transport] of this.d.transports) {
      const h = this.health.get(name)!;
      if (!h.available(now)) continue;
      const busy = this.inflight.get(name) ?? 0;
      const cap = h.probing ? 1 : transport.concurrency;
      const free = cap - busy;
      if (free <= 0) continue;
      if (this.stopped) return;
      const claimed = await this.d.store.claim({ owner: this.d.owner, route: name, limit: free, leaseMs: this.d.options.lease, now });
      // The stop came while the claim was under way: nothing new starts.
      if (this.stopped) return this.release(claimed);
      for (const m of claimed) this.launch(transport, m);
    }
    if (this.stopped) return;
    // Messages routed to an upstream that no longer exists are held, not lost.
    if (now - this.lastOrphanCheck >= 60_000) {
      this.lastOrphanCheck = now;
      for (const route of await this.d.store.queuedRoutes()) {
        if (this.d.transports.has(route)) continue;
        if (this.stopped) return;
        const claimed = await this.d.store.claim({ owner: this.d.owner, route, limit: 100, leaseMs: this.d.options.lease, now });
        for (const m of claimed) await this.holdUnknownRoute(m);
      }
    }
  }

  private async holdUnknownRoute(m: QueuedMessage): Promise<void> {
    const outcome: DeliveryOutcome = { action: 'hold', category: 'no-upstream', hint: `The upstream "${m.route}" is no longer configured. Fix the configuration, then release the message.` };
    await this.finish(m, m.recipientRecords.filter((r) => r.state === 'pending').map((r) => ({ recipient: r.address, outcome })), this.now(), 0);
  }

  private launch(transport: Transport, m: QueuedMessage): void {
    this.inflight.set(transport.name, (this.inflight.get(transport.name) ?? 0) + 1);
    const p = this.attempt(transport, m)
      .catch((err: unknown) => this.d.log.error({ event: 'attempt-error', id: m.id, err }, 'delivery attempt failed unexpectedly'))
      .finally(() => {
        this.inflight.set(transport.name, (this.inflight.get(transport.name) ?? 1) - 1);
        this.running.delete(p);
        this.wake();
      });
    this.running.add(p);
  }

  private async attempt(transport: Transport, m: QueuedMessage): Promise<void> {
    const started = this.now();
    const pending = m.recipientRecords.filter((r) => r.state === 'pending').map((r) => r.address);
    this.d.log.info({ event: 'state', id: m.id, state: 'active', route: transport.name, attempt: m.attempts + 1, recipients: pending.length }, `delivering ${m.id} via ${transport.name}`);
    const renew = setInterval(() => void this.d.store.renewLease([m.id], this.d.owner, this.d.options.lease, this.now()), Math.max(100, this.d.options.lease / 3));
    let outcomes: RecipientOutcome[];
    try {
      outcomes = pending.length === 0 ? [] : await transport.deliver({
        id: m.id, sender: m.sender, recipients: pending, size: m.size, device: m.origin.device,
        openBody: () => this.d.store.openBody(m.bodyId),
        ...(m.sendAs ? { sendAs: m.sendAs } : {}),
        ...(m.headerFrom ? { headerFrom: m.headerFrom } : {}),
      }, { signal: this.abort.signal });
    } catch (err) {
      // A transport must not throw; if one does, the attempt counts as a message-caused retry.
      outcomes = pending.map((recipient) => ({ recipient, outcome: { action: 'retry', scope: 'message', category: 'error', response: (err as Error).message } }));
    } finally {
      clearInterval(renew);
    }
    await this.finish(m, outcomes, started, this.now() - started);
  }

  private async finish(m: QueuedMessage, outcomes: RecipientOutcome[], started: number, durationMs: number): Promise<void> {
    const now = this.now();
    const route = m.route ?? '(none)';
    const h = this.health.get(route);
    const expired = now >= m.expiresAt;
    const updates: RecipientUpdate[] = [];
    const newlyFailed: RecipientOutcome[] = [];
    let retryAt = 0;
    let destinationDown = false;
    for (const { recipient, outcome } of outcomes) {
      let state: RecipientState;
      let o = outcome;
      if (outcome.action === 'delivered') state = 'delivered';
      else if (outcome.action === 'hold') state = 'held';
      else if (outcome.action === 'fail') state = 'failed';
      else if (expired) {
        state = 'failed';
        o = { ...outcome, action: 'fail', category: 'expired', hint: `Gave up: still undeliverable after the maximum queue lifetime. Last problem: ${outcome.hint ?? outcome.response ?? outcome.category}` };
      } else {
        state = 'pending';
        let at = now + messageBackoff(m.attempts + 1, this.d.options);
        if (outcome.retryAfterMs !== undefined) at = now + Math.min(outcome.retryAfterMs, this.d.options.maxBackoff * 4);
        if (outcome.scope === 'destination' && h) {
          destinationDown = true;
          at = Math.max(h.fail(now, this.d.options, outcome.response ?? outcome.category, outcome.retryAfterMs), outcome.retryAfterMs !== undefined ? at : 0);
        }
        retryAt = Math.max(retryAt, at);
      }
      if (state === 'failed') newlyFailed.push({ recipient, outcome: o });
      updates.push({ address: recipient, state, outcome: o });
    }
    // Any answer that is not about the destination itself (even a 4xx for this message) shows the upstream is up.
    if (h && !destinationDown && outcomes.length > 0) h.succeed();
    const states = new Set([...m.recipientRecords.filter((r) => !pendingIn(r.address, updates)).map((r) => r.state), ...updates.map((u) => u.state)]);
    const state: AttemptResult['state'] = states.has('pending') ? 'deferred' : states.has('held') ? 'held' : states.has('failed') ? 'failed' : 'delivered';
    const nextAttemptAt = state === 'deferred' ? Math.min(retryAt || now, Math.max(m.expiresAt, now + 1000)) : now;
    const first = updates.find((u) => u.state !== 'delivered')?.outcome ?? updates[0]?.outcome;
    const summary = describe(route, state, updates, first, nextAttemptAt, now);
    await this.d.store.finishAttempt(m.id, { owner: this.d.owner, at: now, durationMs, route, state, nextAttemptAt, recipients: updates, summary });
    const level = state === 'failed' ? 'warn' : 'info';
    this.d.log[level]({
      event: 'state', id: m.id, state, route, attempt: m.attempts + 1, durationMs: now - started,
      ...(first && state !== 'delivered' ? { category: first.category, response: first.response, hint: first.hint, fix: first.fix, ref: first.ref, possibleDuplicate: first.possibleDuplicate } : {}),
      ...(state === 'deferred' ? { nextAttemptAt: new Date(nextAttemptAt).toISOString() } : {}),
    }, summary);
    if (updates.some((u) => u.outcome.possibleDuplicate)) {
      this.d.log.warn({ event: 'possible-duplicate', id: m.id, route }, `${m.id}: outcome unknown after the message was sent; retrying may deliver it twice`);
    }
    if (newlyFailed.length) {
      if (m.origin.device) await this.d.store.recordDeviceFailure(m.origin.device, m.origin.clientIp);
      await this.d.reporter.failed(m, newlyFailed, expired ? 'expired' : 'rejected');
    }
  }
}


function pendingIn(address: string, updates: RecipientUpdate[]): boolean {
  return updates.some((u) => u.address === address);
}

function describe(route: string, state: string, updates: RecipientUpdate[], first: DeliveryOutcome | undefined, next: number, now: number): string {
  const n = updates.length;
  switch (state) {
    case 'delivered':
      return `delivered to ${n} recipient(s) via ${route}: ${first?.response ?? 'accepted'}`;
    case 'held':
      return `held (${route}): ${first?.response ?? first?.category ?? ''}`;
    case 'failed':
      return `failed via ${route}: ${first?.category === 'expired' ? 'expired after the maximum queue lifetime; last reply: ' : ''}${first?.response ?? first?.category ?? 'error'}`;
    default:
      return `deferred via ${route}, next try in ${Math.max(1, Math.round((next - now) / 1000))}s: ${first?.response ?? first?.category ?? 'error'}`;
  }
}
