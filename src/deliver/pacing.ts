/**
 * Per-mailbox limits that Microsoft enforces and that the relay keeps below,
 * so that devices are never refused because of a burst: requests in flight
 * per mailbox (Graph: 4 per app and mailbox; SMTP: a few connections),
 * messages per minute, recipients per day. A transport asks the pacer for a
 * slot with the mailbox it resolved; the pacer either gives one (waiting a
 * little when the wait is short) or says when to come back, and the
 * transport turns that into a `retry` outcome with `retryAfterMs` (category
 * `paced`), which the scheduler honours without treating it as a failure of
 * the upstream.
 *
 * The counts live in a PacingCoordinator (spool/pacing.ts): in this process
 * by default, in the PostgreSQL spool when several nodes share it, so that
 * the limits hold for all nodes together. This class decides how to wait.
 */
import { ExpiringMap } from '../core/expiring-map.js';
import { MemoryPacing, type PacingCoordinator, type SlotAnswer } from '../spool/pacing.js';
import { budgetKey, type BudgetBook } from './budget-book.js';
import type { DeliveryOutcome, RecipientOutcome } from '../core/outcome.js';

const DAY = 86_400_000;

/** The outcome of a message the pacer held back: `paced` (a short wait), or `quota` when the mailbox's daily budget is used up (a fallback takes it). */
export function pacedOutcome(mailbox: string, grant: { retryAfterMs: number; reason: string; budget?: boolean }): DeliveryOutcome {
  if (grant.budget) {
    return {
      action: 'retry', scope: 'message', category: 'quota', retryAfterMs: grant.retryAfterMs, response: grant.reason,
      hint: `Held back: ${grant.reason}. Exchange Online would refuse it (10,000 recipients per mailbox in any 24 hours), so it waits until the window has room, or goes to the next upstream of its route; nothing was sent or refused.`,
      fix: 'Nothing to do if the wait is acceptable. Otherwise spread the devices over more sending mailboxes, add a fallback upstream to the route (use: [this, another]), or lower what is sent.',
    };
  }
  return {
    action: 'retry', scope: 'message', category: 'paced', retryAfterMs: grant.retryAfterMs, response: grant.reason,
    hint: `Held back to stay under Exchange Online's sending limits for ${mailbox} (${grant.reason}); it goes out when the limit allows, nothing was refused.`,
  };
}

/**
 * Microsoft refused a message for the mailbox's daily limit (the catalogue's
 * `quota` category): nothing more is sent as the mailbox, from any upstream
 * or node, until the wait has passed.
 */
export function noteDailyLimit(pacer: MailboxPacer, mailbox: string, outcomes: readonly RecipientOutcome[]): void {
  // Called with what Microsoft answered (the pacer's own holds never reach Microsoft).
  const refused = outcomes.find((o) => o.outcome.category === 'quota');
  if (refused) pacer.pauseBudget(mailbox, refused.outcome.retryAfterMs ?? DAY);
}

export interface PacingLimits {
  /** Requests in flight per mailbox. */
  concurrency: number;
  messagesPerMinute?: number;
  /**
   * The mailbox's daily budget (Exchange Online: 10,000 recipients in any 24
   * hours). Counted per mailbox, not per upstream: every upstream sending as
   * the mailbox, on every node sharing the coordinator, spends from one budget.
   */
  recipientsPerDay?: number;
  /** Share of recipientsPerDay at which the book warns (default 0.8). */
  warnShare?: number;
  /** Longest wait inside an attempt before answering "come back later" (default 60 s). */
  maxWaitMs?: number;
}

export interface PacerOptions {
  /** Where the counts are kept (default: in this process). */
  coordinator?: PacingCoordinator;
  /** What the limits belong to besides the mailbox, e.g. the upstream's name (default none). */
  scope?: string;
  /** Told of each message counted against a daily budget (warnings, alerts, metrics). */
  budgets?: BudgetBook;
  /** The upstream's name, for the book (default the scope). */
  upstream?: string;
}

/**
 * `budget`: the mailbox's daily budget is used up, or Microsoft refused it for
 * its daily limit: the wait is long, and a route with a fallback moves on.
 */
export type PaceGrant = { ok: true; release(): void } | { ok: false; retryAfterMs: number; reason: string; budget?: boolean };

/** What this process knows of one key besides the coordinator's counts. */
interface Local {
  mailbox: string;
  /** Waiters for a slot: a slot released in this process wakes them. */
  waiters: Set<() => void>;
  /** Slots held from this process. */
  inflight: number;
  /** A pause set from this process (seen at once, before the coordinator has it). */
  pausedUntil: number;
  lastUsed: number;
}

