/**
 * Pacing counters in PostgreSQL, shared by every node (see spool/pacing.ts).
 * Each acquire runs in one transaction holding an advisory lock for its key,
 * so two nodes never both take the last slot or the last message of a
 * quota. A slot is a row with a lease that its node renews while the
 * message is being sent; the slots of a node that died are removed by the
 * next acquire for that key once their lease has run out.
 */
import { randomUUID } from 'node:crypto';
import { dailyLimitPause, type BudgetAnswer, type BudgetRequest, type PacingCoordinator, type SlotAnswer, type SlotRequest } from '../pacing.js';
import type { Db } from './db.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
/** First key of the two-key advisory locks taken per pacing key (the second is the key's hash). */
const LOCK_CLASS = 0x4152_5001;

export interface PgPacingOptions {
  /** Lease of a slot, renewed a third of it apart while held (default 60 s). */
  leaseMs?: number;
  /** How often a waiter for a busy key looks again (default 250 ms). */
  pollMs?: number;
  /** The clock for lease renewals (default Date.now). */
  clock?: () => number;
}

export class PgPacing implements PacingCoordinator {
  readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly clock: () => number;
  private readonly held = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    /** The node holding the slots taken here (shown in pacing_slots). */
    private readonly holder: string,
    opts: PgPacingOptions = {},
  ) {
    this.leaseMs = opts.leaseMs ?? 60_000;
    this.pollMs = opts.pollMs ?? 250;
    this.clock = opts.clock ?? Date.now;
  }

  async acquire(req: SlotRequest): Promise<SlotAnswer> {
    const { key, now, limits } = req;
    const answer = await this.db.tx(async (tx): Promise<SlotAnswer> => {
      await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS, key]);
      await tx.query('DELETE FROM pacing_slots WHERE key = $1 AND lease_until < $2', [key, now]);
      const pause = (await tx.query<{ until: number }>('SELECT until FROM pacing_pauses WHERE key = $1', [key])).rows[0]?.until ?? 0;
      if (pause - now > 0 && pause - now > req.maxPauseMs) {
        return { ok: false, kind: 'paused', waitMs: pause - now, reason: 'Microsoft asked (429 Retry-After) that this mailbox wait' };
      }
      const perMin = limits.messagesPerMinute;
      const perDay = limits.recipientsPerDay;
      if (perMin || perDay) await tx.query('DELETE FROM pacing_starts WHERE key = $1 AND at <= $2', [key, now - DAY]);
      if (perMin) {
        // The perMin-th latest start in the last minute: one more may start a minute after it.
        const r = await tx.query<{ at: number }>(`SELECT at FROM pacing_starts WHERE key = $1 AND at > $2 ORDER BY at DESC, id DESC OFFSET $3 LIMIT 1`,
          [key, now - MINUTE, perMin - 1]);
        const at = r.rows[0]?.at;
        if (at !== undefined && at + MINUTE - now > 0) {
          return { ok: false, kind: 'quota', waitMs: at + MINUTE - now, reason: `pacing: at most ${perMin} messages per minute for this mailbox` };
        }
      }
      if (perDay && req.recipients <= perDay) {
        const used = (await tx.query<{ used: number }>('SELECT COALESCE(SUM(recipients), 0)::bigint AS used FROM pacing_starts WHERE key = $1 AND at > $2',
          [key, now - DAY])).rows[0]!.used;
        if (used + req.recipients > perDay) {
          // The oldest start whose expiry (with those before it) frees enough recipients.
          const r = await tx.query<{ at: number }>(`SELECT at FROM (
              SELECT at, SUM(recipients) OVER (ORDER BY at, id) AS freed FROM pacing_starts WHERE key = $1 AND at > $2) s
            WHERE $3::bigint - freed + $4::bigint <= $5::bigint ORDER BY at LIMIT 1`, [key, now - DAY, used, req.recipients, perDay]);
          const at = r.rows[0]?.at;
          if (at !== undefined && at + DAY - now > 0) {
            return { ok: false, kind: 'quota', waitMs: at + DAY - now, reason: `pacing: at most ${perDay} recipients per day for this mailbox` };
          }
        }
      }
      const inFlight = (await tx.query<{ n: number }>('SELECT COUNT(*) AS n FROM pacing_slots WHERE key = $1', [key])).rows[0]!.n;
      if (inFlight >= limits.concurrency) return { ok: false, kind: 'busy', inFlight };
      const slot = randomUUID();
      await tx.query('INSERT INTO pacing_slots (slot, key, holder, acquired_at, lease_until) VALUES ($1, $2, $3, $4, $5)',
        [slot, key, this.holder, now, now + this.leaseMs]);
      if (perMin || perDay) await tx.query('INSERT INTO pacing_starts (key, at, recipients) VALUES ($1, $2, $3)', [key, now, req.recipients]);
      return { ok: true, slot };
    });
    if (answer.ok) {
      this.held.add(answer.slot);
      this.startRenewals();
    }
    return answer;
  }

  async spend(req: BudgetRequest): Promise<BudgetAnswer> {
    const { key, now, perDay } = req;
    return this.db.tx(async (tx): Promise<BudgetAnswer> => {
      await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS, key]);
      await tx.query('DELETE FROM pacing_starts WHERE key = $1 AND at <= $2', [key, now - DAY]);
      const used = Number((await tx.query<{ used: string }>('SELECT COALESCE(SUM(recipients), 0)::bigint AS used FROM pacing_starts WHERE key = $1 AND at > $2',
        [key, now - DAY])).rows[0]!.used);
      const pause = (await tx.query<{ until: number }>('SELECT until FROM pacing_pauses WHERE key = $1', [key])).rows[0]?.until ?? 0;
      if (pause > now) return { ok: false, kind: 'paused', waitMs: pause - now, reason: dailyLimitPause(Number(pause)), used };
      if (req.recipients <= perDay && used + req.recipients > perDay) {
        const r = await tx.query<{ at: number }>(`SELECT at FROM (
            SELECT at, SUM(recipients) OVER (ORDER BY at, id) AS freed FROM pacing_starts WHERE key = $1 AND at > $2) s
          WHERE $3::bigint - freed + $4::bigint <= $5::bigint ORDER BY at LIMIT 1`, [key, now - DAY, used, req.recipients, perDay]);
        const at = r.rows[0]?.at;
        if (at !== undefined && at + DAY - now > 0) {
          return { ok: false, kind: 'quota', waitMs: at + DAY - now, reason: `pacing: at most ${perDay} recipients per day for this mailbox`, used };
        }
      }
      if (req.dryRun) return { ok: true, used };
      await tx.query('INSERT INTO pacing_starts (key, at, recipients) VALUES ($1, $2, $3)', [key, now, req.recipients]);
      return { ok: true, used: used + req.recipients };
    });
  }

  async spent(key: string, now: number): Promise<number> {
    const r = await this.db.query<{ used: string }>('SELECT COALESCE(SUM(recipients), 0)::bigint AS used FROM pacing_starts WHERE key = $1 AND at > $2', [key, now - DAY]);
    return Number(r.rows[0]!.used);
  }

  async release(slot: string): Promise<void> {
    this.held.delete(slot);
    if (this.held.size === 0) this.stopRenewals();
    await this.db.query('DELETE FROM pacing_slots WHERE slot = $1', [slot]);
  }

  async pause(key: string, until: number): Promise<void> {
    await this.db.query(`INSERT INTO pacing_pauses (key, until) VALUES ($1, $2)
      ON CONFLICT (key) DO UPDATE SET until = GREATEST(pacing_pauses.until, EXCLUDED.until)`, [key, until]);
  }

  async pausedUntil(key: string, now: number): Promise<number> {
    const until = (await this.db.query<{ until: number }>('SELECT until FROM pacing_pauses WHERE key = $1', [key])).rows[0]?.until ?? 0;
    return until > now ? until : 0;
  }

  /** Extends the leases of the slots held here. */
  async renew(): Promise<void> {
    if (this.held.size === 0) return;
    await this.db.query('UPDATE pacing_slots SET lease_until = $1 WHERE slot = ANY($2)', [this.clock() + this.leaseMs, [...this.held]]);
  }

  /** Stops renewing; slots still held are given back. */
  async close(): Promise<void> {
    this.stopRenewals();
    const held = [...this.held];
    this.held.clear();
    if (held.length) await this.db.query('DELETE FROM pacing_slots WHERE slot = ANY($1)', [held]).catch(() => undefined);
  }

  private startRenewals(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.renew().catch(() => undefined), Math.max(50, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  private stopRenewals(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
