/**
 * Pacing state: the counters behind Microsoft's per-mailbox limits (requests
 * in flight, messages per minute, recipients per day, a pause asked for with
 * 429 Retry-After). The deliver stage's MailboxPacer (deliver/pacing.ts)
 * decides how to wait; a PacingCoordinator keeps the counts. MemoryPacing
 * keeps them in this process (one node); with the PostgreSQL spool they are
 * kept in the database (postgres/pacing.ts) so that every node counts
 * against the same limits. Both pass test/contract/pacing-contract.ts.
 *
 * Times are passed in (ms since the epoch), as in the Store interface.
 */
import { ExpiringMap } from '../core/expiring-map.js';

export interface SlotLimits {
  /** Slots held at once per key. */
  concurrency: number;
  messagesPerMinute?: number;
  recipientsPerDay?: number;
}

export interface SlotRequest {
  /** What the limits apply to: an upstream and a mailbox. */
  key: string;
  /** Recipients of the message (counted against recipientsPerDay). */
  recipients: number;
  limits: SlotLimits;
  now: number;
  /** A pause (429) ending later than now + maxPauseMs is answered at once, without taking a slot. */
  maxPauseMs: number;
}

export type SlotAnswer =
  | { ok: true; slot: string }
  /** Paused by Microsoft, or a per-minute or per-day quota is used up: try again in waitMs. */
  | { ok: false; kind: 'paused' | 'quota'; waitMs: number; reason: string }
  /** Every slot is taken; one frees when a holder releases it (or its lease runs out). */
  | { ok: false; kind: 'busy'; inFlight: number };

/**
 * A message's recipients counted against a rolling 24-hour budget, without a
 * slot: Exchange Online's recipients-per-day limit belongs to the sending
 * mailbox, whichever route, protocol or node sends as it.
 */
export interface BudgetRequest {
  key: string;
  recipients: number;
  /** The budget: at most this many recipients in any 24 hours. */
  perDay: number;
  now: number;
  /** Only asks whether they would fit (the same answer), counting nothing. */
  dryRun?: boolean;
}

export type BudgetAnswer =
  /** Counted; `used` is the recipients of the last 24 hours with this message. */
  | { ok: true; used: number }
  /** Not counted: the budget is used up (quota) or the key is paused (Microsoft refused for its daily limit). */
  | { ok: false; kind: 'quota' | 'paused'; waitMs: number; reason: string; used: number };

export interface PacingCoordinator {
  /** Counts the recipients against the key's daily budget when they fit (or the message alone is larger than the budget); `dryRun`: only answers. */
  spend(req: BudgetRequest): Promise<BudgetAnswer>;
  /** Recipients counted against the key in the 24 hours before `now`. */
  spent(key: string, now: number): Promise<number>;
  /** Takes a slot when the limits allow it now; counts the message against the quotas. */
  acquire(req: SlotRequest): Promise<SlotAnswer>;
  release(slot: string): Promise<void>;
  /** No slot for the key is to be used before `until` (Microsoft asked, 429 Retry-After). */
  pause(key: string, until: number): Promise<void>;
  /** When a pause of the key ends (0: not paused). */
  pausedUntil(key: string, now: number): Promise<number>;
  /**
   * How often a waiter for a busy key looks again, in ms: a release in this
   * process wakes waiters at once, a release on another node is only seen by
   * looking again. Infinity when every release happens in this process.
   */
  readonly pollMs: number;
  close(): Promise<void>;
}

const MINUTE = 60_000;
const DAY = 86_400_000;

interface KeyState {
  slots: Set<string>;
  pausedUntil: number;
  /** Start times of messages in the last minute. */
  minute: number[];
  /** [time, recipients] of messages in the last 24 hours. */
  day: [number, number][];
}

/** How long until the quotas let one more message with `recipients` start (undefined: now). */
export function quotaWait(
  limits: SlotLimits, recipients: number, now: number, minute: number[], day: [number, number][],
): { waitMs: number; reason: string } | undefined {
  const perMin = limits.messagesPerMinute;
  if (perMin && minute.length >= perMin) {
    return { waitMs: minute[minute.length - perMin]! + MINUTE - now, reason: `pacing: at most ${perMin} messages per minute for this mailbox` };
  }
  const perDay = limits.recipientsPerDay;
  if (perDay && recipients <= perDay) {
    let used = day.reduce((n, [, r]) => n + r, 0);
    if (used + recipients > perDay) {
      for (const [t, r] of day) {
        used -= r;
        if (used + recipients <= perDay) return { waitMs: t + DAY - now, reason: `pacing: at most ${perDay} recipients per day for this mailbox` };
      }
    }
  }
  // One message larger than the whole day's quota is let through: the upstream answers for it.
  return undefined;
}

