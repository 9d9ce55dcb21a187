/**
 * What the emulator's reports and sign-in logs answer from: per tenant the
 * email apps usage rows and the sign-ins tests set up, the report's CSV as
 * Microsoft writes it (UTF-8 BOM, CRLF, the exact column order of
 * reference/migration-and-imap.md A.1, concealed names as 32 hex digits),
 * the pre-authenticated download URLs handed out (valid a few minutes), the
 * sign-in log pages behind each $skiptoken, and the request counts of the
 * throttling limits (A.1, A.2). Held by EmulatorState.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { EmailAppColumn, EmailAppUsage, EmulatorSignIn } from './api.js';

export const CSV_HEADER = ['Report Refresh Date', 'User Principal Name', 'Display Name', 'Is Deleted', 'Deleted Date', 'Last Activity Date',
  'Mail For Mac', 'Outlook For Mac', 'Outlook For Windows', 'Outlook For Mobile', 'Other For Mobile', 'Outlook For Web',
  'POP3 App', 'IMAP4 App', 'SMTP App', 'Report Period'] as const;

const APP_COLUMNS: readonly EmailAppColumn[] = ['Mail For Mac', 'Outlook For Mac', 'Outlook For Windows', 'Outlook For Mobile', 'Other For Mobile',
  'Outlook For Web', 'POP3 App', 'IMAP4 App', 'SMTP App'];

const DAY = 86_400_000;
/** How long a download URL works ("a few minutes"). */
export const DOWNLOAD_LIFETIME_MS = 5 * 60_000;

export interface StoredSignIn extends EmulatorSignIn {
  id: string;
  correlationId: string;
}

export interface SignInPage {
  tenantId: string;
  clientId: string;
  /** The query as first asked (kept in the next link). */
  filter: string | null;
  top: number;
  items: StoredSignIn[];
  offset: number;
}

export class ReportData {
  private readonly usage = new Map<string, EmailAppUsage[]>();
  private readonly signIns = new Map<string, StoredSignIn[]>();
  private readonly downloads = new Map<string, { csv: Buffer; etag: string; expiresAt: number }>();
  readonly pages = new Map<string, SignInPage>();
  private readonly requests = new Map<string, number[]>();

  refreshDate: string | undefined;
  reportsPerTenMinutesPerApp = 14;
  reportsPerTenMinutesPerTenant = 40;
  signInsPerTenSecondsPerApp = 5;

  addUsage(tenantId: string, rows: EmailAppUsage[]): void {
    this.usage.set(tenantId, [...(this.usage.get(tenantId) ?? []), ...rows.map((r) => ({ ...r, apps: { ...r.apps } }))]);
  }

  addSignIns(tenantId: string, rows: EmulatorSignIn[]): void {
    const stored = rows.map((r) => ({ ...r, id: randomUUID(), correlationId: randomUUID() }));
    this.signIns.set(tenantId, [...(this.signIns.get(tenantId) ?? []), ...stored]);
  }

  signInsOf(tenantId: string): StoredSignIn[] {
    return [...(this.signIns.get(tenantId) ?? [])];
  }

  /** YYYY-MM-DD of the last refresh: the one set, else yesterday (UTC). */
  refreshed(now = Date.now()): string {
    return this.refreshDate ?? new Date(now - DAY).toISOString().slice(0, 10);
  }

  /**
   * The report for a period of `days` days ending on the refresh date (or for
   * one `date`), as Microsoft's CSV: an app cell is filled only when the user's
   * last activity falls in the period.
   */
  csv(tenantId: string, days: number, concealed: boolean, date?: string): Buffer {
    const refresh = this.refreshed();
    const end = Date.parse(`${refresh}T00:00:00Z`);
    const start = end - (days - 1) * DAY;
    const lines = [CSV_HEADER.join(',')];
    for (const r of this.usage.get(tenantId) ?? []) {
      const active = Date.parse(`${r.lastActivityDate}T00:00:00Z`);
      if (date !== undefined && r.lastActivityDate !== date) continue;
      const inPeriod = date !== undefined || (active >= start && active <= end);
      const cells = [
        refresh,
        concealed ? conceal(tenantId, 'upn', r.user) : r.user,
        concealed ? conceal(tenantId, 'name', r.displayName ?? r.user) : (r.displayName ?? ''),
        r.isDeleted ? 'True' : 'False',
        r.deletedDate ?? '',
        r.lastActivityDate,
        ...APP_COLUMNS.map((c) => (inPeriod ? (r.apps[c] ?? '') : '')),
        date !== undefined ? '1' : String(days),
      ];
      lines.push(cells.map(csvCell).join(','));
    }
    return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${lines.join('\r\n')}\r\n`, 'utf8')]);
  }

  /** Hands out a pre-authenticated download URL path for the CSV. */
  offerDownload(csv: Buffer, now = Date.now()): string {
    const token = randomBytes(21).toString('base64url');
    this.downloads.set(token, { csv, etag: etagOf(csv), expiresAt: now + DOWNLOAD_LIFETIME_MS });
    return token;
  }

  download(token: string, now = Date.now()): { csv: Buffer; etag: string } | undefined {
    const d = this.downloads.get(token);
    if (!d || d.expiresAt < now) return undefined;
    return d;
  }

  /**
   * Counts a request against a limit of `limit` per `windowMs` under `key`;
   * answers the seconds to wait when it is over the limit (the request is not counted then).
   */
  throttle(key: string, limit: number, windowMs: number, now = Date.now()): number | undefined {
    const recent = (this.requests.get(key) ?? []).filter((t) => t > now - windowMs);
    if (recent.length >= limit) {
      this.requests.set(key, recent);
      return Math.max(1, Math.ceil((recent[0]! + windowMs - now) / 1000));
    }
    recent.push(now);
    this.requests.set(key, recent);
    return undefined;
  }

  clearRequests(): void {
    this.requests.clear();
  }
}

/** The ETag of a report file (a strong validator: its content's hash). */
export function etagOf(csv: Buffer): string {
  return `"${createHash('sha256').update(csv).digest('hex').slice(0, 32)}"`;
}

/** A concealed name: 32 upper-case hex digits, stable per tenant and value, not the object id. */
export function conceal(tenantId: string, kind: 'upn' | 'name', value: string): string {
  return createHash('md5').update(`${tenantId}|${kind}|${value.toLowerCase()}`).digest('hex').toUpperCase();
}

function csvCell(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}
