/**
 * What the emulator knows and remembers: tenants, apps, mailboxes, device
 * codes and refresh tokens (the directory), and what it saw (requests,
 * accepted messages, in-flight counts per app + mailbox) plus the fault
 * rules tests set. Every server (Entra, Graph, uploads, SMTP) shares one.
 */
import { randomUUID } from 'node:crypto';
import type { EmulatorApp, EmulatorMailbox, EmulatorTenant, FaultKind, FaultRule, FaultTarget, RequestRecord, SentMessage } from './api.js';

export interface DeviceCodeEntry {
  deviceCode: string;
  userCode: string;
  clientId: string;
  tenantId: string;
  scopes: string[];
  expiresAt: number;
  state: 'pending' | 'approved' | 'declined' | 'redeemed';
  user?: string;
}

/** An authorization code given at /authorize, redeemed once at /token. */
export interface AuthCodeEntry {
  clientId: string;
  tenantId: string;
  redirectUri: string;
  scopes: string[];
  user: string;
  nonce?: string;
  codeChallenge?: string;
  codeChallengeMethod?: 'S256' | 'plain';
  expiresAt: number;
  redeemed: boolean;
}

export interface RefreshTokenEntry {
  clientId: string;
  tenantId: string;
  user: string;
  scopes: string[];
  issuedAt: number;
  expiresAt: number;
}

export class EmulatorState {
  readonly tenants = new Map<string, EmulatorTenant>();
  readonly apps = new Map<string, EmulatorApp>();
  readonly mailboxes = new Map<string, EmulatorMailbox>();
  readonly deviceCodes = new Map<string, DeviceCodeEntry>();
  readonly refreshTokens = new Map<string, RefreshTokenEntry>();
  readonly authCodes = new Map<string, AuthCodeEntry>();
  /** Refresh tokens issued before this time are revoked (per user, lower-case). */
  readonly tokensValidFrom = new Map<string, number>();
  readonly records: RequestRecord[] = [];
  readonly sentMessages: SentMessage[] = [];
  faults: FaultRule[] = [];
  private readonly inFlight = new Map<string, number>();
  private readonly peaks = new Map<string, number>();

  tokenLifetimeSeconds = 3599;
  refreshTokenLifetimeSeconds = 90 * 24 * 3600;
  deviceCodeIntervalSeconds = 5;
  deviceCodeLifetimeSeconds = 900;
  /** Authorization codes last 10 minutes (the reference's figure). */
  authCodeLifetimeSeconds = 600;
  /** Graph: concurrent requests per app + mailbox before 429 ApplicationThrottled. */
  graphMailboxConcurrency = 4;
  /** Graph: request body cap (bytes) and how it is refused (413, or the observed 400 BadRequest variant). */
  graphMaxRequestBytes = 4 * 1024 * 1024;
  graphTooLargeStyle: '413' | '400' = '413';
  /** SMTP AUTH submission limits per mailbox. */
  smtpConcurrentConnections = 3;
  smtpMessagesPerMinute = 30;
  smtpRecipientsPerDay = 10_000;
  smtpRecipientsPerMessage = 500;

  findTenant(idOrDomain: string): EmulatorTenant | undefined {
    const key = idOrDomain.toLowerCase();
    const byId = this.tenants.get(key);
    if (byId) return byId;
    for (const t of this.tenants.values()) if (t.domains.some((d) => d.toLowerCase() === key)) return t;
    return undefined;
  }

  /** The tenant that has `domain` as a verified domain. */
  tenantOfDomain(domain: string): EmulatorTenant | undefined {
    const d = domain.toLowerCase();
    for (const t of this.tenants.values()) if (t.domains.some((x) => x.toLowerCase() === d)) return t;
    return undefined;
  }

  findMailbox(address: string): EmulatorMailbox | undefined {
    return this.mailboxes.get(address.toLowerCase());
  }

  /**
   * May `principal` (the authenticated mailbox, user or app client id) send with
   * `from` as the From address? Itself always; otherwise the From mailbox must
   * grant it Send As (its sendAs list names the principal or the app), or the
   * sending mailbox's own sendAs list names the From address.
   */
  maySendAs(mailbox: string, from: string, clientId?: string): boolean {
    const m = mailbox.toLowerCase();
    const f = from.toLowerCase();
    if (m === f) return true;
    const target = this.findMailbox(f);
    const grants = (target?.sendAs ?? []).map((s) => s.toLowerCase());
    if (grants.includes(m) || (clientId && grants.includes(clientId.toLowerCase()))) return true;
    const own = (this.findMailbox(m)?.sendAs ?? []).map((s) => s.toLowerCase());
    return own.includes(f);
  }

  record(r: Omit<RequestRecord, 'at'>): void {
    this.records.push({ at: Date.now(), ...r });
  }

  /** The first matching fault rule's fault (counted down), if any. */
  takeFault(target: FaultTarget, mailbox: string | undefined, accept: (f: FaultKind) => boolean = () => true, recipient?: string): FaultKind | undefined {
    for (const rule of this.faults) {
      if (rule.target !== target) continue;
      if (rule.mailbox && (!mailbox || rule.mailbox.toLowerCase() !== mailbox.toLowerCase())) continue;
      if (rule.recipient && (!recipient || rule.recipient.toLowerCase() !== recipient.toLowerCase())) continue;
      if (!accept(rule.fault)) continue;
      if (rule.count !== undefined) {
        if (rule.count <= 0) continue;
        rule.count -= 1;
      }
      const fault = rule.fault;
      this.faults = this.faults.filter((r) => r.count === undefined || r.count > 0);
      return fault;
    }
    return undefined;
  }

  /** Counts a request in flight for app + mailbox; returns the count including it. */
  enter(clientId: string, mailbox: string): number {
    const key = `${clientId}|${mailbox.toLowerCase()}`;
    const n = (this.inFlight.get(key) ?? 0) + 1;
    this.inFlight.set(key, n);
    if (n > (this.peaks.get(key) ?? 0)) this.peaks.set(key, n);
    return n;
  }

  leave(clientId: string, mailbox: string): void {
    const key = `${clientId}|${mailbox.toLowerCase()}`;
    const n = (this.inFlight.get(key) ?? 1) - 1;
    if (n <= 0) this.inFlight.delete(key);
    else this.inFlight.set(key, n);
  }

  /** Highest in-flight count seen for any app with this mailbox. */
  peak(mailbox: string): number {
    const suffix = `|${mailbox.toLowerCase()}`;
    let max = 0;
    for (const [k, v] of this.peaks) if (k.endsWith(suffix) && v > max) max = v;
    return max;
  }

  resetRecords(): void {
    this.records.length = 0;
    this.sentMessages.length = 0;
    this.faults = [];
    this.peaks.clear();
  }
}

export function newGuid(): string {
  return randomUUID();
}
