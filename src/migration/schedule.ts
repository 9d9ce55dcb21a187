/**
 * The scheduled scan: while the configuration has a migration section with
 * `schedule: daily` (the default once the section is there), the relay
 * scans once a day. The check runs every few minutes and looks at the
 * newest stored scan, so a restart does not scan again before a day has
 * passed, a reload that adds or removes the section takes effect at the
 * next check, and a failed scan is tried again an hour later. Built and
 * started by the composition root (see docs/migration.md for the wiring).
 */
import type { Logger } from '../core/log.js';
import { UserError } from '../core/user-error.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

export interface MigrationScheduleDeps {
  /** Runs one scan (MigrationService.scan with trigger 'schedule'). */
  scan: () => Promise<unknown>;
  /** When the newest stored scan finished (undefined: none yet). */
  lastScanAt: () => Promise<number | undefined>;
  /** true while the configuration in effect wants a daily scan. */
  enabled: () => boolean;
  log: Logger;
  /** How often to check whether a scan is due (default 10 minutes). */
  checkEveryMs?: number;
  /** Between scans (default 24 h). */
  intervalMs?: number;
  /** After a failed scan, wait this long before the next try (default 1 h). */
  retryAfterMs?: number;
  now?: () => number;
}

export class MigrationSchedule {
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;
  private failedAt: number | undefined;
  private readonly now: () => number;

  constructor(private readonly deps: MigrationScheduleDeps) {
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.deps.checkEveryMs ?? 10 * 60_000);
    this.timer.unref();
    void this.tick();
  }

  /** Stops the checks and waits for a scan in progress to end. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.busy;
  }

  /** Scans when one is due; resolves when done (exported for tests and for a check right after a reload). */
  tick(): Promise<void> {
    this.busy ??= this.check().finally(() => {
      this.busy = undefined;
    });
    return this.busy;
  }

  private async check(): Promise<void> {
    const { log } = this.deps;
    if (!this.deps.enabled()) return;
    const now = this.now();
    if (this.failedAt !== undefined && now - this.failedAt < (this.deps.retryAfterMs ?? HOUR)) return;
    try {
      const last = await this.deps.lastScanAt();
      if (last !== undefined && now - last < (this.deps.intervalMs ?? DAY)) return;
      await this.deps.scan();
      this.failedAt = undefined;
    } catch (err) {
      this.failedAt = now;
      const reason = err instanceof UserError ? err.message : (err as Error).message;
      log.error({ event: 'migration-schedule-failed', err: reason },
        `the scheduled migration scan could not run: ${reason}; it is tried again in an hour`);
    }
  }
}
