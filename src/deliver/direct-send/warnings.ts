/**
 * What an administrator must know before relying on Direct Send, as plain
 * sentences: logged once when a direct-send upstream starts, and shown by
 * `doctor`. Also the outcome for recipients Direct Send cannot reach.
 */
import { domainToASCII } from 'node:url';
import type { DirectSendUpstreamConfig } from '../../config/schema.js';
import type { DeliveryOutcome } from '../../core/outcome.js';
import { isMicrosoftMx, parseHostPort } from './mx.js';

export function acceptedDomainsOf(cfg: Pick<DirectSendUpstreamConfig, 'domain' | 'acceptedDomains'>): string[] {
  return (cfg.acceptedDomains?.length ? cfg.acceptedDomains : [cfg.domain]).map(normalDomain);
}

export function directSendWarnings(cfg: Pick<DirectSendUpstreamConfig, 'domain' | 'acceptedDomains' | 'mx' | 'requireTls'>): string[] {
  const domains = acceptedDomainsOf(cfg);
  const out = [
    `Direct Send to ${cfg.domain}: the SPF record of every sender domain must include this site's public IP address, ` +
      `e.g. "v=spf1 ip4:<your public IP> include:spf.protection.outlook.com -all"; without it Microsoft 365 treats the mail as spoofed (junk or rejected).`,
    'Direct Send is refused with "550 5.7.68 TenantInboundAttribution" when the tenant has Set-OrganizationConfig -RejectDirectSend $true: ' +
      'add an inbound connector for this site\'s IP address, or send through a graph or smtp-oauth upstream instead.',
    'Direct Send mail is anonymous: Exchange Online Protection spam-filters it like mail from the internet, and it may land in Junk.',
    `Direct Send reaches only mailboxes in your own Microsoft 365 domains (${domains.join(', ')}, exact domain match); ` +
      'other recipients fail with "not-internal": route them to a graph, smtp-oauth or smtp upstream with routes: - when: { recipientDomain: [...] }.',
  ];
  if (cfg.mx && !isMicrosoftMx(parseHostPort(cfg.mx).host)) {
    out.push(`mx is set to ${cfg.mx}, which is not a *.mail.protection.outlook.com host: Direct Send normally goes to Microsoft's MX host for ${cfg.domain}.`);
  }
  if (!cfg.requireTls) out.push('TLS is used whenever the MX host offers STARTTLS (Microsoft always does); set requireTls: true to never send in the clear.');
  return out;
}

/** The MX lookup found a host that is not Microsoft's: mail would go to whatever sits in front of Microsoft 365. */
export function foreignMxWarning(domain: string, host: string): string {
  return `The MX host of ${domain} is ${host}, not a *.mail.protection.outlook.com host: a gateway in front of Microsoft 365 receives this mail, ` +
    'so it is not Direct Send (the gateway\'s own rules apply). Set mx to the Microsoft host (<domain-with-dashes>.mail.protection.outlook.com) to reach Microsoft 365 directly.';
}

/** A recipient outside the accepted domains: refused before any connection. */
export function notInternal(recipient: string, domains: string[]): DeliveryOutcome {
  return {
    action: 'fail',
    scope: 'message',
    category: 'not-internal',
    response: `${recipient} is not in the accepted domains of this Direct Send route (${domains.join(', ')})`,
    hint: 'Direct Send delivers only to mailboxes in your own Microsoft 365 domains; Microsoft does not relay anonymous mail to other domains.',
    fix: 'Route external recipients to a graph, smtp-oauth or smtp upstream, e.g. routes: - when: { recipientDomain: [example.org] } use: <that upstream>; ' +
      'or add the domain to acceptedDomains if it is one of your accepted domains in Microsoft 365.',
  };
}

/** The domain part of an address in one form: lower-case, IDN as punycode, no trailing dot. */
export function domainOf(address: string): string {
  return normalDomain(address.slice(address.lastIndexOf('@') + 1));
}

function normalDomain(d: string): string {
  const lower = d.toLowerCase().replace(/\.$/, '');
  return domainToASCII(lower) || lower;
}