/** A key's local state (and its peak) is kept this long after its last use once nothing waits on it. */
const IDLE_MS = 10 * 60_000;

export class MailboxPacer {
  private readonly now: () => number;
  private readonly coordinator: PacingCoordinator;
  private readonly scope: string;
  /** Per key; dropped IDLE_MS after the last use when no slot is held, nobody waits and no pause runs. */
  private readonly local = new ExpiringMap<string, Local>(
    (l, now) => l.inflight === 0 && l.waiters.size === 0 && l.pausedUntil <= now && l.lastUsed <= now - IDLE_MS,
    4,
    (_key, l) => this.peak.delete(l.mailbox),
  );
  /** Highest concurrency seen per mailbox from this process (for tests and metrics; forgotten with the key's state). */
  readonly peak = new Map<string, number>();

  constructor(
    private readonly limits: PacingLimits,
    now?: () => number,
    opts: PacerOptions = {},
  ) {
    this.now = now ?? Date.now;
    this.coordinator = opts.coordinator ?? new MemoryPacing();
    this.scope = opts.scope ?? '';
    this.budgets = opts.budgets;
    this.upstream = opts.upstream ?? this.scope;
  }

  private readonly budgets: BudgetBook | undefined;
  private readonly upstream: string;

  private key(mailbox: string): string {
    return `${this.scope}/${mailbox.toLowerCase()}`;
  }

  /** The key's local state, marked as used now; storing it sweeps a few idle keys. */
  private use(key: string, mailbox: string): Local {
    const now = this.now();
    const l = this.local.get(key) ?? { mailbox, waiters: new Set(), inflight: 0, pausedUntil: 0, lastUsed: now };
    l.lastUsed = Math.max(l.lastUsed, now);
    this.local.set(key, l, now);
    return l;
  }

  /** Keys with local state (for tests: it stays near the mailboxes in use). */
  size(): number {
    return this.local.size;
  }

  /**
   * A slot of the mailbox, once its concurrency and per-minute limits allow.
   * `aside` is told when the call starts to wait for the mailbox (and the
   * function it returns when the wait ends, however it ends): the scheduler
   * then lends the upstream's slot to a message for another mailbox.
   */
  async acquire(mailbox: string, recipients: number, signal?: AbortSignal, aside?: () => () => void): Promise<PaceGrant> {
    let back: (() => void) | undefined;
    try {
      return await this.acquireSlot(mailbox, recipients, signal, () => (back ??= aside?.()));
    } finally {
      back?.();
    }
  }

  private async acquireSlot(mailbox: string, recipients: number, signal: AbortSignal | undefined, waiting: () => void): Promise<PaceGrant> {
    const key = this.key(mailbox);
    const local = mailbox.toLowerCase();
    const maxWait = this.limits.maxWaitMs ?? 60_000;
    const deadline = this.now() + maxWait;
    const { concurrency, messagesPerMinute } = this.limits;
    for (;;) {
      if (signal?.aborted) return { ok: false, retryAfterMs: 1000, reason: 'the relay is shutting down' };
      const now = this.now();
      let answer: SlotAnswer;
      try {
        answer = await this.coordinator.acquire({
          key, recipients, now, maxPauseMs: deadline - now, limits: { concurrency, messagesPerMinute },
        });
      } catch (err) {
        // The shared counts cannot be reached (the database is down): come back later rather than exceed the limits.
        return { ok: false, retryAfterMs: 5_000, reason: `the pacing counts could not be read (${(err as Error).message})` };
      }
      if (answer.ok) {
        const refused = await this.spend(mailbox, recipients, now);
        if (refused) {
          await this.coordinator.release(answer.slot).catch(() => undefined);
          return refused;
        }
        const l = this.use(key, local);
        const n = ++l.inflight;
        this.peak.set(local, Math.max(this.peak.get(local) ?? 0, n));
        let released = false;
        return {
          ok: true,
          release: () => {
            if (released) return;
            released = true;
            const held = this.use(key, local);
            held.inflight = Math.max(0, held.inflight - 1);
            // Every waiter looks again once the slot is back: the first may find itself held back by a quota, and must not keep the others asleep.
            const wake = () => {
              for (const w of [...(this.local.get(key)?.waiters ?? [])]) w();
            };
            this.coordinator.release(answer.slot).then(wake, wake);
          },
        };
      }
      if (answer.kind === 'paused') return { ok: false, retryAfterMs: answer.waitMs, reason: answer.reason };
      // A message the daily budget cannot take now does not wait for a slot first: it would be refused once it had one.
      const spent = await this.spend(mailbox, recipients, now, true);
      if (spent) return spent;
      if (answer.kind === 'quota') {
        if (answer.waitMs > deadline - now) return { ok: false, retryAfterMs: answer.waitMs, reason: answer.reason };
        waiting();
        await sleep(answer.waitMs, signal);
        continue;
      }
      const left = deadline - now;
      if (left <= 0) return { ok: false, retryAfterMs: 5_000, reason: `${concurrency} requests for ${mailbox} are already in flight` };
      waiting();
      await this.waitForSlot(key, local, Math.min(left, this.coordinator.pollMs), signal);
    }
  }

