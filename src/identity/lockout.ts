/**
 * Brute-force protection: failed logins are counted per client address and
 * per user name inside a window; past the limit, both are locked out for a
 * while. Kept in memory (a restart forgives, as Postfix's anvil does).
 *
 * A password check takes a while (scrypt), so guesses sent on many
 * connections at once would all be checked before the first failure is
 * counted. begin() admits a check only while the failures counted plus the
 * checks in flight stay under the limit; the others wait for a check to end.
 */
export interface LockoutOptions {
  limit: number;
  windowMs: number;
  lockMs: number;
}

interface Counter {
  failures: number[];
  lockedUntil: number;
}

export class Lockout {
  private readonly counters = new Map<string, Counter>();
  /** Password checks in flight per key. */
  private readonly inFlight = new Map<string, number>();
  private waiting: (() => void)[] = [];

  constructor(private readonly opts: LockoutOptions) {}

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
    return keys.some((k) => (this.counters.get(k)?.lockedUntil ?? 0) > now);
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
      }
      this.counters.set(k, c);
    }
    this.prune(now);
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

  private prune(now: number): void {
    if (this.counters.size < 10_000) return;
    for (const [k, c] of this.counters) {
      if (c.lockedUntil < now && c.failures.every((t) => t <= now - this.opts.windowMs)) this.counters.delete(k);
    }
  }
}

/** Per-device message rate: a sliding window of acceptance times. */
export class RateLimiter {
  private readonly windows = new Map<string, number[]>();

  /** Returns 0 if allowed (and counts it), else the milliseconds until a slot frees. */
  take(key: string, limit: { messages: number; per: number }, now: number): number {
    const w = (this.windows.get(key) ?? []).filter((t) => t > now - limit.per);
    if (w.length >= limit.messages) {
      this.windows.set(key, w);
      return (w[0] ?? now) + limit.per - now;
    }
    w.push(now);
    this.windows.set(key, w);
    return 0;
  }
}
