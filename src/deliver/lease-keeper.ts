/**
 * Keeps a delivery's lease while the attempt runs. The lease is renewed every
 * third of its length; a renewal that fails (the database busy or briefly
 * unreachable, the store closing) is logged and tried again at the next tick,
 * never thrown: a failed renewal must not end the process. When a renewal
 * answers that the lease is no longer held (another node, or another claim of
 * this node, took the message over after it ran out), the attempt is told at
 * once through `lost` and its signal, so that it stops sending a message that
 * now belongs to someone else.
 */
import type { Logger } from '../core/log.js';
import type { LeaseRef, Store } from '../spool/store.js';

export type LeaseState =
  /** Renewed on time (or not due yet). */
  | 'held'
  /** The last renewals failed and the lease may have run out: another node may have taken the message. */
  | 'uncertain'
  /** A renewal found the lease taken over. */
  | 'lost';

export class LeaseKeeper {
  private readonly timer: NodeJS.Timeout;
  private renewing = false;
  private lastRenewed: number;
  private failures = 0;
  private readonly controller = new AbortController();
  state: LeaseState = 'held';
  /** The last renewal error, if the last renewal failed. */
  lastError: string | undefined;

  constructor(
    private readonly store: Store,
    private readonly lease: LeaseRef,
    private readonly leaseMs: number,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {
    this.lastRenewed = now();
    this.timer = setInterval(() => void this.renew(), Math.max(100, leaseMs / 3));
    this.timer.unref();
  }

  /** Aborted when the lease is found lost, or when the attempt is interrupted (the relay stopping). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Stops the attempt through its signal (the relay stopping); the lease itself is left as it is. */
  interrupt(): void {
    this.controller.abort(new Error('the relay is stopping'));
  }

  /** Renews once; never rejects. */
  async renew(): Promise<void> {
    // A renewal still waiting for the database is not doubled by the next tick.
    if (this.renewing || this.state === 'lost') return;
    this.renewing = true;
    const at = this.now();
    try {
      const held = await this.store.renewLease([this.lease], this.leaseMs, at);
      if (held.includes(this.lease.id)) {
        if (this.failures > 0) {
          this.log.info({ event: 'lease-renewed', id: this.lease.id, failures: this.failures },
            `${this.lease.id}: the delivery lease is renewed again after ${this.failures} failed renewal(s)`);
        }
        this.lastRenewed = at;
        this.failures = 0;
        this.lastError = undefined;
        this.state = 'held';
      } else {
        this.state = 'lost';
        this.log.warn({ event: 'lease-lost', id: this.lease.id, owner: this.lease.owner },
          `${this.lease.id}: the delivery lease was taken over after it ran out (another node or claim owns the message now); this attempt stops and its result will not be recorded`);
        this.controller.abort(new Error('lease lost'));
      }
    } catch (err) {
      this.failures++;
      this.lastError = (err as Error).message;
      if (at - this.lastRenewed > this.leaseMs) this.state = 'uncertain';
      // The first failure and then every tenth: a long outage does not flood the log.
      if (this.failures === 1 || this.failures % 10 === 0) {
        this.log.warn({ event: 'lease-renew-failed', id: this.lease.id, failures: this.failures, err: this.lastError },
          `${this.lease.id}: the delivery lease could not be renewed (${this.lastError}); the delivery goes on and the renewal is tried again` +
          (this.state === 'uncertain' ? '. The lease has run out meanwhile: another node may take the message over' : ''));
      }
    } finally {
      this.renewing = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