/**
 * The counters of one process. A key's counters are dropped once nothing
 * depends on them (no slot held, no pause, no message in the last minute or
 * day), a few at a time on each call: the mailbox may come from a device's
 * From header, so keys are not a fixed set.
 */
export class MemoryPacing implements PacingCoordinator {
  readonly pollMs = Infinity;
  private readonly keys = new ExpiringMap<string, KeyState>(idle);
  private readonly owners = new Map<string, KeyState>();
  private next = 0;
  /** The latest time passed in (pause() is not given one). */
  private lastNow = 0;

  async acquire(req: SlotRequest): Promise<SlotAnswer> {
    this.lastNow = Math.max(this.lastNow, req.now);
    const k = this.state(req.key, req.now);
    prune(k, req.now);
    const paused = k.pausedUntil - req.now;
    if (paused > 0 && paused > req.maxPauseMs) return { ok: false, kind: 'paused', waitMs: paused, reason: 'Microsoft asked (429 Retry-After) that this mailbox wait' };
    const quota = quotaWait(req.limits, req.recipients, req.now, k.minute, k.day);
    if (quota && quota.waitMs > 0) return { ok: false, kind: 'quota', ...quota };
    if (k.slots.size >= req.limits.concurrency) return { ok: false, kind: 'busy', inFlight: k.slots.size };
    const slot = `m${++this.next}`;
    k.slots.add(slot);
    this.owners.set(slot, k);
    if (req.limits.messagesPerMinute) k.minute.push(req.now);
    if (req.limits.recipientsPerDay) k.day.push([req.now, req.recipients]);
    return { ok: true, slot };
  }

  async spend(req: BudgetRequest): Promise<BudgetAnswer> {
    this.lastNow = Math.max(this.lastNow, req.now);
    const k = this.state(req.key, req.now);
    prune(k, req.now);
    const used = k.day.reduce((n, [, r]) => n + r, 0);
    const paused = k.pausedUntil - req.now;
    if (paused > 0) return { ok: false, kind: 'paused', waitMs: paused, reason: dailyLimitPause(k.pausedUntil), used };
    const quota = quotaWait({ concurrency: 1, recipientsPerDay: req.perDay }, req.recipients, req.now, [], k.day);
    if (quota && quota.waitMs > 0) return { ok: false, kind: 'quota', ...quota, used };
    if (req.dryRun) return { ok: true, used };
    k.day.push([req.now, req.recipients]);
    return { ok: true, used: used + req.recipients };
  }

  async spent(key: string, now: number): Promise<number> {
    const k = this.keys.get(key);
    if (!k) return 0;
    return k.day.reduce((n, [t, r]) => (t > now - DAY ? n + r : n), 0);
  }

  async release(slot: string): Promise<void> {
    this.owners.get(slot)?.slots.delete(slot);
    this.owners.delete(slot);
  }

  async pause(key: string, until: number): Promise<void> {
    const k = this.state(key, this.lastNow);
    k.pausedUntil = Math.max(k.pausedUntil, until);
  }

  async pausedUntil(key: string, now: number): Promise<number> {
    const until = this.keys.get(key)?.pausedUntil ?? 0;
    return until > now ? until : 0;
  }

  async close(): Promise<void> {}

  /** Keys whose counts are kept (for tests: it stays near the keys in use). */
  size(): number {
    return this.keys.size;
  }

  /** The key's counters (new ones when it has none); storing them sweeps a few idle keys. */
  private state(key: string, now: number): KeyState {
    const k = this.keys.get(key) ?? { slots: new Set(), pausedUntil: 0, minute: [], day: [] };
    this.keys.set(key, k, now);
    return k;
  }
}

/** Why a budget key is paused: Microsoft refused for the mailbox's daily limit. */
export function dailyLimitPause(until: number): string {
  return `Microsoft refused this mailbox for its daily sending limit; nothing is sent as it until ${new Date(until).toISOString()}`;
}

/** Nothing depends on the key's counters any more: dropping them changes no answer. */
function idle(k: KeyState, now: number): boolean {
  return k.slots.size === 0 && k.pausedUntil <= now && (k.minute.at(-1) ?? -Infinity) <= now - MINUTE && (k.day.at(-1)?.[0] ?? -Infinity) <= now - DAY;
}

function prune(k: KeyState, now: number): void {
  while (k.minute.length && k.minute[0]! <= now - MINUTE) k.minute.shift();
  while (k.day.length && k.day[0]![0] <= now - DAY) k.day.shift();
}
