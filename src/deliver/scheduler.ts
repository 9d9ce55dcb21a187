/**
 * The queue manager. Claims due messages with leases, routes new ones,
 * limits concurrency per upstream, retries with backoff and jitter (message
 * failures per message, destination failures per route), honours retry
 * hints, gives up after the queue lifetime and reports the failure.
 */
import type { Logger } from '../core/log.js';
import type { DeliveryOutcome, RecipientOutcome } from '../core/outcome.js';
import { renderSay, say, valueBoth, type Say, type SayValue } from '../core/trail-texts.js';
import { leaseOf, type AttemptResult, type LeaseRef, type QueuedMessage, type RecipientState, type RecipientUpdate, type Store } from '../spool/store.js';
import type { RouteTable } from '../route/rules.js';
import type { Transport } from './transport.js';
import { DestinationHealth, messageBackoff, type BackoffOptions } from './backoff.js';
import { settlesWithin } from '../core/settle.js';
import { LeaseKeeper } from './lease-keeper.js';
import { FallbackBook, hasNext, pickUpstream, ROUTE_LEVEL_CATEGORIES } from './fallback.js';

/** Waits between tries to record an attempt whose write failed (the store busy or briefly unreachable). */
const RECORD_RETRY_MS = [250, 1_000, 2_000, 4_000, 8_000, 15_000];
/**
 * Claimed messages waiting for their mailbox, per slot of an upstream's
 * concurrency, on top of the messages in flight (DeliveryContext.aside).
 */
const ASIDE_PER_SLOT = 1;
/** A wake is served by one pass this long after it: a burst of wakes (releases, freed slots) makes one pass. */
const WAKE_MS = 5;
/**
 * How long the pass after an accepted message waits for the messages that follow it, and how many
 * accepted messages make it start at once (see Scheduler.accepted). Mail gives no one a reason to
 * notice 50 ms.
 */
const GATHER_MS = 50;
const GATHER_COUNT = 32;

export interface QueueOptions extends BackoffOptions {
  lease: number;
  pollInterval: number;
  /** How long an upstream may be down before its messages go to the next upstream of their route. */
  fallbackAfter: number;
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

/** What the scheduler works with, from one configuration version: a delivery keeps the one it was claimed under. */
export interface DeliverySnapshot {
  readonly version: string;
  readonly transports: ReadonlyMap<string, Transport>;
  readonly routes: RouteTable;
  readonly deviceRoute: (device: string | null) => string | undefined;
  readonly options: QueueOptions;
}

export interface SchedulerDeps {
  store: Store;
  /** The current configuration snapshot (swapped by a reload). */
  current: () => DeliverySnapshot;
  reporter: FailureReporter;
  log: Logger;
  owner: string;
  now?: () => number;
  /**
   * Whether the pass after an accepted message gathers the ones that follow (see accepted). Not with a
   * store that other nodes share: their passes would claim what this node waits for, and the node that
   * accepted a message is the one that should try it first (each node learns an upstream's health from
   * its own attempts).
   */
  gatherAccepted?: boolean;
}

export class Scheduler {
  private readonly health = new Map<string, DestinationHealth>();
  private readonly inflight = new Map<string, number>();
  /** Deliveries in flight per transport instance (a transport replaced by a reload is closed when its last one ends). */
  private readonly busy = new Map<Transport, number>();
  /** Per upstream: attempts set aside to wait for their mailbox (DeliveryContext.aside); their slots are lent meanwhile. */
  private readonly asideCount = new Map<string, number>();
  /** Upstreams that cannot take mail now: routes listing another send their messages there (fallback.ts). */
  private readonly fallback = new FallbackBook();
  private readonly running = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  /** The pass in progress, if any (stop waits for it). */
  private pass: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  /**
   * The lease keepers of the attempts running. Each attempt stops on its keeper's signal, which the
   * keeper aborts when the lease is lost and the stop aborts through interrupt(). Not a signal joined to
   * one long-lived shutdown signal with AbortSignal.any: Node.js 20 keeps a reference on the long-lived
   * signal for every signal ever joined to it, about 80 bytes per delivery that stay until the process
   * ends (docs/architecture.md, Memory).
   */
  private readonly keepers = new Set<LeaseKeeper>();
  /** The stop gave up waiting: attempts still running, and any that starts, are interrupted. */
  private interrupted = false;
  private readonly now: () => number;
  private lastOrphanCheck = 0;
  private wakeTimer: NodeJS.Timeout | undefined;
  /** When wakeTimer fires (performance.now()). */
  private wakeAt = 0;
  /** Messages accepted since the last pass began (see accepted). */
  private gathered = 0;
  /**
   * Whether messages may wait to be routed (route NULL: accepted without a route, released, retried,
   * sent back by a reload or a fallback). Without it a pass skips the routing claim: under load most
   * passes follow a finished delivery, and an empty claim still takes the write lock.
   */
  private routeDue = true;
  private lastRouting = 0;
  /**
   * Routes that may have due messages no slot took: their last claim filled every free slot, or found
   * none free. A finished delivery frees a slot; it looks for work only on such a route (with one
   * device sending, most finish with the queue empty, and an empty claim still takes the write lock).
   * New work (an accepted or released message) wakes the scheduler itself, and the timed pass finds
   * messages that became due.
   */
  private readonly mayHaveMore = new Set<string>();

