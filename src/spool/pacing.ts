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

export interface PacingCoordinator {
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

/** The counters of one process. */
export class MemoryPacing implements PacingCoordinator {
  readonly pollMs = Infinity;
  private readonly keys = new Map<string, KeyState>();
  private readonly owners = new Map<string, KeyState>();
  private next = 0;

  async acquire(req: SlotRequest): Promise<SlotAnswer> {
    const k = this.state(req.key);
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

  async release(slot: string): Promise<void> {
    this.owners.get(slot)?.slots.delete(slot);
    this.owners.delete(slot);
  }

  async pause(key: string, until: number): Promise<void> {
    const k = this.state(key);
    k.pausedUntil = Math.max(k.pausedUntil, until);
  }

  async pausedUntil(key: string, now: number): Promise<number> {
    const until = this.keys.get(key)?.pausedUntil ?? 0;
    return until > now ? until : 0;
  }

  async close(): Promise<void> {}

  private state(key: string): KeyState {
    let k = this.keys.get(key);
    if (!k) this.keys.set(key, (k = { slots: new Set(), pausedUntil: 0, minute: [], day: [] }));
    return k;
  }
}

function prune(k: KeyState, now: number): void {
  while (k.minute.length && k.minute[0]! <= now - MINUTE) k.minute.shift();
  while (k.day.length && k.day[0]![0] <= now - DAY) k.day.shift();
}
