/**
 * Who may do what in an SMTP session: identification by network or password,
 * lockout, relay checks, sender checks, limits. Returns SmtpReply values;
 * knows nothing of sockets.
 */
import type { ListenerConfig } from '../config/schema.js';
import { Replies, SmtpReply } from '../core/smtp-reply.js';
import { relayTrickIn } from '../core/address.js';
import { normaliseIp } from '../core/net.js';
import { DeviceRegistry, fromAllowed, bareLineEndingPolicy, type Device } from '../identity/devices.js';
import type { LoginLimits, MessageRates } from '../identity/lockout.js';
import type { RouteAssignment } from '../spool/store.js';


/**
 * What an SMTP session works under, taken from the relay's current
 * configuration snapshot when it connects and kept until it ends: a reload
 * in the middle of a session changes nothing for it.
 */
export interface ReceiveSnapshot {
  /** The configuration version, recorded with every message accepted under it. */
  readonly version: string;
  /** Name in the greeting and the Received field. */
  readonly hostname: string;
  readonly policy: SessionPolicy;
  readonly maxLifetimeMs: number;
  /** Chooses upstreams at acceptance (the route stage's pure function), so a message is stored routed in the same commit. */
  readonly router?: (input: { device: string; sender: string; recipients: string[] }) => RouteAssignment[];
}

export interface ConnectionState {
  readonly id: string;
  /** The configuration the session started under (devices, limits, routes); kept to its end. */
  readonly snapshot: ReceiveSnapshot;
  readonly listener: ListenerConfig & { name: string };
  readonly clientIp: string;
  /** The load balancer's address when clientIp came from its PROXY protocol header. */
  readonly proxiedBy?: string;
  readonly networkDevice: Device | undefined;
  authDevice?: Device;
  authUser?: string;
  authMechanism?: string;
  tlsVersion?: string;
  heloName?: string;
  esmtp?: boolean;
  /** The current transaction (reset at every MAIL FROM). */
  txn?: Transaction;
}

export interface Transaction {
  device: Device;
  /** Envelope sender as the device gave it. */
  originalSender: string;
  /** Envelope sender as it will be stored (rewritten to sendAs when not allowed). */
  sender: string;
  senderRewritten: boolean;
}

export interface PolicyOptions {
  /** Failed-login counts: shared by every configuration version (a reload does not reset a lockout). */
  lockout: LoginLimits;
  /** Device message rates: shared likewise. */
  rates: MessageRates;
  failureDelayMs: number;
}

/** The session rules of one configuration version: its devices and settings, over the shared counters. */
export class SessionPolicy {
  constructor(
    readonly devices: DeviceRegistry,
    private readonly opts: PolicyOptions,
  ) {}

  /**
   * A new session. remoteAddress is the client's address: the socket's, or on a
   * proxyProtocol listener the one in the PROXY header (proxiedBy is then the
   * load balancer's); devices, lockouts and limits all go by it.
   */
  open(id: string, snapshot: ReceiveSnapshot, listener: ListenerConfig & { name: string }, remoteAddress: string, proxiedBy?: string): ConnectionState {
    const clientIp = normaliseIp(remoteAddress);
    return { id, snapshot, listener, clientIp, ...(proxiedBy ? { proxiedBy } : {}), networkDevice: this.devices.byAddress(clientIp) };
  }

  connectRefusal(state: ConnectionState, now: number): SmtpReply | undefined {
    return this.opts.lockout.isLocked([`ip:${state.clientIp}`], now) ? Replies.lockedOut() : undefined;
  }

  /** Checks a login. Waits before answering a failure; a locked key gets 421 (and a disconnect). */
  async authenticate(state: ConnectionState, method: string, username: string, password: string, secure: boolean): Promise<SmtpReply | Device> {
    if (!secure && !state.listener.allowInsecureAuth) {
      const r = new SmtpReply(538, '5.7.11', 'Encryption required for AUTH on this port: issue STARTTLS first, or use a port with allowInsecureAuth');
      r.ref = 'authBeforeTls';
      return r;
    }
    const keys = [`ip:${state.clientIp}`, `user:${username.toLowerCase()}`];
    // Checks of the same address or user name run at most limit-minus-failures at once,
    // so guesses sent on many connections together cannot exceed the limit.
    const end = await this.opts.lockout.begin(keys);
    let locked: boolean;
    try {
      if (this.opts.lockout.isLocked(keys, Date.now())) locked = true;
      else {
        const device = await this.devices.authenticate(username, password);
        if (device) {
          this.opts.lockout.succeed(keys);
          state.authDevice = device;
          state.authUser = username;
          state.authMechanism = method;
          return device;
        }
        locked = await this.opts.lockout.fail(keys, Date.now());
      }
    } finally {
      end();
    }
    await sleep(this.opts.failureDelayMs);
    return locked ? Replies.lockedOut() : Replies.authFailed();
  }

  /** The device sending in this session, if it is known. */
  device(state: ConnectionState): Device | undefined {
    if (state.authDevice) return state.authDevice;
    if (state.listener.requireAuth) return undefined;
    return state.networkDevice;
  }

  async mailFrom(state: ConnectionState, sender: string, declaredSize: number, secure: boolean, now: number): Promise<SmtpReply | Transaction> {
    if (state.listener.requireTls && !secure) return Replies.tlsRequired();
    const device = this.device(state);
    if (!device) return state.listener.requireAuth ? Replies.authRequired() : Replies.senderDenied();
    if (declaredSize > device.maxMessageSize) return Replies.messageTooBig(device.maxMessageSize);
    let finalSender = sender;
    let rewritten = false;
    if (sender && !fromAllowed(device, sender)) {
      if (!device.sendAs) return Replies.fromNotAllowed(sender);
      finalSender = device.sendAs;
      rewritten = true;
    }
    if (device.rateLimit) {
      const wait = await this.opts.rates.take(device.name, device.rateLimit, now);
      if (wait > 0) return Replies.rateLimited(Math.ceil(wait / 1000));
    }
    const txn: Transaction = { device, originalSender: sender, sender: finalSender, senderRewritten: rewritten };
    state.txn = txn;
    return txn;
  }

  rcptTo(state: ConnectionState, recipient: string, count: number): SmtpReply | undefined {
    const device = this.device(state);
    if (!device || !state.txn) return Replies.relayDenied(recipient);
    const trick = relayTrickIn(recipient);
    if (trick) return Replies.badRecipientSyntax(recipient, trick);
    if (count >= state.listener.maxRecipients) return Replies.tooManyRecipients(state.listener.maxRecipients);
    return undefined;
  }

  lineEndingMode(state: ConnectionState, device: Device): 'normalize' | 'reject' {
    return bareLineEndingPolicy(device, state.networkDevice === device);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
