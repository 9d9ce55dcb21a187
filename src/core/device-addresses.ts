/**
 * The addresses a device can reach the relay at, for the settings to type
 * into it (the console, `authrelay device add`, the start-up summary):
 * `publicAddress` when configured; otherwise this machine's own non-loopback
 * addresses (IPv4 first) and its host name. A listener bound to one address
 * offers only that one. When only loopback is known, the caller warns: a
 * printer given 127.0.0.1 can never connect.
 */
import { hostname, networkInterfaces } from 'node:os';

export interface DeviceAddress {
  address: string;
  /** Where it comes from: the configuration, a network interface, the host name. */
  source: 'publicAddress' | 'interface' | 'hostname';
  /** The interface name (eth0, ens3), for interface addresses. */
  via?: string;
}

const LOOPBACK = /^(127\.|::1$|localhost$)/i;

export function isLoopbackAddress(address: string): boolean {
  return LOOPBACK.test(address);
}

/** Addresses for devices to use, best first; `listenHost` is the listener's bind address (0.0.0.0 or :: for all). */
export function deviceAddresses(publicAddress: readonly string[] | undefined, listenHost = '0.0.0.0'): DeviceAddress[] {
  if (publicAddress?.length) return publicAddress.map((address) => ({ address, source: 'publicAddress' as const }));
  if (listenHost !== '0.0.0.0' && listenHost !== '::' && listenHost !== '') return [{ address: listenHost, source: 'interface' }];
  const found: DeviceAddress[] = [];
  for (const [name, list] of Object.entries(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal || isLoopbackAddress(a.address)) continue;
      // Link-local IPv6 needs a zone id that a device's settings screen cannot take.
      if (a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80:')) continue;
      if (listenHost === '0.0.0.0' && a.family === 'IPv6') continue;
      found.push({ address: a.address, source: 'interface', via: name });
    }
  }
  found.sort((a, b) => Number(a.address.includes(':')) - Number(b.address.includes(':')));
  const host = hostname();
  if (host && !isLoopbackAddress(host)) found.push({ address: host, source: 'hostname' });
  return found;
}
