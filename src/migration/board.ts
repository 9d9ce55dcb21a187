/**
 * The migration board (pure): one row per sender any scan found, matched
 * against authrelay's own inventory (a configured device whose sendAs is
 * the mailbox, or messages accepted whose sendAs or From is it), each in one
 * state, and a summary a manager reads at a glance ("2 of 5 senders moved;
 * 3 left; 25 days to the deadline"). The states:
 * - ignored: an admin took it off the board, with a reason;
 * - moved: a message came through authrelay after the last basic-auth use;
 * - quiet: neither a basic-auth use nor a message through authrelay for `quietAfter`;
 * - basic-auth: still signs in with a password (with the last time seen).
 * A use known only to the day (usage report) counts until that day's end.
 */
import type {
  IgnoreMark, MailboxSeen, ScanRecord, ScanSender, ScanSourceOutcome, ScanSummary, SenderAddress, SenderFailure, SenderHistory,
} from '../spool/migration-records.js';
import { lastUseEnd } from './senders.js';
import { suggestDevice, type DeviceSuggestion } from './device-prefill.js';

const DAY = 86_400_000;

export type SenderState = 'basic-auth' | 'moved' | 'quiet' | 'ignored';

export interface BoardRow {
  key: string;
  mailbox: string | null;
  displayName: string | null;
  concealed: boolean;
  state: SenderState;
  /** The latest basic-auth use known (ISO), and whether it is exact or a day of the usage report. */
  lastBasicAuth: string | null;
  lastBasicAuthPrecision: 'time' | 'day' | null;
  /** Found by the latest scan (else by an earlier one only). */
  inLatestScan: boolean;
  /** Authenticated SMTP sign-ins in the latest scan's period (null: the sign-in logs were not read). */
  countInPeriod: number | null;
  failures: number;
  addresses: SenderAddress[];
  failureReasons: SenderFailure[];
  /** Messages through authrelay sent as this mailbox. */
  seenAtRelay: { firstSeen: string; lastSeen: string; messages: number } | null;
  /** authrelay devices for it: configured with sendAs this mailbox, or seen sending as it. */
  devices: string[];
  /** Basic-auth sign-ins happened after the first message through authrelay: another device may still use the password. */
  basicAfterRelay: boolean;
  ignored: { reason: string; by: string; at: string } | null;
  /** "Add as device": the prefilled name and sendAs (null when it cannot be named, or a device already sends as it). */
  addAsDevice: DeviceSuggestion | null;
}

export interface BoardSummary {
  /** Senders on the board, ignored ones left out. */
  total: number;
  moved: number;
  left: number;
  basicAuth: number;
  quiet: number;
  ignored: number;
  concealed: number;
  deadline: string;
  /** Whole days from today (UTC) to the deadline; negative once it has passed. */
  daysLeft: number;
  /** "2 of 5 senders moved; 3 left; 25 days to the deadline" */
  text: string;
}

export interface Board {
  generatedAt: string;
  summary: BoardSummary;
  latestScan: (Omit<ScanSummary, 'startedAt' | 'finishedAt'> & { startedAt: string; finishedAt: string; sources: ScanSourceOutcome[] }) | null;
  rows: BoardRow[];
  /** Each scan (oldest first): when, and how many senders still used basic auth in its period. */
  history: { at: string; period: string; senders: number; sources: Record<string, string> }[];
}

export interface BoardInput {
  now: number;
  deadline: string;
  quietAfterMs: number;
  latest: ScanRecord | undefined;
  scans: ScanSummary[];
  history: SenderHistory[];
  marks: IgnoreMark[];
  seen: MailboxSeen[];
  /** The devices configured now (name and sendAs). */
  devices: { name: string; sendAs?: string | undefined }[];
}

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/** Calendar days from today to the deadline (both in UTC). */
export function daysUntil(deadline: string, now: number): number {
  const today = Math.floor(now / DAY);
  return Math.round(Date.parse(`${deadline}T00:00:00Z`) / DAY) - today;
}

export function stateOf(lastUse: number | null, seen: MailboxSeen | undefined, ignored: boolean, now: number, quietAfterMs: number): SenderState {
  if (ignored) return 'ignored';
  if (seen && (lastUse === null || seen.lastSeen > lastUse)) return 'moved';
  const latest = Math.max(lastUse ?? 0, seen?.lastSeen ?? 0);
  if (latest < now - quietAfterMs) return 'quiet';
  return 'basic-auth';
}

