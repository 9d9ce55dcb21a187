/**
 * Device identities: who may send, from where, as whom. Built once from the
 * validated config; answers the receive stage's questions.
 */
import type { DeviceConfig } from '../config/schema.js';
import { parseCidr, ipInCidrs, type Cidr } from '../core/net.js';
import { matchesAddressPattern } from '../core/address.js';
import { verifyPassword } from './password.js';

export interface Device {
  readonly name: string;
  readonly username?: string;
  readonly passwordHash?: string;
  readonly networks: readonly Cidr[];
  readonly sendAs?: string;
  readonly allowedFrom: readonly string[];
  readonly maxMessageSize: number;
  readonly rateLimit?: { messages: number; per: number };
  readonly bareLineEndings?: 'normalize' | 'reject';
  readonly route?: string;
}

export const LOOPBACK_DEVICE = 'localhost';

export class DeviceRegistry {
  private readonly byUser = new Map<string, Device>();
  private readonly byNetwork: Device[] = [];
  readonly all: readonly Device[];

  constructor(configs: readonly DeviceConfig[], opts: { trustLoopback: boolean }) {
    const devices: Device[] = configs.map((c) => fromConfig(c));
    if (opts.trustLoopback && !devices.some((d) => d.name === LOOPBACK_DEVICE)) {
      devices.push({
        name: LOOPBACK_DEVICE,
        networks: ['127.0.0.0/8', '::1/128'].map((n) => parseCidr(n)!),
        allowedFrom: ['*'],
        maxMessageSize: Number.MAX_SAFE_INTEGER,
      });
    }
    this.all = devices;
    for (const d of devices) {
      if (d.username) this.byUser.set(d.username.toLowerCase(), d);
      if (d.networks.length) this.byNetwork.push(d);
    }
    // Most specific network first, so a /32 device wins over a /24 one.
    this.byNetwork.sort((a, b) => maxPrefix(b) - maxPrefix(a));
  }

  /** The device whose trusted network contains this address, if any. */
  byAddress(ip: string): Device | undefined {
    return this.byNetwork.find((d) => ipInCidrs(ip, d.networks));
  }

  /** Verifies a password. Unknown users cost the same time as known ones. */
  async authenticate(username: string, password: string): Promise<Device | undefined> {
    const d = this.byUser.get(username.toLowerCase());
    const hash = d?.passwordHash ?? DUMMY_HASH;
    const ok = await verifyPassword(password, hash);
    return ok && d ? d : undefined;
  }

  knowsUser(username: string): boolean {
    return this.byUser.has(username.toLowerCase());
  }

  /** The device that has this user name, if any. */
  byUsername(username: string): Device | undefined {
    return this.byUser.get(username.toLowerCase());
  }
}

// A valid hash of a random password, so that unknown users take as long as known ones.
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$0000000000000000000000000000000000000000000=';

function maxPrefix(d: Device): number {
  return Math.max(...d.networks.map((n) => (n.range[0].kind() === 'ipv4' ? n.range[1] + 96 : n.range[1])));
}

function fromConfig(c: DeviceConfig): Device {
  const d: Device = {
    name: c.name,
    networks: c.networks.map((n) => parseCidr(n)).filter((n): n is Cidr => n !== undefined),
    allowedFrom: c.allowedFrom,
    maxMessageSize: c.maxMessageSize,
    ...(c.username !== undefined ? { username: c.username } : {}),
    ...(c.passwordHash !== undefined ? { passwordHash: c.passwordHash } : {}),
    ...(c.sendAs !== undefined ? { sendAs: c.sendAs } : {}),
    ...(c.rateLimit !== undefined ? { rateLimit: c.rateLimit } : {}),
    ...(c.bareLineEndings !== undefined ? { bareLineEndings: c.bareLineEndings } : {}),
    ...(c.route !== undefined ? { route: c.route } : {}),
  };
  return d;
}

/**
 * Whether the device may use this From address as it is. A device with a
 * sendAs mailbox and no allowedFrom may use only that mailbox; a device with
 * neither may use any address (it is trusted by network or password).
 */
export function fromAllowed(device: Device, from: string): boolean {
  if (!from) return true;
  if (device.allowedFrom.length === 0) return device.sendAs === undefined || from.toLowerCase() === device.sendAs.toLowerCase();
  if (device.sendAs && from.toLowerCase() === device.sendAs.toLowerCase()) return true;
  return device.allowedFrom.some((p) => matchesAddressPattern(from, p));
}

/** Effective bare-line-ending policy: normalise for network-trusted devices unless configured otherwise. */
export function bareLineEndingPolicy(device: Device, matchedByNetwork: boolean): 'normalize' | 'reject' {
  return device.bareLineEndings ?? (matchedByNetwork ? 'normalize' : 'reject');
}
