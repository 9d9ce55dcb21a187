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
import { MemoryPacing, type PacingCoordinator, type SlotAnswer } from '../spool/pacing.js';

export interface PacingLimits {
  /** Requests in flight per mailbox. */
  concurrency: number;
  messagesPerMinute?: number;
  recipientsPerDay?: number;
  /** Longest wait inside an attempt before answering "come back later" (default 60 s). */
  maxWaitMs?: number;
}

export interface PacerOptions {
  /** Where the counts are kept (default: in this process). */
  coordinator?: PacingCoordinator;
  /** What the limits belong to besides the mailbox, e.g. the upstream's name (default none). */
  scope?: string;
}

export type PaceGrant = { ok: true; release(): void } | { ok: false; retryAfterMs: number; reason: string };

export class MailboxPacer {
  private readonly now: () => number;
  private readonly coordinator: PacingCoordinator;
  private readonly scope: string;
  /** Waiters for a slot per key: a slot released in this process wakes them. */
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Slots held from this process per key. */
  private readonly inflight = new Map<string, number>();
  /** Pauses set from this process (seen at once, before the coordinator has them). */
  private readonly paused = new Map<string, number>();
  /** Highest concurrency seen per mailbox from this process (for tests and metrics). */
  readonly peak = new Map<string, number>();

  constructor(
    private readonly limits: PacingLimits,
    now?: () => number,
    opts: PacerOptions = {},
  ) {
    this.now = now ?? Date.now;
    this.coordinator = opts.coordinator ?? new MemoryPacing();
    this.scope = opts.scope ?? '';
  }

  private key(mailbox: string): string {
    return `${this.scope}/${mailbox.toLowerCase()}`;
  }

  async acquire(mailbox: string, recipients: number, signal?: AbortSignal): Promise<PaceGrant> {
    const key = this.key(mailbox);
    const local = mailbox.toLowerCase();
    const maxWait = this.limits.maxWaitMs ?? 60_000;
    const deadline = this.now() + maxWait;
    const { concurrency, messagesPerMinute, recipientsPerDay } = this.limits;
    for (;;) {
      if (signal?.aborted) return { ok: false, retryAfterMs: 1000, reason: 'the relay is shutting down' };
      const now = this.now();
      let answer: SlotAnswer;
      try {
        answer = await this.coordinator.acquire({
          key, recipients, now, maxPauseMs: deadline - now, limits: { concurrency, messagesPerMinute, recipientsPerDay },
        });
      } catch (err) {
        // The shared counts cannot be reached (the database is down): come back later rather than exceed the limits.
        return { ok: false, retryAfterMs: 5_000, reason: `the pacing counts could not be read (${(err as Error).message})` };
      }
      if (answer.ok) {
        const n = (this.inflight.get(key) ?? 0) + 1;
        this.inflight.set(key, n);
        this.peak.set(local, Math.max(this.peak.get(local) ?? 0, n));
        let released = false;
        return {
          ok: true,
          release: () => {
            if (released) return;
            released = true;
            this.inflight.set(key, (this.inflight.get(key) ?? 1) - 1);
            // Every waiter looks again once the slot is back: the first may find itself held back by a quota, and must not keep the others asleep.
            const wake = () => {
              for (const w of [...(this.waiters.get(key) ?? [])]) w();
            };
            this.coordinator.release(answer.slot).then(wake, wake);
          },
        };
      }
      if (answer.kind === 'paused') return { ok: false, retryAfterMs: answer.waitMs, reason: answer.reason };
      if (answer.kind === 'quota') {
        if (answer.waitMs > deadline - now) return { ok: false, retryAfterMs: answer.waitMs, reason: answer.reason };
        await sleep(answer.waitMs, signal);
        continue;
      }
      const left = deadline - now;
      if (left <= 0) return { ok: false, retryAfterMs: 5_000, reason: `${concurrency} requests for ${mailbox} are already in flight` };
      await this.waitForSlot(key, Math.min(left, this.coordinator.pollMs), signal);
    }
  }

  /** Until a slot of the key is released here, ms pass, or shutdown. */
  private waitForSlot(key: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      let set = this.waiters.get(key);
      if (!set) this.waiters.set(key, (set = new Set()));
      const waiters = set;
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
    this.paused.set(key, Math.max(this.paused.get(key) ?? 0, until));
    this.coordinator.pause(key, until).catch(() => undefined);
  }

  /** Waits until the mailbox is not paused; answers how long it waited. */
  async whenOpen(mailbox: string, signal?: AbortSignal): Promise<number> {
    const key = this.key(mailbox);
    let waited = 0;
    for (;;) {
      const now = this.now();
      const shared = await this.coordinator.pausedUntil(key, now).catch(() => 0);
      const wait = Math.max(this.paused.get(key) ?? 0, shared) - now;
      if (wait <= 0 || signal?.aborted) return waited;
      await sleep(wait, signal);
      waited += wait;
    }
  }

  /** When a pause set by pause() from this process ends (0: not paused). */
  pausedUntil(mailbox: string): number {
    const until = this.paused.get(this.key(mailbox)) ?? 0;
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