  constructor(private readonly d: SchedulerDeps) {
    this.now = d.now ?? Date.now;
  }

  private healthOf(route: string): DestinationHealth {
    let h = this.health.get(route);
    if (!h) this.health.set(route, (h = new DestinationHealth()));
    return h;
  }

  /** Whether a delivery through this transport instance is still running. */
  inUse(transport: Transport): boolean {
    return (this.busy.get(transport) ?? 0) > 0;
  }

  async start(): Promise<void> {
    const recovered = await this.d.store.recoverActive(this.d.owner, this.now());
    if (recovered) this.d.log.warn({ event: 'recovered', count: recovered }, `picked up ${recovered} message(s) left active by an earlier run`);
    this.stopped = false;
    this.schedule(0);
  }

  /**
   * Looks for work now (a message was released, a slot freed, an upstream changed). `routing: false`
   * when the caller knows that no message waits for a route (a delivery slot freed); every timed pass
   * looks for unrouted messages anyway.
   */
  wake(routing = true): void {
    if (routing) this.routeDue = true;
    this.passWithin(WAKE_MS);
  }

  /**
   * A message was accepted (`routing: false` when it was stored with its route). The pass waits up to
   * GATHER_MS for the messages that follow it, or until GATHER_COUNT have been accepted: one claim and
   * a few grouped results for many messages, where a pass per message cost a fifth of the main
   * process's time with one device sending (docs/architecture.md, "Gathering accepted messages").
   */
  accepted(routing: boolean): void {
    if (routing) this.routeDue = true;
    this.passWithin(this.d.gatherAccepted === false || ++this.gathered >= GATHER_COUNT ? WAKE_MS : GATHER_MS);
  }

