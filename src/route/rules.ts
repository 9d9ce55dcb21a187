/**
 * Routing is pure: (device, envelope) → which upstream gets which recipients.
 * Rules are tried in order; the first that matches a recipient wins. A device
 * with its own route skips the rules. Recipients no rule matches go to the
 * built-in capture route (held for inspection), never dropped.
 *
 * A rule may name an ordered list of upstreams (the first, then fallbacks):
 * the caller decides per recipient which of them takes it (`choose`, the
 * scheduler's view of which upstreams can take mail now); by default the
 * first.
 */
import type { RouteConfig } from '../config/schema.js';
import { CAPTURE_ROUTE } from '../config/capture-route.js';
import { domainOf, matchesAddressPattern, matchesDomainPattern } from '../core/address.js';

export interface RouteInput {
  device: string | null;
  deviceRoute?: string;
  sender: string;
  recipients: readonly string[];
}

export interface RouteGroup {
  route: string;
  recipients: string[];
  /** Name or position of the rule that chose it, for the trail. */
  rule: string;
  /** The rule's upstreams in order; route is one of them (the first unless a fallback was chosen). */
  chain: readonly string[];
}

/** Which upstream of a rule's list takes a recipient (the scheduler's choice); the first when not given. */
export type ChooseUpstream = (chain: readonly string[], recipient: string) => string;

export class RouteTable {
  constructor(private readonly rules: readonly RouteConfig[]) {}

  resolve(input: RouteInput, choose?: ChooseUpstream): RouteGroup[] {
    const groups = new Map<string, RouteGroup>();
    for (const rcpt of input.recipients) {
      const { chain, rule } = this.pick(input, rcpt);
      const route = choose ? choose(chain, rcpt) : chain[0]!;
      const g = groups.get(route) ?? { route, recipients: [], rule, chain };
      g.recipients.push(rcpt);
      groups.set(route, g);
    }
    return [...groups.values()];
  }

  /** Whether some rule names another upstream after this one (so its messages can move when it cannot take mail). */
  hasFallback(upstream: string): boolean {
    return this.rules.some((r) => {
      const i = r.use.indexOf(upstream);
      return i >= 0 && i < r.use.length - 1;
    });
  }

  /** The upstreams, in order, that may take this recipient (the matching rule's list). */
  chainFor(input: RouteInput, recipient: string): readonly string[] {
    return this.pick(input, recipient).chain;
  }

  private pick(input: RouteInput, rcpt: string): { chain: readonly string[]; rule: string } {
    if (input.deviceRoute) return { chain: [input.deviceRoute], rule: `device ${input.device}` };
    for (const [i, r] of this.rules.entries()) {
      const w = r.when;
      if (w.device && !(input.device !== null && w.device.includes(input.device))) continue;
      if (w.sender && !w.sender.some((p) => matchesAddressPattern(input.sender, p))) continue;
      if (w.recipientDomain && !w.recipientDomain.some((p) => matchesDomainPattern(domainOf(rcpt), p))) continue;
      return { chain: r.use, rule: r.name ?? `routes[${i}]` };
    }
    return { chain: [CAPTURE_ROUTE], rule: 'no rule matched' };
  }
}
