/**
 * What the legacy readers (IMAP and POP3 through the proxy, issue 14) did
 * lately, per device, for the console's devices page: the last login and
 * the mailbox it opened, bytes read, the sessions open now and the last
 * few that ended, and the last error with its fix (the failure catalogue's
 * text, ids filled in). Told by the proxy's telemetry hooks; names and
 * counts only, never passwords, tokens or mail. Memory is bounded: a few
 * sessions per device, a bounded number of devices and of refused user
 * names.
 */
import type { LoginRefusalReason, MailProtocol, ProxySessionInfo, ProxyTelemetry, UpstreamFailureKind } from '../proxy/common/types.js';

/** An IMAP or POP3 listener as the console shows it. */
export interface ReaderListenerView {
  name: string;
  protocol: MailProtocol;
  host: string;
  port: number;
  tls: 'none' | 'starttls' | 'implicit';
  minTlsVersion: string;
  upstream: string;
  server: string;
  sessions: number;
}

export interface ReaderSession {
  session: string;
  listener: string;
  protocol: MailProtocol;
  clientIp: string;
  mailbox: string | null;
  tlsVersion: string | null;
  startedAt: number;
  endedAt: number | null;
  bytesToClient: number;
  bytesToServer: number;
  endedBy: string | null;
}

export interface ReaderError {
  at: number;
  listener: string;
  protocol: MailProtocol;
  /** An upstream failure kind (role-missing, no-permission, ...) or a login refusal reason (bad-credentials, locked-out, ...). */
  kind: UpstreamFailureKind | LoginRefusalReason;
  mailbox: string | null;
  clientIp: string;
  summary: string;
  fix: string[];
}

export interface ReaderDeviceActivity {
  device: string;
  lastLogin: number | null;
  lastMailbox: string | null;
  lastProtocol: MailProtocol | null;
  logins: number;
  bytesToClient: number;
  bytesToServer: number;
  errors: number;
  lastError: ReaderError | null;
  /** Open sessions first, then the ones that ended, newest first. */
  sessions: ReaderSession[];
}

const SESSIONS_PER_DEVICE = 10;
const DEVICES = 2_000;
const USERS = 500;

export class ReaderActivity implements ProxyTelemetry {
  private readonly devices = new Map<string, ReaderDeviceActivity>();
  private readonly open = new Map<string, { device: string; s: ReaderSession }>();
  /** The last refusal per user name that named no device (a wrong name, a guesser), least recent first. */
  private readonly refusedUsers = new Map<string, ReaderError>();

  constructor(private readonly now: () => number = Date.now) {}

  loggedIn(listener: string, protocol: MailProtocol, device: string, info?: ProxySessionInfo & { mailbox: string }): void {
    const d = this.device(device);
    const at = this.now();
    d.lastLogin = at;
    d.lastMailbox = info?.mailbox ?? null;
    d.lastProtocol = protocol;
    d.logins += 1;
    if (!info) return;
    const s: ReaderSession = {
      session: info.session, listener, protocol, clientIp: info.clientIp, mailbox: info.mailbox, tlsVersion: info.tlsVersion ?? null,
      startedAt: at, endedAt: null, bytesToClient: 0, bytesToServer: 0, endedBy: null,
    };
    this.open.set(info.session, { device, s });
    d.sessions.unshift(s);
    this.trim(d);
  }

  sessionEnded(_listener: string, _protocol: MailProtocol, bytes: { toClient: number; toUpstream: number }, info?: ProxySessionInfo & { endedBy: string; durationMs: number }): void {
    if (!info) return;
    const o = this.open.get(info.session);
    if (!o) return;
    this.open.delete(info.session);
    o.s.endedAt = this.now();
    o.s.bytesToClient = bytes.toClient;
    o.s.bytesToServer = bytes.toUpstream;
    o.s.endedBy = info.endedBy;
    const d = this.devices.get(o.device);
    if (!d) return;
    d.bytesToClient += bytes.toClient;
    d.bytesToServer += bytes.toUpstream;
    this.trim(d);
  }

  upstreamFailed(listener: string, protocol: MailProtocol, kind: UpstreamFailureKind, info?: ProxySessionInfo & { summary: string; fix: string[]; temporary: boolean }): void {
    if (!info?.device) return;
    const d = this.device(info.device);
    d.errors += 1;
    d.lastError = { at: this.now(), listener, protocol, kind, mailbox: info.mailbox ?? null, clientIp: info.clientIp, summary: info.summary, fix: info.fix };
  }

  loginRefused(listener: string, protocol: MailProtocol, reason: LoginRefusalReason, info?: ProxySessionInfo & { detail: string }): void {
    if (!info) return;
    const e: ReaderError = { at: this.now(), listener, protocol, kind: reason, mailbox: null, clientIp: info.clientIp, summary: info.detail, fix: [] };
    const user = (info.user ?? '').toLowerCase();
    this.refusedUsers.delete(user);
    this.refusedUsers.set(user, e);
    if (this.refusedUsers.size > USERS) this.refusedUsers.delete(this.refusedUsers.keys().next().value!);
  }

  /** A device's activity (undefined when it never logged in as a reader and had no error). */
  of(device: string): ReaderDeviceActivity | undefined {
    const d = this.devices.get(device);
    if (!d) return undefined;
    // Bytes of sessions still open are not counted until they end; the open ones show as such.
    return { ...d, sessions: d.sessions.map((s) => ({ ...s })), ...(d.lastError ? { lastError: { ...d.lastError } } : {}) };
  }

  /** The last refusal for one of these user names (the device's username, its mailboxes), newest of them. */
  lastRefusal(users: readonly string[]): ReaderError | undefined {
    let best: ReaderError | undefined;
    for (const u of users) {
      const e = this.refusedUsers.get(u.toLowerCase());
      if (e && (!best || e.at > best.at)) best = e;
    }
    return best;
  }

  private device(name: string): ReaderDeviceActivity {
    let d = this.devices.get(name);
    if (d) {
      this.devices.delete(name);
      this.devices.set(name, d);
      return d;
    }
    d = { device: name, lastLogin: null, lastMailbox: null, lastProtocol: null, logins: 0, bytesToClient: 0, bytesToServer: 0, errors: 0, lastError: null, sessions: [] };
    this.devices.set(name, d);
    if (this.devices.size > DEVICES) this.devices.delete(this.devices.keys().next().value!);
    return d;
  }

  private trim(d: ReaderDeviceActivity): void {
    if (d.sessions.length <= SESSIONS_PER_DEVICE) return;
    const open = d.sessions.filter((s) => s.endedAt === null);
    const ended = d.sessions.filter((s) => s.endedAt !== null).slice(0, Math.max(0, SESSIONS_PER_DEVICE - open.length));
    d.sessions = [...open, ...ended];
  }
}

/** Tells every one of these telemetry sinks (a sink that throws does not stop the others). */
export function teeTelemetry(...sinks: ProxyTelemetry[]): ProxyTelemetry {
  const each = <K extends keyof ProxyTelemetry>(k: K) => (...args: Parameters<NonNullable<ProxyTelemetry[K]>>) => {
    for (const s of sinks) {
      try {
        (s[k] as ((...a: unknown[]) => void) | undefined)?.(...args);
      } catch {
        // Telemetry never breaks a session.
      }
    }
  };
  return {
    connected: each('connected'), tlsEstablished: each('tlsEstablished'), loginRefused: each('loginRefused'),
    loggedIn: each('loggedIn'), upstreamFailed: each('upstreamFailed'), sessionEnded: each('sessionEnded'),
  };
}
