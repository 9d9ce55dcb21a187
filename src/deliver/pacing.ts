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
 * Limits are per relay node; issue 5 (several nodes) moves the counters into
 * the shared store.
 */

export interface PacingLimits {
  /** Requests in flight per mailbox. */
  concurrency: number;
  messagesPerMinute?: number;
  recipientsPerDay?: number;
  /** Longest wait inside an attempt before answering "come back later" (default 60 s). */
  maxWaitMs?: number;
}

export type PaceGrant = { ok: true; release(): void } | { ok: false; retryAfterMs: number; reason: string };

interface MailboxState {
  inflight: number;
  /** Microsoft asked (429 + Retry-After) that nothing is sent for this mailbox before this time. */
  pausedUntil: number;
  waiters: (() => void)[];
  /** Start times of messages in the last minute. */
  minute: number[];
  /** [time, recipients] of messages in the last 24 hours. */
  day: [number, number][];
}

const MINUTE = 60_000;
const DAY = 86_400_000;

export class MailboxPacer {
  private readonly boxes = new Map<string, MailboxState>();
  private readonly now: () => number;
  /** Highest concurrency seen per mailbox (for tests and metrics). */
  readonly peak = new Map<string, number>();

  constructor(
    private readonly limits: PacingLimits,
    now?: () => number,
  ) {
    this.now = now ?? Date.now;
  }

  async acquire(mailbox: string, recipients: number, signal?: AbortSignal): Promise<PaceGrant> {
    const key = mailbox.toLowerCase();
    const box = this.box(key);
    const maxWait = this.limits.maxWaitMs ?? 60_000;
    const deadline = this.now() + maxWait;
    for (;;) {
      if (signal?.aborted) return { ok: false, retryAfterMs: 1000, reason: 'the relay is shutting down' };
      const now = this.now();
      prune(box, now);
      const paused = box.pausedUntil - now;
      if (paused > 0 && paused > deadline - now) return { ok: false, retryAfterMs: paused, reason: 'Microsoft asked (429 Retry-After) that this mailbox wait' };
      const quota = this.quotaWait(box, recipients, now);
      if (quota && quota.waitMs > 0) {
        if (quota.waitMs > deadline - now) return { ok: false, retryAfterMs: quota.waitMs, reason: quota.reason };
        await sleep(quota.waitMs, signal);
        continue;
      }
      if (box.inflight < this.limits.concurrency) {
        box.inflight++;
        this.peak.set(key, Math.max(this.peak.get(key) ?? 0, box.inflight));
        if (this.limits.messagesPerMinute) box.minute.push(now);
        if (this.limits.recipientsPerDay) box.day.push([now, recipients]);
        let released = false;
        return {
          ok: true,
          release: () => {
            if (released) return;
            released = true;
            box.inflight--;
            // Every waiter looks again: the first may find itself held back by a quota, and must not keep the others asleep.
            for (const wake of box.waiters.splice(0)) wake();
          },
        };
      }
      const left = deadline - now;
      if (left <= 0) return { ok: false, retryAfterMs: 5_000, reason: `${this.limits.concurrency} requests for ${mailbox} are already in flight` };
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          const i = box.waiters.indexOf(wake);
          if (i >= 0) box.waiters.splice(i, 1);
          done();
        }, left);
        // Shutdown ends the wait at once (the loop then answers "shutting down").
        const onAbort = () => {
          const i = box.waiters.indexOf(wake);
          if (i >= 0) box.waiters.splice(i, 1);
          clearTimeout(t);
          done();
        };
        const wake = () => {
          clearTimeout(t);
          done();
        };
        function done() {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }
        signal?.addEventListener('abort', onAbort, { once: true });
        box.waiters.push(wake);
      });
    }
  }

  /**
   * Microsoft throttled this mailbox (429 with Retry-After): no request for it
   * before the time has passed, from any message (Retry-After is per app and
   * mailbox, not per request).
   */
  pause(mailbox: string, ms: number): void {
    const box = this.box(mailbox.toLowerCase());
    box.pausedUntil = Math.max(box.pausedUntil, this.now() + ms);
  }

  /** Waits until the mailbox is not paused; answers how long it waited. */
  async whenOpen(mailbox: string, signal?: AbortSignal): Promise<number> {
    const box = this.box(mailbox.toLowerCase());
    let waited = 0;
    for (;;) {
      const wait = box.pausedUntil - this.now();
      if (wait <= 0 || signal?.aborted) return waited;
      await sleep(wait, signal);
      waited += wait;
    }
  }

  /** When a pause set by pause() ends (0: not paused). */
  pausedUntil(mailbox: string): number {
    const until = this.boxes.get(mailbox.toLowerCase())?.pausedUntil ?? 0;
    return until > this.now() ? until : 0;
  }

  private quotaWait(box: MailboxState, recipients: number, now: number): { waitMs: number; reason: string } | undefined {
    const perMin = this.limits.messagesPerMinute;
    if (perMin && box.minute.length >= perMin) {
      return { waitMs: box.minute[box.minute.length - perMin]! + MINUTE - now, reason: `pacing: at most ${perMin} messages per minute for this mailbox` };
    }
    const perDay = this.limits.recipientsPerDay;
    if (perDay) {
      let used = box.day.reduce((n, [, r]) => n + r, 0);
      if (used + recipients > perDay) {
        if (recipients > perDay) return { waitMs: 0, reason: '' }; // one message larger than the whole quota: let the upstream answer
        for (const [t, r] of box.day) {
          used -= r;
          if (used + recipients <= perDay) return { waitMs: t + DAY - now, reason: `pacing: at most ${perDay} recipients per day for this mailbox` };
        }
      }
    }
    return undefined;
  }

  private box(key: string): MailboxState {
    let b = this.boxes.get(key);
    if (!b) this.boxes.set(key, (b = { inflight: 0, pausedUntil: 0, waiters: [], minute: [], day: [] }));
    return b;
  }
}

function prune(box: MailboxState, now: number): void {
  while (box.minute.length && box.minute[0]! <= now - MINUTE) box.minute.shift();
  while (box.day.length && box.day[0]![0] <= now - DAY) box.day.shift();
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
