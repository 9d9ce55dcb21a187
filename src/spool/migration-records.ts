/**
 * What the spool keeps for the migration board (src/migration/): each tenant
 * scan with its time, period, the outcome of each source it read (the
 * email apps usage report, the Entra sign-in logs, the report privacy
 * setting) and the senders it found; the ignore marks admins set (with who,
 * when and why); and, read from the messages themselves, when a mailbox was
 * seen sending through authrelay. Both stores keep the same records
 * (sqlite/migration-scans.ts, postgres/migration-scans.ts).
 */

/** The usage report's periods (Graph's `period` parameter). */
export type ScanPeriod = 'D7' | 'D30' | 'D90' | 'D180';
export const SCAN_PERIODS: readonly ScanPeriod[] = ['D7', 'D30', 'D90', 'D180'];

/** The three things a scan asks Microsoft Graph. */
export type ScanSourceName = 'usage-report' | 'sign-ins' | 'report-settings';

/**
 * How a source ended:
 * ok — read in full; not-modified — the report had not changed (304), the previous scan's rows were used;
 * licence — the tenant has no Entra ID P1/P2 (sign-in logs only); permission — the app lacks the Graph permission;
 * throttled — Microsoft kept answering 429; partial — some pages were read, then it failed;
 * failed — nothing could be read (network, sign-in, an unexpected answer); skipped — not asked.
 */
export type ScanSourceStatus = 'ok' | 'not-modified' | 'licence' | 'permission' | 'throttled' | 'partial' | 'failed' | 'skipped';

export interface ScanSourceOutcome {
  source: ScanSourceName;
  status: ScanSourceStatus;
  /** The error catalogue's entry that explains it (docs/errors.md), when there is one. */
  ref?: string;
  /** Microsoft's answer as received: HTTP status, error code and message. */
  httpStatus?: number;
  code?: string;
  message?: string;
  /** One sentence: what happened and what it means for the scan. */
  detail: string;
  /** What to do about it (the catalogue entry's fix, with the app and tenant filled in). */
  fix?: string;
  /** Pages (sign-in logs); sign-ins read, or report rows with SMTP use. */
  pages?: number;
  rows?: number;
  /** Report rows with SMTP use whose names were concealed. */
  concealed?: number;
}

/** Where a sender signed in from (sign-in logs). */
export interface SenderAddress {
  ip: string;
  count: number;
  lastAt: number;
}

/** A refusal reason seen in the sign-in logs (errorCode and failureReason). */
export interface SenderFailure {
  errorCode: number;
  reason: string;
  count: number;
  lastAt: number;
}

/** One mailbox (or concealed name) that used SMTP AUTH with a password in the period. */
export interface ScanSender {
  /** The mailbox in lower case, or `concealed:<hex>` for a concealed report name. */
  key: string;
  /** The mailbox as Microsoft wrote it; null when the report concealed it. */
  mailbox: string | null;
  displayName: string | null;
  concealed: boolean;
  inReport: boolean;
  inSignIns: boolean;
  /** The report's Last Activity Date (YYYY-MM-DD, any e-mail app) and its SMTP App cell. */
  reportLastActivity: string | null;
  smtpApp: string | null;
  /** Authenticated SMTP sign-ins in the period: all, successful, refused. */
  signIns: number;
  successes: number;
  failures: number;
  lastSuccess: number | null;
  lastFailure: number | null;
  /** The latest basic-auth use known: a sign-in's time, or the report's activity date (precision 'day'). */
  lastBasicAuth: number | null;
  lastBasicAuthPrecision: 'time' | 'day' | null;
  addresses: SenderAddress[];
  failureReasons: SenderFailure[];
}

export type ScanTrigger = 'cli' | 'console' | 'schedule';

export interface ScanRecord {
  id: number;
  startedAt: number;
  finishedAt: number;
  period: ScanPeriod;
  trigger: ScanTrigger;
  /** Who started it: a console user, `authrelay migrate scan`, or the schedule. */
  by: string;
  /** Whose app registration read the tenant: `upstream NAME` or `migration.app`. */
  app: string;
  tenant: string;
  /** The app registration's client ID. */
  appId: string;
  sources: ScanSourceOutcome[];
  /** The report's names were concealed (the tenant's privacy setting). */
  concealed: boolean;
  /** The setting as Graph reports it (admin/reportSettings), when it could be read. */
  displayConcealedNames: boolean | null;
  reportRefreshDate: string | null;
  /** The report's ETag, sent back as If-None-Match by the next scan. */
  reportEtag: string | null;
  senders: ScanSender[];
}

export type NewScan = Omit<ScanRecord, 'id'>;

/** A scan without its senders, for the history. */
export type ScanSummary = Omit<ScanRecord, 'senders'> & { senderCount: number };

/** Everything the stored scans know of one sender, across all of them. */
export interface SenderHistory {
  key: string;
  mailbox: string | null;
  concealed: boolean;
  firstFoundAt: number;
  lastFoundAt: number;
  /** The latest basic-auth use any scan found, and its precision. */
  lastBasicAuth: number | null;
  lastBasicAuthPrecision: 'time' | 'day' | null;
  scans: number;
}

/** A sender an admin took off the board, with the reason. */
export interface IgnoreMark {
  key: string;
  reason: string;
  by: string;
  at: number;
}

/** A mailbox seen at authrelay: messages accepted whose sendAs or header From is that mailbox. */
export interface MailboxSeen {
  mailbox: string;
  firstSeen: number;
  lastSeen: number;
  messages: number;
  devices: string[];
}

/** The migration records every Store keeps. */
export interface MigrationLedger {
  /** Stores a finished scan with its senders; resolves with its id. */
  saveScan(scan: NewScan): Promise<number>;
  /** The newest scans first, without their senders. */
  scans(limit: number): Promise<ScanSummary[]>;
  /** One scan with its senders. */
  scan(id: number): Promise<ScanRecord | undefined>;
  /** Every sender any stored scan found, with what all the scans know of it. */
  senderHistory(): Promise<SenderHistory[]>;
  /** Sets (or replaces) the ignore mark of a sender. */
  setIgnore(mark: IgnoreMark): Promise<void>;
  /** Removes the mark; resolves false when there was none. */
  clearIgnore(key: string): Promise<boolean>;
  ignoreMarks(): Promise<IgnoreMark[]>;
  /**
   * For each mailbox given (any case): when messages whose sendAs or header
   * From is that mailbox were accepted, how many, and by which devices.
   * Mailboxes never seen are left out.
   */
  mailboxesSeen(mailboxes: string[]): Promise<MailboxSeen[]>;
  /** Removes scans that finished before the time (their senders with them); resolves with how many. */
  pruneScans(before: number): Promise<number>;
}
