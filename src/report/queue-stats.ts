/**
 * The queue at a glance, read from the spool when asked (a metrics scrape,
 * an alert check): messages per state, waiting messages per route, and when
 * the oldest waiting message arrived. Waiting means incoming, active or
 * deferred: accepted and not finished. Held messages wait for a person and
 * are counted by state only.
 */
import type { MessageState, Store } from '../spool/store.js';

export const WAITING_STATES: readonly MessageState[] = ['incoming', 'active', 'deferred'];

/** At most this many waiting messages are read for the per-route depth and the oldest age. */
export const WAITING_SCAN_LIMIT = 20_000;

export interface QueueStats {
  byState: Record<MessageState, number>;
  /** incoming + active + deferred. */
  waiting: number;
  /** Waiting messages per route ("unrouted" before the route is chosen). */
  waitingByRoute: Map<string, number>;
  /** Arrival time (ms) of the oldest waiting message; undefined when none waits. */
  oldestWaitingAt: number | undefined;
  /** True when more messages wait than were read (per-route depth and age are then lower bounds). */
  truncated: boolean;
}

export async function queueStats(store: Store): Promise<QueueStats> {
  const byState = await store.counts();
  const waiting = WAITING_STATES.reduce((n, s) => n + byState[s], 0);
  const waitingByRoute = new Map<string, number>();
  let oldestWaitingAt: number | undefined;
  if (waiting > 0) {
    const limit = Math.min(waiting, WAITING_SCAN_LIMIT);
    for (const m of await store.list({ states: [...WAITING_STATES], limit })) {
      const route = m.route ?? 'unrouted';
      waitingByRoute.set(route, (waitingByRoute.get(route) ?? 0) + 1);
      if (oldestWaitingAt === undefined || m.receivedAt < oldestWaitingAt) oldestWaitingAt = m.receivedAt;
    }
  }
  return { byState, waiting, waitingByRoute, oldestWaitingAt, truncated: waiting > WAITING_SCAN_LIMIT };
}
