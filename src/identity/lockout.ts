/**
 * Brute-force protection: failed logins are counted per client address and
 * per user name inside a window; past the limit, both are locked out for a
 * while. Kept in memory (a restart forgives, as Postfix's anvil does).
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

  constructor(private readonly opts: LockoutOptions) {}

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
