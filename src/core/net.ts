/** IP address and CIDR matching (IPv4, IPv6, and IPv4-mapped IPv6). */
import ipaddr from 'ipaddr.js';

export interface Cidr {
  readonly text: string;
  readonly range: [ipaddr.IPv4 | ipaddr.IPv6, number];
}

export function parseCidr(text: string): Cidr | undefined {
  try {
    if (text.includes('/')) {
      const range = ipaddr.parseCIDR(text);
      return { text, range: [normalise(range[0]), range[0].kind() === 'ipv6' && normalise(range[0]).kind() === 'ipv4' ? range[1] - 96 : range[1]] };
    }
    const addr = normalise(ipaddr.parse(text));
    return { text, range: [addr, addr.kind() === 'ipv4' ? 32 : 128] };
  } catch {
    return undefined;
  }
}

function normalise(addr: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) return (addr as ipaddr.IPv6).toIPv4Address();
  return addr;
}

/** Canonical text of an address ("::ffff:10.0.0.1" → "10.0.0.1"). */
export function normaliseIp(ip: string): string {
  try {
    return normalise(ipaddr.parse(ip)).toString();
  } catch {
    return ip;
  }
}

export function ipInCidrs(ip: string, cidrs: readonly Cidr[]): Cidr | undefined {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = normalise(ipaddr.parse(ip));
  } catch {
    return undefined;
  }
  for (const c of cidrs) {
    if (c.range[0].kind() !== addr.kind()) continue;
    if (addr.match(c.range as [ipaddr.IPv4, number] & [ipaddr.IPv6, number])) return c;
  }
  return undefined;
}
