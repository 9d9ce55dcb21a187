/**
 * Which mailbox a legacy reader's login opens: a pure function of the
 * login's names, the client address and the device list, so it can be
 * tested alone. The password check and the lockout come after it
 * (device-login-policy.ts).
 *
 * A device that reads mail has a list of mailboxes (`mailboxes:` in its
 * config). The login forms, in the order they are tried:
 *
 *  1. user = the device's username, password = the device's password.
 *     The mailbox is the SASL PLAIN authorization identity when the client
 *     sent one, else the device's only mailbox. A device with several
 *     mailboxes must name one: as the authorization identity, or with form 2.
 *  2. user = a mailbox address, password = the password of a device that
 *     may open that mailbox (the legacy program keeps the address it had,
 *     and only its password changes to the device's).
 *  3. user = a mailbox address from a device's trusted network (when the
 *     listener trusts networks): no password is checked.
 *
 * The mailbox opened is always one from the device's own list, in the form
 * written in the config (never the client's text): names are compared
 * exactly, ASCII letters without case. A name with a control character
 * (XOAUTH2's \x01 separators), a space or over 320 bytes matches nothing.
 */
import { ipInCidrs, type Cidr } from '../../core/net.js';

export interface ReaderDevice {
  readonly name: string;
  readonly username?: string;
  readonly passwordHash?: string;
  readonly networks: readonly Cidr[];
  /** The mailboxes this device may open, as configured. */
  readonly mailboxes: readonly string[];
}

export type LoginPlan =
  /** Check this device's password, then open the mailbox. */
  | { kind: 'device-password'; device: ReaderDevice; mailbox: string }
  /** The user named a mailbox: any one of these devices' passwords opens it (as that device). */
  | { kind: 'mailbox-password'; mailbox: string; candidates: readonly ReaderDevice[] }
  /** A trusted network's device opens its mailbox without a password. */
  | { kind: 'network'; device: ReaderDevice; mailbox: string }
  | { kind: 'refuse'; reason: 'invalid-user' | 'mailbox-not-allowed' | 'choose-mailbox' | 'bad-credentials'; detail: string; device?: ReaderDevice };

const MAX_NAME = 320;

/** Lower-cases A-Z only: no Unicode case folding (the Kelvin sign must not become a "k"). */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** A name that can be a device user name or a mailbox address: printable, no spaces, not too long. */
export function usableName(s: string): boolean {
  return s.length > 0 && Buffer.byteLength(s, 'utf8') <= MAX_NAME && !/[\s\u2028\u2029\ufeff]/u.test(s) && !hasControlCharacter(s);
}

/**
 * A user name as it may be logged: whole when usable, else cut at its first
 * space or control character (an XOAUTH2 string sent as a user name carries
 * a bearer token after its \x01).
 */
export function loggableName(s: string): string {
  if (usableName(s)) return s;
  let end = 0;
  while (end < s.length && end < 64 && !/\s/u.test(s[end]!) && !hasControlCharacter(s[end]!)) end += 1;
  return `${s.slice(0, end)}…[${Buffer.byteLength(s, 'utf8')} bytes, cut]`;
}

/** C0 and C1 control characters and DEL. */
export function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

/** The device's own spelling of the requested mailbox, when its list has it. */
export function allowedMailbox(device: ReaderDevice, requested: string): string | undefined {
  if (!usableName(requested)) return undefined;
  const want = asciiLower(requested);
  return device.mailboxes.find((m) => asciiLower(m) === want);
}

/** The devices, indexed for the three login forms. */
export class ReaderDirectory {
  private readonly byUser = new Map<string, ReaderDevice>();
  private readonly byMailbox = new Map<string, ReaderDevice[]>();
  private readonly networked: ReaderDevice[];

  constructor(readonly devices: readonly ReaderDevice[]) {
    for (const d of devices) {
      if (d.username && d.passwordHash) this.byUser.set(asciiLower(d.username), d);
      if (!d.passwordHash) continue;
      for (const m of d.mailboxes) {
        const key = asciiLower(m);
        this.byMailbox.set(key, [...(this.byMailbox.get(key) ?? []), d]);
      }
    }
    this.networked = devices.filter((d) => d.networks.length > 0 && d.mailboxes.length > 0);
  }

  byUsername(name: string): ReaderDevice | undefined {
    return this.byUser.get(asciiLower(name));
  }

  /** Devices with a password that may open this mailbox. */
  withMailbox(mailbox: string): readonly ReaderDevice[] {
    return this.byMailbox.get(asciiLower(mailbox)) ?? [];
  }

  /** Devices whose trusted networks contain this address. */
  atAddress(ip: string): readonly ReaderDevice[] {
    return this.networked.filter((d) => ipInCidrs(ip, d.networks));
  }
}

export interface LoginNames {
  user: string;
  /** SASL PLAIN authorization identity; empty or absent when the client sent none. */
  authzid?: string;
  clientIp: string;
}

export function planLogin(names: LoginNames, dir: ReaderDirectory, opts: { trustNetworks: boolean }): LoginPlan {
  const { user, clientIp } = names;
  const authzid = names.authzid ?? '';
  if (!usableName(user) || (authzid !== '' && !usableName(authzid))) {
    return refuse('invalid-user', 'the user name has a control character or a space, or is too long');
  }
  const requested = authzid !== '' && asciiLower(authzid) !== asciiLower(user) ? authzid : undefined;

  const device = dir.byUsername(user);
  if (device) {
    const own = allowedMailbox(device, user);
    if (requested !== undefined) {
      const mailbox = allowedMailbox(device, requested);
      return mailbox
        ? { kind: 'device-password', device, mailbox }
        : refuse('mailbox-not-allowed', `device ${device.name} may not open ${JSON.stringify(requested)}`, device);
    }
    if (own) return { kind: 'device-password', device, mailbox: own };
    if (device.mailboxes.length === 1) return { kind: 'device-password', device, mailbox: device.mailboxes[0]! };
    if (device.mailboxes.length === 0) return refuse('mailbox-not-allowed', `device ${device.name} has no mailbox to read`, device);
    return refuse('choose-mailbox', `device ${device.name} may open ${device.mailboxes.length} mailboxes; log in with the mailbox address as the user name`, device);
  }

  // The user names a mailbox: it must be the one opened.
  if (requested !== undefined) return refuse('mailbox-not-allowed', `the user ${JSON.stringify(user)} asked for another mailbox, ${JSON.stringify(requested)}`);
  if (opts.trustNetworks) {
    for (const d of dir.atAddress(clientIp)) {
      const mailbox = allowedMailbox(d, user);
      if (mailbox) return { kind: 'network', device: d, mailbox };
    }
  }
  const candidates = dir.withMailbox(user);
  if (candidates.length > 0) return { kind: 'mailbox-password', mailbox: allowedMailbox(candidates[0]!, user)!, candidates };
  return refuse('bad-credentials', 'no device has this user name or may open this mailbox');
}

function refuse(reason: Extract<LoginPlan, { kind: 'refuse' }>['reason'], detail: string, device?: ReaderDevice): LoginPlan {
  return { kind: 'refuse', reason, detail, ...(device ? { device } : {}) };
}
