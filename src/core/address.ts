/** Mail address helpers: domain extraction, pattern matching, and open-relay syntax checks. */

export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase().replace(/\.$/, '');
}

export function localPartOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : address.slice(0, at);
}

/** Pattern forms: "*", "*@domain", "*@*.domain", "user@domain" (case-insensitive). */
export function matchesAddressPattern(address: string, pattern: string): boolean {
  const a = address.toLowerCase();
  const p = pattern.toLowerCase().trim();
  if (p === '*') return true;
  if (p.startsWith('*@')) return matchesDomainPattern(domainOf(a), p.slice(2));
  if (!p.includes('@')) return matchesDomainPattern(domainOf(a), p);
  return a === p;
}

/** "example.com" matches itself; "*.example.com" matches subdomains only; "*" matches all. */
export function matchesDomainPattern(domain: string, pattern: string): boolean {
  const d = domain.toLowerCase().replace(/\.$/, '');
  const p = pattern.toLowerCase().replace(/\.$/, '');
  if (p === '*') return true;
  if (p.startsWith('*.')) return d.endsWith(p.slice(1));
  return d === p;
}

/**
 * Recipient syntax that has been used to relay through misconfigured servers:
 * percent hack (user%host@relay), bang paths (host!user), source routes
 * (@a,@b:user@c), quoted local parts hiding an @, and more than one @.
 * Such recipients are refused whoever sends them.
 */
export function relayTrickIn(address: string): string | undefined {
  if (address.startsWith('@') || /^@[^:]*:/.test(address)) return 'source routes are not accepted';
  const at = address.lastIndexOf('@');
  const local = at < 0 ? address : address.slice(0, at);
  const domain = at < 0 ? '' : address.slice(at + 1);
  // Relay tricks are named before "no domain", so host!user and "user@host" say what is wrong.
  if (local.startsWith('"') || local.includes('@')) return 'quoted local parts or a second @ are not accepted';
  if (/[%!]/.test(local)) return 'the characters % and ! are not accepted in the local part';
  if (at <= 0) return 'the address needs a local part and a domain, like user@example.com';
  if (/[\s<>()[\]\\,;:]/.test(local)) return 'the local part contains characters that are not accepted';
  if (!/^(?:[a-z0-9\u0080-\uffff](?:[a-z0-9\u0080-\uffff-]*[a-z0-9\u0080-\uffff])?\.)*[a-z0-9\u0080-\uffff](?:[a-z0-9\u0080-\uffff-]*[a-z0-9\u0080-\uffff])?$/i.test(domain)) {
    return 'the domain is not a valid host name';
  }
  return undefined;
}

/** A sender that can receive a notice: not null, not a no-reply or daemon address, a public-looking domain. */
export function isNotifiableSender(address: string): boolean {
  if (!address) return false;
  const local = localPartOf(address).toLowerCase();
  const domain = domainOf(address);
  if (!domain.includes('.')) return false;
  if (/(^|\.)(local|localdomain|lan|internal|home|invalid|test|example|localhost)$/.test(domain)) return false;
  if (/^(mailer-daemon|no-?reply|do-?not-?reply|bounce[s]?)$/.test(local)) return false;
  return true;
}
