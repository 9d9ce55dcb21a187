/**
 * Retry timing. Message-caused failures back off per message; destination-
 * caused failures pause the whole route (one probe message goes first when
 * the pause ends), so an upstream that is down is not hammered by every
 * queued message at once.
 */
export interface BackoffOptions {
  minBackoff: number;
  maxBackoff: number;
  destinationMinBackoff: number;
  destinationMaxBackoff: number;
}

export function jitter(ms: number, random: () => number = Math.random): number {
  return Math.round(ms * (0.75 + 0.5 * random()));
}

export function messageBackoff(attempts: number, o: BackoffOptions, random?: () => number): number {
  const exp = Math.min(o.maxBackoff, o.minBackoff * 2 ** Math.max(0, attempts - 1));
  return Math.min(o.maxBackoff, jitter(exp, random));
}

export function destinationBackoff(failures: number, o: BackoffOptions, random?: () => number): number {
  const exp = Math.min(o.destinationMaxBackoff, o.destinationMinBackoff * 2 ** Math.max(0, failures - 1));
  return Math.min(o.destinationMaxBackoff, jitter(exp, random));
}

/** State of one upstream as this node sees it. */
export class DestinationHealth {
  failures = 0;
  pausedUntil = 0;
  /** After a pause, only one message is tried until one succeeds. */
  probing = false;
  lastError: string | undefined;
  /** When the failures in a row began (0 while the upstream answers). */
  downSince = 0;

  available(now: number): boolean {
    return this.pausedUntil <= now;
  }

  /** Records a destination failure; returns the time the route resumes. */
  fail(now: number, o: BackoffOptions, error: string, retryAfterMs?: number): number {
    this.lastError = error;
    if (this.downSince === 0) this.downSince = now;
    if (this.pausedUntil > now) return this.pausedUntil; // already paused: count once
    this.failures++;
    const wait = retryAfterMs !== undefined ? Math.max(retryAfterMs, 1000) : destinationBackoff(this.failures, o);
    this.pausedUntil = now + wait;
    this.probing = true;
    return this.pausedUntil;
  }

  succeed(): void {
    this.downSince = 0;
    this.failures = 0;
    this.pausedUntil = 0;
    this.probing = false;
    this.lastError = undefined;
  }
}
