/**
 * From what the scan read to the senders it found (pure): the usage
 * report's rows whose "SMTP App" cell is filled (any value counts as used;
 * reference A.1 ⚠) and the sign-ins of client app Authenticated SMTP,
 * grouped per mailbox with the addresses, times, and refusals with their
 * reasons. A concealed report name (32 hex digits) cannot be joined to a
 * mailbox: it becomes a sender of its own only when the sign-in logs are
 * missing, so nobody is counted twice; otherwise the sign-in logs name them.
 */
import type { ScanSender, SenderAddress, SenderFailure } from '../spool/migration-records.js';
import type { SignInEntry, UsageRow } from './sources.js';

const DAY = 86_400_000;

/** A concealed report name: 32 hex digits, no "@" (reference A.1). */
export function isConcealedName(upn: string): boolean {
  return /^[0-9A-F]{32}$/i.test(upn.trim());
}

export interface BuildInput {
  /** The report's rows (all users); null when the report could not be read. */
  report: UsageRow[] | null;
  /** Authenticated SMTP sign-ins; null when the sign-in logs could not be read at all. */
  signIns: SignInEntry[] | null;
}

export interface Built {
  senders: ScanSender[];
  /** Report rows with SMTP use whose names were concealed. */
  concealedRows: number;
  /** Report rows with SMTP use. */
  smtpRows: number;
}

function blank(key: string, mailbox: string | null, concealed: boolean): ScanSender {
  return {
    key, mailbox, displayName: null, concealed, inReport: false, inSignIns: false, reportLastActivity: null, smtpApp: null,
    signIns: 0, successes: 0, failures: 0, lastSuccess: null, lastFailure: null, lastBasicAuth: null, lastBasicAuthPrecision: null,
    addresses: [], failureReasons: [],
  };
}

export function buildSenders(input: BuildInput): Built {
  const by = new Map<string, ScanSender>();
  const smtp = (input.report ?? []).filter((r) => r.smtpApp.trim() !== '');
  const concealedRows = smtp.filter((r) => isConcealedName(r.upn)).length;

  if (input.signIns) {
    const addresses = new Map<string, Map<string, SenderAddress>>();
    const reasons = new Map<string, Map<string, SenderFailure>>();
    for (const e of input.signIns) {
      const key = e.upn.toLowerCase();
      const s = by.get(key) ?? blank(key, e.upn, false);
      s.inSignIns = true;
      s.signIns += 1;
      if (e.displayName && !s.displayName) s.displayName = e.displayName;
      if (e.errorCode === 0) {
        s.successes += 1;
        s.lastSuccess = Math.max(s.lastSuccess ?? 0, e.at);
      } else {
        s.failures += 1;
        s.lastFailure = Math.max(s.lastFailure ?? 0, e.at);
        const r = reasons.get(key) ?? new Map<string, SenderFailure>();
        const f = r.get(String(e.errorCode)) ?? { errorCode: e.errorCode, reason: e.failureReason ?? '', count: 0, lastAt: 0 };
        f.count += 1;
        if (e.at >= f.lastAt) {
          f.lastAt = e.at;
          if (e.failureReason) f.reason = e.failureReason;
        }
        r.set(String(e.errorCode), f);
        reasons.set(key, r);
      }
      if (e.ip) {
        const a = addresses.get(key) ?? new Map<string, SenderAddress>();
        const x = a.get(e.ip) ?? { ip: e.ip, count: 0, lastAt: 0 };
        x.count += 1;
        x.lastAt = Math.max(x.lastAt, e.at);
        a.set(e.ip, x);
        addresses.set(key, a);
      }
      by.set(key, s);
    }
    for (const [key, s] of by) {
      s.addresses = [...(addresses.get(key)?.values() ?? [])].sort((a, b) => b.lastAt - a.lastAt || b.count - a.count);
      s.failureReasons = [...(reasons.get(key)?.values() ?? [])].sort((a, b) => b.count - a.count || a.errorCode - b.errorCode);
      const last = Math.max(s.lastSuccess ?? 0, s.lastFailure ?? 0);
      s.lastBasicAuth = last || null;
      s.lastBasicAuthPrecision = last ? 'time' : null;
    }
  }

  for (const r of smtp) {
    const concealed = isConcealedName(r.upn);
    // With the sign-in logs at hand, concealed rows are the same people under codes: they are not added again.
    if (concealed && input.signIns) continue;
    const key = concealed ? `concealed:${r.upn.toUpperCase()}` : r.upn.toLowerCase();
    const s = by.get(key) ?? blank(key, concealed ? null : r.upn, concealed);
    s.inReport = true;
    s.smtpApp = r.smtpApp;
    s.reportLastActivity = r.lastActivityDate;
    if (!s.displayName && r.displayName && !isConcealedName(r.displayName)) s.displayName = r.displayName;
    if (!s.inSignIns && r.lastActivityDate) {
      // The report knows only the day of the last e-mail activity (any app): the latest basic-auth use could be that day.
      const day = Date.parse(`${r.lastActivityDate}T00:00:00Z`);
      if (!Number.isNaN(day)) {
        s.lastBasicAuth = day;
        s.lastBasicAuthPrecision = 'day';
      }
    }
    by.set(key, s);
  }
  return { senders: [...by.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)), concealedRows, smtpRows: smtp.length };
}

/** The end of a basic-auth use known to a day's precision (the use could be any time that day). */
export function lastUseEnd(at: number | null, precision: 'time' | 'day' | null): number | null {
  if (at === null) return null;
  return precision === 'day' ? at + DAY - 1 : at;
}

/** The report rows a previous scan kept (for a 304: the report had not changed since). */
export function rowsFromSenders(senders: ScanSender[], refreshDate: string | null): UsageRow[] {
  return senders.filter((s) => s.inReport).map((s) => ({
    upn: s.concealed ? s.key.slice('concealed:'.length) : (s.mailbox ?? s.key), displayName: s.displayName ?? '', isDeleted: false,
    lastActivityDate: s.reportLastActivity, smtpApp: s.smtpApp ?? 'Undetermined', refreshDate: refreshDate ?? '',
  }));
}
