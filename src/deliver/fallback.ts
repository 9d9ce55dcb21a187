/**
 * Fallback upstreams: which upstreams cannot take mail now, so that a route
 * listing several (`use: [m365, relay]`) sends its messages to the next one.
 * An upstream is out for route-level reasons only: it has been down (paused
 * after connection failures) for longer than queue.fallbackAfter, or it
 * refused for the whole route — sign-in, a permission, the tenant's
 * settings, a licence, the sending mailbox blocked or over its daily limit.
 * A refusal about the message or a recipient (a bad address, the size, the
 * content) never moves a message: it would only be refused again elsewhere,
 * or worse, delivered a second way.
 *
 * While an upstream is out, every so often (doubling from
 * queue.destinationMinBackoff up to destinationMaxBackoff) one new message
 * is sent to it as a probe; when a message gets through, it is back.
 */

/** Outcome categories that are about the route, not the message: a fallback is tried at once. */
export const ROUTE_LEVEL_CATEGORIES: ReadonlySet<string> = new Set(['auth', 'permission', 'tenant-config', 'licence', 'blocked', 'quota']);

export interface FallbackState {
  since: number;
  /** Why the upstream cannot take mail (the reply, or "down since"). */
  reason: string;
  /** The same in Japanese (the upstream's own reply reads the same in both). */
  reasonJa?: string;
  category: string;
  /** When a probe message may be sent to it again. */
  probeAt: number;
  backoffMs: number;
}

export class FallbackBook {
  private readonly states = new Map<string, FallbackState>();

  /** Marks the upstream out; true when it was not out already. */
  mark(upstream: string, reason: string, category: string, now: number, firstBackoffMs: number, reasonJa?: string): boolean {
    const was = this.states.get(upstream);
    if (was) {
      was.reason = reason;
      was.reasonJa = reasonJa;
      was.category = category;
      return false;
    }
    this.states.set(upstream, { since: now, reason, ...(reasonJa !== undefined ? { reasonJa } : {}), category, probeAt: now + firstBackoffMs, backoffMs: firstBackoffMs });
    return true;
  }

  /** The upstream answered: it is back. Returns the state it was in, if it was out. */
  clear(upstream: string): FallbackState | undefined {
    const was = this.states.get(upstream);
    this.states.delete(upstream);
    return was;
  }

  get(upstream: string): FallbackState | undefined {
    return this.states.get(upstream);
  }

  /**
   * The upstreams a message must not be routed to now. One whose probe is
   * due is left out of the set, once: this message is its probe.
   */
  excluded(now: number, maxBackoffMs: number): Set<string> {
    const out = new Set<string>();
    for (const [name, st] of this.states) {
      if (now >= st.probeAt) {
        st.backoffMs = Math.min(st.backoffMs * 2, maxBackoffMs);
        st.probeAt = now + st.backoffMs;
        continue;
      }
      out.add(name);
    }
    return out;
  }

  list(): [string, FallbackState][] {
    return [...this.states];
  }
}

/** The upstream of a rule's list that takes a recipient now: the first that exists, accepts it and is not out; else the first. */
export function pickUpstream(chain: readonly string[], recipient: string, transports: ReadonlyMap<string, { accepts?(r: string): boolean }>, out: ReadonlySet<string>): string {
  for (const name of chain) {
    const t = transports.get(name);
    if (!t || out.has(name)) continue;
    if (t.accepts && !t.accepts(recipient)) continue;
    return name;
  }
  // Nothing can take it now: it waits for the first (Direct Send as the fallback takes its own domains only).
  return chain[0]!;
}

/** Whether an upstream after `current` in the list could take the recipient (so a route-level refusal moves it). */
export function hasNext(chain: readonly string[], current: string, recipient: string, transports: ReadonlyMap<string, { accepts?(r: string): boolean }>): boolean {
  const i = chain.indexOf(current);
  if (i < 0) return false;
  return chain.slice(i + 1).some((name) => {
    const t = transports.get(name);
    return t !== undefined && (!t.accepts || t.accepts(recipient));
  });
}
