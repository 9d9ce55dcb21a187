/**
 * Routing is pure: (device, envelope) → which upstream gets which recipients.
 * Rules are tried in order; the first that matches a recipient wins. A device
 * with its own route skips the rules. Recipients no rule matches go to the
 * built-in capture route (held for inspection), never dropped.
 */
import { CAPTURE_ROUTE, type RouteConfig } from '../config/schema.js';
import { domainOf, matchesAddressPattern, matchesDomainPattern } from '../core/address.js';

export { CAPTURE_ROUTE };

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
}

export class RouteTable {
  constructor(private readonly rules: readonly RouteConfig[]) {}

  resolve(input: RouteInput): RouteGroup[] {
    const groups = new Map<string, RouteGroup>();
    for (const rcpt of input.recipients) {
      const { route, rule } = this.pick(input, rcpt);
      const g = groups.get(route) ?? { route, recipients: [], rule };
      g.recipients.push(rcpt);
      groups.set(route, g);
    }
    return [...groups.values()];
  }

  private pick(input: RouteInput, rcpt: string): { route: string; rule: string } {
    if (input.deviceRoute) return { route: input.deviceRoute, rule: `device ${input.device}` };
    for (const [i, r] of this.rules.entries()) {
      const w = r.when;
      if (w.device && !(input.device !== null && w.device.includes(input.device))) continue;
      if (w.sender && !w.sender.some((p) => matchesAddressPattern(input.sender, p))) continue;
      if (w.recipientDomain && !w.recipientDomain.some((p) => matchesDomainPattern(domainOf(rcpt), p))) continue;
      return { route: r.use, rule: r.name ?? `routes[${i}]` };
    }
    return { route: CAPTURE_ROUTE, rule: 'no rule matched' };
  }
}