export function buildBoard(input: BoardInput): Board {
  const latest = new Map<string, ScanSender>((input.latest?.senders ?? []).map((s) => [s.key, s]));
  const seenBy = new Map(input.seen.map((s) => [s.mailbox.toLowerCase(), s]));
  const marks = new Map(input.marks.map((m) => [m.key, m]));
  const names = input.devices.map((d) => d.name);
  const signInsRead = !!input.latest?.sources.some((s) => s.source === 'sign-ins' && (s.status === 'ok' || s.status === 'partial'));
  const rows: BoardRow[] = input.history.map((h) => {
    const s = latest.get(h.key);
    const mailbox = (s?.mailbox ?? h.mailbox)?.toLowerCase() ?? null;
    const seen = mailbox ? seenBy.get(mailbox) : undefined;
    const lastUse = lastUseEnd(h.lastBasicAuth, h.lastBasicAuthPrecision);
    const mark = marks.get(h.key);
    const configured = mailbox ? input.devices.filter((d) => d.sendAs?.toLowerCase() === mailbox).map((d) => d.name) : [];
    const devices = [...new Set([...configured, ...(seen?.devices ?? [])])];
    return {
      key: h.key, mailbox: s?.mailbox ?? h.mailbox, displayName: s?.displayName ?? null, concealed: h.concealed,
      state: stateOf(lastUse, seen, !!mark, input.now, input.quietAfterMs),
      lastBasicAuth: iso(h.lastBasicAuth), lastBasicAuthPrecision: h.lastBasicAuthPrecision, inLatestScan: !!s,
      countInPeriod: s && signInsRead ? s.signIns : signInsRead ? 0 : null, failures: s?.failures ?? 0,
      addresses: s?.addresses ?? [], failureReasons: s?.failureReasons ?? [],
      seenAtRelay: seen ? { firstSeen: iso(seen.firstSeen)!, lastSeen: iso(seen.lastSeen)!, messages: seen.messages } : null,
      devices, basicAfterRelay: !!seen && lastUse !== null && lastUse > seen.firstSeen,
      ignored: mark ? { reason: mark.reason, by: mark.by, at: iso(mark.at)! } : null,
      addAsDevice: mailbox && configured.length === 0 ? suggestDevice(mailbox, names) : null,
    };
  });
  const order: Record<SenderState, number> = { 'basic-auth': 0, quiet: 1, moved: 2, ignored: 3 };
  rows.sort((a, b) => order[a.state] - order[b.state] || (b.lastBasicAuth ?? '').localeCompare(a.lastBasicAuth ?? '') || a.key.localeCompare(b.key));
  const count = (st: SenderState) => rows.filter((r) => r.state === st).length;
  const ignored = count('ignored');
  const total = rows.length - ignored;
  const moved = count('moved');
  const daysLeft = daysUntil(input.deadline, input.now);
  const summary: BoardSummary = {
    total, moved, left: total - moved, basicAuth: count('basic-auth'), quiet: count('quiet'), ignored,
    concealed: rows.filter((r) => r.concealed && r.state !== 'ignored').length, deadline: input.deadline, daysLeft,
    text: `${moved} of ${total} senders moved; ${total - moved} left; ${daysLeft >= 0 ? `${daysLeft} days to the deadline` : `${-daysLeft} days past the deadline`} (${input.deadline})`
      + (ignored ? `; ${ignored} ignored` : ''),
  };
  const l = input.latest;
  return {
    generatedAt: new Date(input.now).toISOString(),
    summary,
    latestScan: l ? {
      id: l.id, startedAt: iso(l.startedAt)!, finishedAt: iso(l.finishedAt)!, period: l.period, trigger: l.trigger, by: l.by, app: l.app, tenant: l.tenant, appId: l.appId,
      sources: l.sources, concealed: l.concealed, displayConcealedNames: l.displayConcealedNames, reportRefreshDate: l.reportRefreshDate,
      reportEtag: l.reportEtag, senderCount: l.senders.length,
    } : null,
    rows,
    history: [...input.scans].reverse().map((s) => ({
      at: iso(s.finishedAt)!, period: s.period, senders: s.senderCount, sources: Object.fromEntries(s.sources.map((x) => [x.source, x.status])),
    })),
  };
}
