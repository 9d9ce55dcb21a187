/**
 * The LoginPolicy of authrelay's devices: mailbox-policy.ts chooses the
 * mailbox, the device's scrypt password is checked, and failures count in
 * the same Lockout as SMTP logins (keys `ip:<address>` and `user:<name>`,
 * as receive/policy.ts uses), so a password guessed over SMTP, IMAP and POP3
 * is counted once. Every refusal costs one password check (unknown names,
 * forbidden mailboxes included), so timing tells nothing, and waits the
 * failure delay before it is answered. Correct passwords are remembered
 * for a few minutes (password-cache.ts), so a reader polling on many
 * connections costs one scrypt check, not one per connection.
 */
import { verifyPassword } from '../../identity/password.js';
import type { Lockout } from '../../identity/lockout.js';
import { normaliseIp } from '../../core/net.js';
import { allowedMailbox, asciiLower, planLogin, ReaderDirectory, type ReaderDevice } from './mailbox-policy.js';
import { PasswordCheckCache } from './password-cache.js';
import type { LoginAttempt, LoginDecision, LoginPolicy, LoginRefusalReason } from './types.js';

// A valid hash of a random password, so that refusals take as long as checks (the same as identity/devices.ts).
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$0000000000000000000000000000000000000000000=';

export interface DeviceLoginPolicyOptions {
  lockout: Lockout;
  /** Pause before a refusal is answered (as the SMTP listeners do). */
  failureDelayMs: number;
  /** Devices' trusted networks open their mailboxes with the address as the user name and no password (form 3). */
  trustNetworks: boolean;
  /** How long a correct password is remembered (default 5 minutes; 0: every login runs the scrypt check). */
  passwordCacheTtlMs?: number;
  /** Replaceable for tests; default: identity/password.ts. */
  verify?: (password: string, hash: string) => Promise<boolean>;
}

export class DeviceLoginPolicy implements LoginPolicy {
  readonly directory: ReaderDirectory;
  private readonly verify: (password: string, hash: string) => Promise<boolean>;
  private readonly passwords: PasswordCheckCache;

  constructor(devices: readonly ReaderDevice[], private readonly opts: DeviceLoginPolicyOptions) {
    this.directory = new ReaderDirectory(devices);
    this.verify = opts.verify ?? verifyPassword;
    this.passwords = new PasswordCheckCache(opts.passwordCacheTtlMs ?? 5 * 60_000, this.verify);
  }

  connectRefusal(clientIp: string, now: number): string | undefined {
    return this.opts.lockout.isLocked([`ip:${normaliseIp(clientIp)}`], now) ? 'too many failed logins from this address' : undefined;
  }

  async authenticate(a: LoginAttempt): Promise<LoginDecision> {
    const clientIp = normaliseIp(a.clientIp);
    const keys = [`ip:${clientIp}`, `user:${asciiLower(a.user).slice(0, 320)}`];
    const lockout = this.opts.lockout;
    // Checks of one address or user name run at most limit-minus-failures at once (see identity/lockout.ts).
    const end = await lockout.begin(keys);
    let refusal: { reason: LoginRefusalReason; detail: string };
    let locked: boolean;
    try {
      if (lockout.isLocked(keys, Date.now())) {
        refusal = { reason: 'locked-out', detail: 'the address or the user name is locked out after too many failed logins' };
        locked = true;
      } else {
        const decision = await this.check(a, clientIp);
        if (decision.ok) {
          if (decision.via === 'password') lockout.succeed(keys);
          return decision;
        }
        refusal = decision;
        locked = lockout.fail(keys, Date.now());
      }
    } finally {
      end();
    }
    await new Promise((r) => setTimeout(r, this.opts.failureDelayMs));
    return { ok: false, reason: locked ? 'locked-out' : refusal.reason, locked, detail: refusal.detail };
  }

  private async check(a: LoginAttempt, clientIp: string): Promise<LoginDecision | { ok: false; reason: LoginRefusalReason; detail: string }> {
    const plan = planLogin({ user: a.user, ...(a.authzid ? { authzid: a.authzid } : {}), clientIp }, this.directory, { trustNetworks: this.opts.trustNetworks });
    switch (plan.kind) {
      case 'network':
        return { ok: true, device: plan.device.name, mailbox: plan.mailbox, via: 'network' };
      case 'device-password':
        if (plan.device.passwordHash && (await this.passwords.check(plan.device.name, a.password, plan.device.passwordHash))) {
          return { ok: true, device: plan.device.name, mailbox: plan.mailbox, via: 'password' };
        }
        return { ok: false, reason: 'bad-credentials', detail: `wrong password for device ${plan.device.name}` };
      case 'mailbox-password':
        for (const d of plan.candidates) {
          if (d.passwordHash && (await this.passwords.check(d.name, a.password, d.passwordHash))) {
            return { ok: true, device: d.name, mailbox: allowedMailbox(d, plan.mailbox) ?? plan.mailbox, via: 'password' };
          }
        }
        return { ok: false, reason: 'bad-credentials', detail: `no password of a device that may open ${plan.mailbox} matched` };
      case 'refuse':
        await this.verify(a.password, DUMMY_HASH);
        return { ok: false, reason: plan.reason, detail: plan.detail };
    }
  }
}
