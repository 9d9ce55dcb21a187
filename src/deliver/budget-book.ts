/**
 * The daily sending budgets of the mailboxes the relay sends as: Exchange
 * Online counts at most 10,000 recipients per mailbox over a rolling 24
 * hours, whichever protocol or app sends. The counts themselves live in the
 * PacingCoordinator (one process, or PostgreSQL for all nodes) under the key
 * `budget/<mailbox>`; the book remembers which upstream sent as which
 * mailbox with which limit, says in the log when a mailbox passes its warning
 * share and when it reaches its budget, and answers the current use for the
 * alerts, the metrics and the console (read from the coordinator, so it
 * falls as the window rolls and counts what the other nodes sent).
 */
import { ExpiringMap } from '../core/expiring-map.js';
import type { Logger } from '../core/log.js';
import type { PacingCoordinator } from '../spool/pacing.js';

const DAY = 86_400_000;

export interface BudgetUse {
  upstream: string;
  mailbox: string;
  /** Recipients counted in the last 24 hours (all routes and nodes sending as the mailbox). */
  used: number;
  limit: number;
  /** The share of the limit at which a warning is given (0..1). */
  warnShare: number;
  /** The last time this upstream sent (or was held back) as the mailbox. */
  at: number;
}

/** The pacing key of a mailbox's daily budget: shared by every upstream that sends as it. */
export function budgetKey(mailbox: string): string {
  return `budget/${mailbox.toLowerCase()}`;
}

export class BudgetBook {
  /** Per upstream and mailbox; dropped a day after its last use (the mailbox may come from a device's From header). */
  private readonly uses = new ExpiringMap<string, BudgetUse & { level: 0 | 1 | 2 }>((u, now) => u.at <= now - DAY);

  constructor(
    private readonly coordinator: PacingCoordinator,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** An upstream counted a message (or was refused one) against the mailbox's budget; `used` as the coordinator answered. */
  record(upstream: string, mailbox: string, used: number, limit: number, warnShare: number): void {
    const now = this.now();
    const key = `${upstream}\n${mailbox.toLowerCase()}`;
    const was = this.uses.get(key);
    const level: 0 | 1 | 2 = used >= limit ? 2 : used >= warnShare * limit ? 1 : 0;
    if (level > (was?.level ?? 0)) {
      if (level === 2) {
        this.log.warn({ event: 'mailbox-budget-reached', upstream, mailbox, used, limit },
          `${mailbox} has sent to ${used} recipients in the last 24 hours, its daily budget of ${limit} on ${upstream}: its messages wait (or go to the next upstream of their route) until the window has room again`);
      } else {
        this.log.warn({ event: 'mailbox-budget-warning', upstream, mailbox, used, limit, share: warnShare },
          `${mailbox} has sent to ${used} recipients in the last 24 hours, ${Math.round((used / limit) * 100)} % of its daily budget of ${limit} on ${upstream}`);
      }
    }
    this.uses.set(key, { upstream, mailbox: mailbox.toLowerCase(), used, limit, warnShare, at: Math.max(now, was?.at ?? 0), level }, now);
  }

  /** Each mailbox sent as in the last 24 hours, with its current use. */
  async list(): Promise<BudgetUse[]> {
    const now = this.now();
    this.uses.sweep(now);
    const out: BudgetUse[] = [];
    for (const [key, u] of this.uses.all()) {
      if (u.at <= now - DAY) continue;
      const used = await this.coordinator.spent(budgetKey(u.mailbox), now).catch(() => u.used);
      // The level follows the window down, so that a later crossing is told again.
      const level: 0 | 1 | 2 = used >= u.limit ? 2 : used >= u.warnShare * u.limit ? 1 : 0;
      if (level < u.level) this.uses.set(key, { ...u, used, level }, now);
      out.push({ upstream: u.upstream, mailbox: u.mailbox, used, limit: u.limit, warnShare: u.warnShare, at: u.at });
    }
    return out;
  }
}