  /**
   * Counts the message against the mailbox's daily budget; the refusal when it does not fit (or the
   * mailbox is paused for its daily limit). `dryRun`: only the refusal, nothing counted (a message about
   * to wait for a slot asks first).
   */
  private async spend(mailbox: string, recipients: number, now: number, dryRun = false): Promise<PaceGrant | undefined> {
    const perDay = this.limits.recipientsPerDay;
    if (!perDay) return undefined;
    let answer;
    try {
      answer = await this.coordinator.spend({ key: budgetKey(mailbox), recipients, perDay, now, ...(dryRun ? { dryRun } : {}) });
    } catch (err) {
      if (dryRun) return undefined;
      return { ok: false, retryAfterMs: 5_000, reason: `the daily budget of ${mailbox} could not be read (${(err as Error).message})` };
    }
    if (dryRun && answer.ok) return undefined;
    this.budgets?.record(this.upstream, mailbox, answer.ok ? answer.used : Math.max(answer.used, answer.kind === 'quota' ? perDay : 0), perDay, this.limits.warnShare ?? 0.8);
    if (answer.ok) return undefined;
    return {
      ok: false, retryAfterMs: answer.waitMs, budget: true,
      reason: answer.kind === 'quota' ? `${mailbox} has used its daily budget (${answer.used} of ${perDay} recipients in the last 24 hours)` : answer.reason,
    };
  }

  /**
   * Microsoft refused the mailbox for its daily limit (554 5.2.0
   * SubmissionQuotaExceeded, 550 5.1.90): nothing is sent as it, by any
   * upstream or node, until the time has passed.
   */
  pauseBudget(mailbox: string, ms: number): void {
    this.coordinator.pause(budgetKey(mailbox), this.now() + ms).catch(() => undefined);
  }

  /** Until a slot of the key is released here, ms pass, or shutdown. */
  private waitForSlot(key: string, mailbox: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      // Kept while it has a waiter: the state is not dropped under it.
      const waiters = this.use(key, mailbox).waiters;
      const t = setTimeout(done, ms);
      // Shutdown ends the wait at once (the loop then answers "shutting down").
      signal?.addEventListener('abort', done, { once: true });
      waiters.add(done);
      function done() {
        clearTimeout(t);
        waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      }
    });
  }

  /**
   * Microsoft throttled this mailbox (429 with Retry-After): no request for it
   * before the time has passed, from any message (Retry-After is per app and
   * mailbox, not per request), on any node sharing the coordinator.
   */
  pause(mailbox: string, ms: number): void {
    const key = this.key(mailbox);
    const until = this.now() + ms;
    const l = this.use(key, mailbox.toLowerCase());
    l.pausedUntil = Math.max(l.pausedUntil, until);
    this.coordinator.pause(key, until).catch(() => undefined);
  }

  /** Waits until the mailbox is not paused; answers how long it waited. */
  async whenOpen(mailbox: string, signal?: AbortSignal): Promise<number> {
    const key = this.key(mailbox);
    let waited = 0;
    for (;;) {
      const now = this.now();
      const shared = await this.coordinator.pausedUntil(key, now).catch(() => 0);
      const wait = Math.max(this.local.get(key)?.pausedUntil ?? 0, shared) - now;
      if (wait <= 0 || signal?.aborted) return waited;
      await sleep(wait, signal);
      waited += wait;
    }
  }

  /** When a pause set by pause() from this process ends (0: not paused). */
  pausedUntil(mailbox: string): number {
    const until = this.local.get(this.key(mailbox))?.pausedUntil ?? 0;
    return until > this.now() ? until : 0;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
