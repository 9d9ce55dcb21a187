/**
 * What the emulator knows and remembers: tenants, apps, mailboxes, device
 * codes and refresh tokens (the directory), and what it saw (requests,
 * accepted messages, in-flight counts per app + mailbox) plus the fault
 * rules tests set. Every server (Entra, Graph, uploads, SMTP) shares one.
 */
import { randomUUID } from 'node:crypto';
import type { EmulatorApp, EmulatorMailbox, EmulatorTenant, FaultKind, FaultRule, FaultTarget, RequestRecord, SentMessage } from './api.js';
import { ReportData } from './report-data.js';
import { MailItems } from './mail-items.js';

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
  /** The usage reports and sign-in logs of the migration scan (report-data.ts). */
  readonly reports = new ReportData();
  /** Sent Items and Deleted Items of every mailbox (mail-items.ts). */
  readonly mail = new MailItems();
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
  smtpRecipientsPerMessage = 500;
  /**
   * Exchange Online's recipient rate limit: recipients per mailbox in any 24
   * hours, over every way the mailbox sends (Graph sendMail, a draft sent,
   * SMTP AUTH). A submission that would go over is refused, and the mailbox
   * stays blocked for 24 hours from then ("senders will have to wait 24
   * hours", OfficeDocs-Exchange PR #2431).
   */
  recipientsPerDay = 10_000;
  private readonly daily = new Map<string, { sends: { at: number; n: number }[]; blockedUntil: number }>();

  /** Counts a submission of `n` recipients as `mailbox`; false (nothing counted) when the mailbox is over its daily limit or blocked. */
  submitRecipients(mailbox: string, n: number, now = Date.now()): boolean {
    const key = mailbox.toLowerCase();
    const d = this.daily.get(key) ?? { sends: [], blockedUntil: 0 };
    this.daily.set(key, d);
    d.sends = d.sends.filter((x) => x.at > now - 86_400_000);
    if (d.blockedUntil > now) return false;
    if (d.sends.reduce((t, x) => t + x.n, 0) + n > this.recipientsPerDay) {
      d.blockedUntil = now + 86_400_000;
      return false;
    }
    d.sends.push({ at: now, n });
    return true;
  }

  resetDaily(): void {
    this.daily.clear();
  }

  /** Recipients counted for the mailbox in the last 24 hours, and whether it is blocked. */
  dailyUse(mailbox: string, now = Date.now()): { recipients: number; blocked: boolean } {
    const d = this.daily.get(mailbox.toLowerCase());
    return {
      recipients: (d?.sends ?? []).filter((x) => x.at > now - 86_400_000).reduce((t, x) => t + x.n, 0),
      blocked: (d?.blockedUntil ?? 0) > now,
    };
  }

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

  /** The first matching fault rule's fault (counted down), if any. `request` is an HTTP request's method and path. */
  takeFault(target: FaultTarget, mailbox: string | undefined, accept: (f: FaultKind) => boolean = () => true, recipient?: string, request?: { method: string; path: string }): FaultKind | undefined {
    for (const rule of this.faults) {
      if (rule.target !== target) continue;
      if (rule.mailbox && (!mailbox || rule.mailbox.toLowerCase() !== mailbox.toLowerCase())) continue;
      if (rule.recipient && (!recipient || rule.recipient.toLowerCase() !== recipient.toLowerCase())) continue;
      if (rule.method && (!request || rule.method.toUpperCase() !== request.method.toUpperCase())) continue;
      if (rule.path && (!request || !rule.path.test(request.path))) continue;
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
    this.mail.clear();
    this.faults = [];
    this.peaks.clear();
    this.reports.clearRequests();
  }
}

export function newGuid(): string {
  return randomUUID();
}