  /** A pass within `ms` (an earlier one asked for stands; a later one is brought forward). */
  private passWithin(ms: number): void {
    if (this.stopped) return;
    const at = performance.now() + ms;
    if (this.wakeTimer) {
      if (this.wakeAt <= at) return;
      clearTimeout(this.wakeTimer);
    }
    this.wakeAt = at;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      void this.tick();
    }, ms);
  }

  /** No pass asked for (a pass begins, or the scheduler stops): a timer left behind would hold back the next wake. */
  private cancelWake(): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.gathered = 0;
  }

  /**
   * A delivery slot of this route is free again: a pass within `ms`, if messages may be waiting for one
   * (see mayHaveMore). No message waits for a route: a freed slot never sets routeDue.
   */
  private slotFreed(route: string, ms = WAKE_MS): void {
    if (this.mayHaveMore.has(route)) this.passWithin(ms);
  }

  destinationStatus(): { route: string; inflight: number; pausedUntil: number; failures: number; lastError?: string; fallback?: { since: number; reason: string; reasonJa?: string } }[] {
    const names = this.d.current().transports.keys();
    return [...names].map((route) => [route, this.healthOf(route)] as const).map(([route, h]) => {
      const fb = this.fallback.get(route);
      return {
        route, inflight: this.inflight.get(route) ?? 0, pausedUntil: h.pausedUntil, failures: h.failures,
        ...(h.lastError ? { lastError: h.lastError } : {}), ...(fb ? { fallback: { since: fb.since, reason: fb.reason, ...(fb.reasonJa !== undefined ? { reasonJa: fb.reasonJa } : {}) } } : {}),
      };
    });
  }

  /** Marks an upstream out (its messages go to the next upstream of their route) and sends its queued messages back to routing. */
  private async markOut(snap: DeliverySnapshot, name: string, reasonSaid: SayValue, category: string, now: number): Promise<void> {
    const both = valueBoth(reasonSaid);
    const reason = both.en;
    if (!this.fallback.mark(name, reason, category, now, snap.options.destinationMinBackoff, both.ja)) return;
    this.d.log.warn({ event: 'fallback-started', upstream: name, category, reason },
      `${name} cannot take mail now (${reason}): messages whose route lists another upstream go there; a probe message is sent to ${name} from time to time, and new messages go back to it when one gets through`);
    const moved = await this.d.store.unrouteQueued(now, say('reroute.upstreamOut', { upstream: name, reason: reasonSaid }), [name]);
    if (moved) this.wake();
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
    this.cancelWake();
    const deadline = this.now() + graceMs;
    // A pass in progress releases what it claims once it sees the stop.
    if (this.pass) await this.pass;
    const inFlight = this.running.size;
    let interrupted = 0;
    const all = Promise.allSettled([...this.running]);
    if (!(await settlesWithin(all, deadline - this.now()))) {
      interrupted = this.running.size;
      this.interrupted = true;
      for (const k of this.keepers) k.interrupt();
      await settlesWithin(all, 5_000);
    }
    return { inFlight, interrupted, unfinished: this.running.size };
  }

  /** Ends this node's leases on messages it claimed but will not deliver: any node may claim them now. */
  private async release(ms: QueuedMessage[]): Promise<void> {
    if (ms.length === 0) return;
    await this.d.store.releaseLeases(ms.map(leaseOf), this.now());
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
    // This pass sees every message committed so far: a wake asked for before it is served by it.
    this.cancelWake();
    const pass = (async () => {
      try {
        await this.routeNew();
        await this.dispatch();
      } catch (err) {
        this.d.log.error({ event: 'scheduler-error', err }, 'queue manager error; retrying shortly');
      } finally {
        this.ticking = false;
        if (!this.stopped) this.schedule(this.again ? 0 : this.d.current().options.pollInterval);
        this.again = false;
      }
    })();
    this.pass = pass;
    await pass;
    if (this.pass === pass) this.pass = undefined;
  }

  private async routeNew(): Promise<void> {
    // At least once per poll interval, which also finds messages made unrouted elsewhere (the CLI, another node):
    // the timed pass comes a poll interval after the last one, and under a steady load passes follow each other.
    if (!this.routeDue && this.now() - this.lastRouting < this.d.current().options.pollInterval) return;
    // Cleared before the claim: a message made unrouted meanwhile sets it again for the next pass.
    this.routeDue = false;
    this.lastRouting = this.now();
    while (!this.stopped) {
      const now = this.now();
      const snap = this.d.current();
      let batch: QueuedMessage[];
      try {
        batch = await this.d.store.claim({ owner: this.d.owner, route: null, limit: 100, leaseMs: snap.options.lease, now });
      } catch (err) {
        this.routeDue = true;
        throw err;
      }
      for (const [i, m] of batch.entries()) {
        if (this.stopped) {
          await this.release(batch.slice(i));
          return;
        }
        const pending = m.recipientRecords.filter((r) => r.state === 'pending').map((r) => r.address);
        // Upstreams that cannot take mail now are passed over for the next of each rule's list (one that is due for a probe is not).
        const out = this.fallback.excluded(now, snap.options.destinationMaxBackoff);
        const groups = snap.routes.resolve({ device: m.origin.device, deviceRoute: snap.deviceRoute(m.origin.device), sender: m.sender, recipients: pending },
          (chain, rcpt) => pickUpstream(chain, rcpt, snap.transports, out));
        const ruleOf = (g: (typeof groups)[number]) => {
          const skipped = g.chain.slice(0, Math.max(0, g.chain.indexOf(g.route))).filter((n) => this.fallback.get(n));
          return skipped.length ? `${g.rule}; fallback: ${skipped.map((n) => `${n} cannot take mail now (${this.fallback.get(n)!.reason})`).join('; ')}` : g.rule;
        };
        let ids: string[];
        try {
          ids = await this.d.store.assignRoutes(leaseOf(m), groups.map((g) => ({ route: g.route, recipients: g.recipients, rule: ruleOf(g) })), now);
        } catch (err) {
          // Lost its lease (taken over after a long stall) or the store failed: the message stays for whoever holds it, or for the next pass.
          this.d.log.warn({ event: 'route-failed', id: m.id, err: (err as Error).message }, `${m.id} could not be routed now (${(err as Error).message}); it is tried again`);
          continue;
        }
        groups.forEach((g, i) =>
          this.d.log.info({ event: 'routed', id: ids[i], route: g.route, rule: g.rule, recipients: g.recipients.length, ...(i > 0 ? { splitFrom: m.id } : {}),
            ...(g.route !== g.chain[0] ? { fallbackFor: g.chain[0] } : {}) },
          `${ids[i]} routed to ${g.route} (${ruleOf(g)})`));
      }
      if (batch.length < 100) return;
    }
  }

  private async dispatch(): Promise<void> {
    const now = this.now();
    const snap = this.d.current();
    for (const [name, transport] of snap.transports) {
      const h = this.healthOf(name);
      // Down longer than fallbackAfter: its messages go to the next upstream of their route.
      if (!h.available(now) && h.downSince && now - h.downSince >= snap.options.fallbackAfter && !this.fallback.get(name) && snap.routes.hasFallback(name)) {
        await this.markOut(snap, name, say('reroute.downSince', { since: new Date(h.downSince).toISOString(), error: h.lastError ?? say('reroute.noAnswer') }), 'unavailable', now);
      }
      if (!h.available(now)) continue;
      const busy = this.inflight.get(name) ?? 0;
      const cap = h.probing ? 1 : transport.concurrency;
      // Slots of attempts waiting for their mailbox go to other messages, up to ASIDE_PER_SLOT × cap claimed
      // messages waiting: several mailboxes behind one upstream each keep their own limit busy.
      const free = Math.min(cap - busy, cap * (1 + ASIDE_PER_SLOT) - busy - (this.asideCount.get(name) ?? 0));
      if (free <= 0) {
        this.mayHaveMore.add(name);
        continue;
      }
      if (this.stopped) return;
      const claimed = await this.d.store.claim({ owner: this.d.owner, route: name, limit: free, leaseMs: snap.options.lease, now });
      if (claimed.length < free) this.mayHaveMore.delete(name);
      else this.mayHaveMore.add(name);
      // The stop came while the claim was under way: nothing new starts.
      if (this.stopped) return this.release(claimed);
      for (const m of claimed) this.launch(snap, transport, m);
    }
    if (this.stopped) return;
    // Messages routed to an upstream that no longer exists are held, not lost.
    if (now - this.lastOrphanCheck >= 60_000) {
      this.lastOrphanCheck = now;
      for (const route of await this.d.store.queuedRoutes()) {
        if (snap.transports.has(route)) continue;
        if (this.stopped) return;
        const claimed = await this.d.store.claim({ owner: this.d.owner, route, limit: 100, leaseMs: snap.options.lease, now });
        for (const m of claimed) await this.holdUnknownRoute(snap, m);
      }
    }
  }

  private async holdUnknownRoute(snap: DeliverySnapshot, m: QueuedMessage): Promise<void> {
    const outcome: DeliveryOutcome = { action: 'hold', category: 'no-upstream', hint: `The upstream "${m.route}" is no longer configured. Fix the configuration, then release the message.` };
    await this.finish(snap, m, m.recipientRecords.filter((r) => r.state === 'pending').map((r) => ({ recipient: r.address, outcome })), this.now(), 0);
  }

  private launch(snap: DeliverySnapshot, transport: Transport, m: QueuedMessage): void {
    this.inflight.set(transport.name, (this.inflight.get(transport.name) ?? 0) + 1);
    this.busy.set(transport, (this.busy.get(transport) ?? 0) + 1);
    const p = this.attempt(snap, transport, m)
      .catch((err: unknown) => this.d.log.error({ event: 'attempt-error', id: m.id, err }, 'delivery attempt failed unexpectedly'))
      .finally(() => {
        this.inflight.set(transport.name, (this.inflight.get(transport.name) ?? 1) - 1);
        const left = (this.busy.get(transport) ?? 1) - 1;
        if (left > 0) this.busy.set(transport, left);
        else this.busy.delete(transport);
        this.running.delete(p);
        this.slotFreed(transport.name);
      });
    this.running.add(p);
  }

  /**
   * An attempt waits for its mailbox: its slot is free for another message until it comes back. The
   * pass that claims that message comes at once, not within WAKE_MS: when a mailbox's slot frees and
   * no claimed message waits for it, the claims go in queue order, and each one for another (busy)
   * mailbox is set aside in turn until one for this mailbox comes. With 5 ms per step, four mailboxes
   * behind one upstream (Graph answering in 250 ms) had a slot idle 4–12 ms per request on average
   * (by mailbox) and over 20 ms before 11 % of requests; at once, 2–11 ms and 3–4 % (docs/benchmarks.md).
   */
  private setAside(name: string): () => void {
    this.inflight.set(name, (this.inflight.get(name) ?? 1) - 1);
    this.asideCount.set(name, (this.asideCount.get(name) ?? 0) + 1);
    this.slotFreed(name, 0);
    let back = false;
    return () => {
      if (back) return;
      back = true;
      this.inflight.set(name, (this.inflight.get(name) ?? 0) + 1);
      this.asideCount.set(name, Math.max(0, (this.asideCount.get(name) ?? 1) - 1));
    };
  }

  private async attempt(snap: DeliverySnapshot, transport: Transport, m: QueuedMessage): Promise<void> {
    const started = this.now();
    const lease = leaseOf(m);
    const pending = m.recipientRecords.filter((r) => r.state === 'pending').map((r) => r.address);
    this.d.log.info({ event: 'state', id: m.id, state: 'active', route: transport.name, attempt: m.attempts + 1, recipients: pending.length }, `delivering ${m.id} via ${transport.name}`);
    // The lease is renewed while the transport works; a lease found lost stops the attempt (the message is another's now).
    const keeper = new LeaseKeeper(this.d.store, lease, snap.options.lease, this.now, this.d.log);
    this.keepers.add(keeper);
    if (this.interrupted) keeper.interrupt();
    let outcomes: RecipientOutcome[];
    try {
      outcomes = pending.length === 0 ? [] : await transport.deliver({
        id: m.id, sender: m.sender, recipients: pending, size: m.size, device: m.origin.device,
        openBody: (readBytes?: number) => this.d.store.openBody(m.bodyId, readBytes),
        ...(m.sendAs ? { sendAs: m.sendAs } : {}),
        ...(m.headerFrom ? { headerFrom: m.headerFrom } : {}),
        ...(m.eightBit !== undefined ? { eightBit: m.eightBit } : {}),
        ...(m.messageIdHeader ? { messageIdHeader: m.messageIdHeader } : {}),
      }, { signal: keeper.signal, aside: () => this.setAside(transport.name) });
    } catch (err) {
      // A transport must not throw; if one does, the attempt counts as a message-caused retry.
      outcomes = pending.map((recipient) => ({ recipient, outcome: { action: 'retry', scope: 'message', category: 'error', response: (err as Error).message } }));
    } finally {
      keeper.stop();
      this.keepers.delete(keeper);
    }
    await this.finish(snap, m, outcomes, started, this.now() - started, lease);
  }

  /**
   * Writes the attempt's result under its lease. A write that fails (the
   * database busy or briefly unreachable) is tried again for about half a
   * minute; a lease found lost means another claim owns the message now, and
   * the result is only logged.
   */
  private async record(lease: LeaseRef, result: AttemptResult): Promise<'recorded' | 'lost' | 'failed'> {
    for (let i = 0; ; i++) {
      try {
        return (await this.d.store.finishAttempt(lease, result)) ? 'recorded' : 'lost';
      } catch (err) {
        if (i >= RECORD_RETRY_MS.length) {
          this.d.log.error({ event: 'attempt-not-recorded', id: lease.id, state: result.state, err: (err as Error).message },
            `${lease.id}: the result of this attempt (${result.state}) could not be recorded (${(err as Error).message}); the message is tried again once its lease runs out` +
            (result.state === 'delivered' ? ', so it may be delivered twice' : ''));
          return 'failed';
        }
        if (i === 0) {
          this.d.log.warn({ event: 'record-retry', id: lease.id, err: (err as Error).message },
            `${lease.id}: the result of this attempt could not be written yet (${(err as Error).message}); trying again`);
        }
        await new Promise((r) => setTimeout(r, RECORD_RETRY_MS[i]));
      }
    }
  }

  private async finish(snap: DeliverySnapshot, m: QueuedMessage, outcomes: RecipientOutcome[], started: number, durationMs: number, lease = leaseOf(m)): Promise<void> {
    const now = this.now();
    const route = m.route ?? '(none)';
    const opts = snap.options;
    const h = snap.transports.has(route) ? this.healthOf(route) : undefined;
    const expired = now >= m.expiresAt;
    const updates: RecipientUpdate[] = [];
    const newlyFailed: RecipientOutcome[] = [];
    let retryAt = 0;
    let destinationDown = false;
    // A refusal for the whole route (sign-in, permission, tenant, licence, the mailbox blocked or over its
    // daily limit) moves the recipients to the next upstream of their route, when it lists one that can take them.
    let movedFor: DeliveryOutcome | undefined;
    const chainInput = { device: m.origin.device, deviceRoute: snap.deviceRoute(m.origin.device), sender: m.sender, recipients: [] };
    for (const { recipient, outcome } of outcomes) {
      let state: RecipientState;
      let o = outcome;
      const routeLevel = (outcome.action === 'retry' || outcome.action === 'fail') && ROUTE_LEVEL_CATEGORIES.has(outcome.category) && !expired;
      if (routeLevel && hasNext(snap.routes.chainFor(chainInput, recipient), route, recipient, snap.transports)) {
        movedFor ??= outcome;
        updates.push({ address: recipient, state: 'pending', outcome });
        continue;
      }
      if (outcome.action === 'delivered') state = 'delivered';
      else if (outcome.action === 'hold') state = 'held';
      else if (outcome.action === 'fail') state = 'failed';
      else if (expired) {
        state = 'failed';
        const lastProblem = outcome.response ?? outcome.category;
        o = {
          ...outcome, action: 'fail', category: 'expired', hint: `Gave up: still undeliverable after the maximum queue lifetime. Last problem: ${outcome.hint ?? lastProblem}`,
          ja: { ...outcome.ja, hint: `キューの最大保持期間を過ぎても配送できなかったため、配送を中止しました。最後の問題: ${outcome.ja?.hint ?? outcome.hint ?? lastProblem}` },
        };
      } else {
        state = 'pending';
        let at = now + messageBackoff(m.attempts + 1, opts);
        if (outcome.retryAfterMs !== undefined) at = now + Math.min(outcome.retryAfterMs, opts.maxBackoff * 4);
        if (outcome.scope === 'destination' && h) {
          destinationDown = true;
          at = Math.max(h.fail(now, opts, outcome.response ?? outcome.category, outcome.retryAfterMs), outcome.retryAfterMs !== undefined ? at : 0);
        }
        retryAt = Math.max(retryAt, at);
      }
      if (state === 'failed') newlyFailed.push({ recipient, outcome: o });
      updates.push({ address: recipient, state, outcome: o });
    }
    if (movedFor) {
      await this.markOut(snap, route, movedFor.response ?? (movedFor.hint ? { en: movedFor.hint, ja: movedFor.ja?.hint ?? movedFor.hint } : movedFor.category), movedFor.category, now);
    } else if (h && !destinationDown && outcomes.length > 0) {
      // Any answer that is not about the destination itself (even a 4xx for this message) shows the upstream is up.
      h.succeed();
      if (updates.some((u) => u.state === 'delivered')) {
        const was = this.fallback.clear(route);
        if (was) {
          this.d.log.info({ event: 'fallback-ended', upstream: route, since: new Date(was.since).toISOString() },
            `${route} takes mail again (a message got through): new messages go back to it instead of the next upstream of their route`);
        }
      }
    }
    const states = new Set([...m.recipientRecords.filter((r) => !pendingIn(r.address, updates)).map((r) => r.state), ...updates.map((u) => u.state)]);
    const state: AttemptResult['state'] = states.has('pending') ? 'deferred' : states.has('held') ? 'held' : states.has('failed') ? 'failed' : 'delivered';
    const nextAttemptAt = movedFor ? now : state === 'deferred' ? Math.min(retryAt || now, Math.max(m.expiresAt, now + 1000)) : now;
    const first = updates.find((u) => u.state !== 'delivered')?.outcome ?? updates[0]?.outcome;
    const attempt = describe(route, state, updates, first, nextAttemptAt, now);
    const said = movedFor ? say('attempt.movedOn', { attempt, route }) : attempt;
    const summary = renderSay(said, 'en');
    const recorded = await this.record(lease, { at: now, durationMs, route, state, nextAttemptAt, recipients: updates, summary, say: said, ...(movedFor ? { unroute: true } : {}) });
    if (recorded === 'lost') {
      const sent = updates.some((u) => u.state === 'delivered' || u.outcome.possibleDuplicate);
      this.d.log.warn({ event: 'result-discarded', id: m.id, state, route, possibleDuplicate: sent },
        `${m.id}: this attempt's result (${summary}) is not recorded because its lease was lost: another claim owns the message now` +
        (sent ? '. It was (or may have been) delivered by this attempt, so the recipients may get it twice' : ''));
      return;
    }
    if (recorded === 'failed') return;
    // Sent back to routing (its upstream cannot take mail now): the next pass routes it again.
    if (movedFor) this.routeDue = true;
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

/** The attempt's trail text: what happened, via which upstream, and the upstream's reply as received (or the failure's category). */
function describe(route: string, state: string, updates: RecipientUpdate[], first: DeliveryOutcome | undefined, next: number, now: number): Say {
  const n = updates.length;
  const reply: SayValue = first?.response ?? first?.category ?? say('attempt.error');
  switch (state) {
    case 'delivered':
      return say('attempt.delivered', { n, route, reply: first?.response ?? say('attempt.accepted') });
    case 'held':
      return say('attempt.held', { route, reply: first?.response ?? first?.category ?? '' });
    case 'failed':
      return say(first?.category === 'expired' ? 'attempt.expired' : 'attempt.failed', { route, reply });
    default:
      return say('attempt.deferred', { route, seconds: Math.max(1, Math.round((next - now) / 1000)), reply });
  }
}
