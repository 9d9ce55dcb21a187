/**
 * Brute-force protection: failed logins are counted per client address and
 * per user name inside a window; past the limit, both are locked out for a
 * while. Kept in memory (a restart forgives, as Postfix's anvil does).
 *
 * A password check takes a while (scrypt), so guesses sent on many
 * connections at once would all be checked before the first failure is
 * counted. begin() admits a check only while the failures counted plus the
 * checks in flight stay under the limit; the others wait for a check to end.
 *
 * Addresses and user names are chosen by whoever connects, so their counts
 * expire: a key with no failure inside the window and no lock running is
 * dropped, a few at a time on each failure (never a walk over all of them).
 *
 * The counts outlive configuration versions (a reload does not forgive a
 * guesser); the limits may be given as a function, read at every check, so
 * a reload that changes them applies at once.
 */
import { ExpiringMap } from '../core/expiring-map.js';

export interface LockoutOptions {
  limit: number;
  windowMs: number;
  lockMs: number;
}

interface Counter {
  failures: number[];
  lockedUntil: number;
}

/**
 * What a login check needs of the failure counts: the Lockout itself, or in
 * a receive worker process (workers > 1) the primary's Lockout over IPC
 * (root/worker-ipc.ts), so that every process counts the same failures.
 */
export interface LoginLimits {
  begin(keys: string[]): Promise<() => void>;
  isLocked(keys: string[], now: number): boolean;
  fail(keys: string[], now: number): boolean | Promise<boolean>;
  succeed(keys: string[]): void;
}

/** What the per-device message rate needs: the RateLimiter, or the primary's over IPC. */
export interface MessageRates {
  take(key: string, limit: { messages: number; per: number }, now: number): number | Promise<number>;
}

export class Lockout implements LoginLimits {
  private readonly counters: ExpiringMap<string, Counter>;
  /** Password checks in flight per key. */
  private readonly inFlight = new Map<string, number>();
  private waiting: (() => void)[] = [];
  private readonly settings: () => LockoutOptions;
  /** Told of every key that becomes locked (the receive workers keep a copy of the locks). */
  onLock: ((key: string, until: number) => void) | undefined;

  constructor(opts: LockoutOptions | (() => LockoutOptions)) {
    this.settings = typeof opts === 'function' ? opts : () => opts;
    this.counters = new ExpiringMap((c, now) => c.lockedUntil <= now && (c.failures.at(-1) ?? -Infinity) <= now - this.opts.windowMs);
  }

  private get opts(): LockoutOptions {
    return this.settings();
  }

  /**
   * Waits until a password check for these keys may start (every key is
   * locked, or has room under the limit for one more failure), counts it in
   * flight, and returns the function that ends it. Call that function once
   * the outcome has been recorded with succeed() or fail().
   */
  async begin(keys: string[]): Promise<() => void> {
    while (!keys.every((k) => this.isLocked([k], Date.now()) || this.failures(k, Date.now()) + (this.inFlight.get(k) ?? 0) < this.opts.limit)) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    for (const k of keys) this.inFlight.set(k, (this.inFlight.get(k) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      for (const k of keys) {
        const n = (this.inFlight.get(k) ?? 1) - 1;
        if (n > 0) this.inFlight.set(k, n);
        else this.inFlight.delete(k);
      }
      const wake = this.waiting;
      this.waiting = [];
      for (const w of wake) w();
    };
  }

  isLocked(keys: string[], now: number): boolean {
    return keys.some((k) => this.lockedUntil(k, now) > 0);
  }

  /** When the key's lock ends (0: not locked). */
  lockedUntil(key: string, now: number): number {
    const until = this.counters.get(key)?.lockedUntil ?? 0;
    return until > now ? until : 0;
  }

  /** Records a failure; returns true when this failure locks a key. */
  fail(keys: string[], now: number): boolean {
    let locked = false;
    for (const k of keys) {
      const c = this.counters.get(k) ?? { failures: [], lockedUntil: 0 };
      c.failures = c.failures.filter((t) => t > now - this.opts.windowMs);
      c.failures.push(now);
      if (c.failures.length >= this.opts.limit) {
        c.lockedUntil = now + this.opts.lockMs;
        c.failures = [];
        locked = true;
        this.onLock?.(k, c.lockedUntil);
      }
      this.counters.set(k, c, now);
    }
    return locked;
  }

  failures(key: string, now: number): number {
    return this.counters.get(key)?.failures.filter((t) => t > now - this.opts.windowMs).length ?? 0;
  }

  succeed(keys: string[]): void {
    for (const k of keys) {
      const c = this.counters.get(k);
      if (c && c.lockedUntil === 0) this.counters.delete(k);
    }
  }

  /** Keys with counts kept (for tests: it stays near the keys that failed lately). */
  size(): number {
    return this.counters.size;
  }
}

interface RateWindow {
  times: number[];
  per: number;
}

/** Per-device message rate: a sliding window of acceptance times (a key's window is dropped once it is empty). */
export class RateLimiter implements MessageRates {
  private readonly windows = new ExpiringMap<string, RateWindow>((w, now) => (w.times.at(-1) ?? -Infinity) <= now - w.per);

  /** Returns 0 if allowed (and counts it), else the milliseconds until a slot frees. */
  take(key: string, limit: { messages: number; per: number }, now: number): number {
    const w = (this.windows.get(key)?.times ?? []).filter((t) => t > now - limit.per);
    if (w.length >= limit.messages) {
      this.windows.set(key, { times: w, per: limit.per }, now);
      return (w[0] ?? now) + limit.per - now;
    }
    w.push(now);
    this.windows.set(key, { times: w, per: limit.per }, now);
    return 0;
  }

  /** Keys with a window kept. */
  size(): number {
    return this.windows.size;
  }
}
