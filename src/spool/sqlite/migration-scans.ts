/**
 * The migration board's records in SQLite (see ../migration-records.ts):
 * scans and the senders each found (the sender kept whole as JSON, with the
 * columns the history needs beside it), ignore marks, and the "seen at
 * authrelay" query over the messages. postgres/migration-scans.ts does the
 * same in PostgreSQL.
 */
import type Database from 'better-sqlite3';
import type {
  IgnoreMark, MailboxSeen, NewScan, ScanPeriod, ScanRecord, ScanSender, ScanSourceOutcome, ScanSummary, ScanTrigger, SenderHistory,
} from '../migration-records.js';
import { foldSeen, latestUse, type SeenRow } from '../migration-rows.js';

/** The store's cached statement getter. */
type Statements = (sql: string) => Database.Statement;

interface ScanRow {
  id: number; started_at: number; finished_at: number; period: string; trigger_kind: string; by_whom: string; app: string; tenant: string; app_id: string;
  sources: string; concealed: number; display_concealed_names: number | null; report_refresh_date: string | null; report_etag: string | null;
  sender_count: number;
}

function toSummary(r: ScanRow): ScanSummary {
  return {
    id: r.id, startedAt: r.started_at, finishedAt: r.finished_at, period: r.period as ScanPeriod, trigger: r.trigger_kind as ScanTrigger,
    by: r.by_whom, app: r.app, tenant: r.tenant, appId: r.app_id, sources: JSON.parse(r.sources) as ScanSourceOutcome[], concealed: r.concealed === 1,
    displayConcealedNames: r.display_concealed_names === null ? null : r.display_concealed_names === 1,
    reportRefreshDate: r.report_refresh_date, reportEtag: r.report_etag, senderCount: r.sender_count,
  };
}

export function saveScan(db: Database.Database, q: Statements, s: NewScan): number {
  return db.transaction(() => {
    const info = q(`INSERT INTO migration_scans (started_at, finished_at, period, trigger_kind, by_whom, app, tenant, app_id, sources, concealed,
        display_concealed_names, report_refresh_date, report_etag, sender_count)
      VALUES (@startedAt, @finishedAt, @period, @trigger, @by, @app, @tenant, @appId, @sources, @concealed, @dcn, @refresh, @etag, @count)`).run({
      startedAt: s.startedAt, finishedAt: s.finishedAt, period: s.period, trigger: s.trigger, by: s.by, app: s.app, tenant: s.tenant, appId: s.appId,
      sources: JSON.stringify(s.sources), concealed: s.concealed ? 1 : 0,
      dcn: s.displayConcealedNames === null ? null : s.displayConcealedNames ? 1 : 0,
      refresh: s.reportRefreshDate, etag: s.reportEtag, count: s.senders.length,
    });
    const id = Number(info.lastInsertRowid);
    const insert = q(`INSERT INTO migration_senders (scan_id, key, mailbox, concealed, last_basic_auth, last_basic_auth_precision, data)
      VALUES (?, ?, ?, ?, ?, ?, ?)`);
    for (const x of s.senders) {
      insert.run(id, x.key, x.mailbox, x.concealed ? 1 : 0, x.lastBasicAuth, x.lastBasicAuthPrecision, JSON.stringify(x));
    }
    return id;
  }).immediate();
}

export function scans(q: Statements, limit: number): ScanSummary[] {
  return (q('SELECT * FROM migration_scans ORDER BY finished_at DESC, id DESC LIMIT ?').all(limit) as ScanRow[]).map(toSummary);
}

export function scan(q: Statements, id: number): ScanRecord | undefined {
  const row = q('SELECT * FROM migration_scans WHERE id = ?').get(id) as ScanRow | undefined;
  if (!row) return undefined;
  const senders = (q('SELECT data FROM migration_senders WHERE scan_id = ? ORDER BY key').all(id) as { data: string }[])
    .map((r) => JSON.parse(r.data) as ScanSender);
  const { senderCount: _count, ...summary } = toSummary(row);
  return { ...summary, senders };
}

export function senderHistory(q: Statements): SenderHistory[] {
  const rows = q(`SELECT s.key, MAX(s.mailbox) AS mailbox, MAX(s.concealed) AS concealed, MIN(m.finished_at) AS first_found,
      MAX(m.finished_at) AS last_found, COUNT(*) AS scans,
      MAX(CASE WHEN s.last_basic_auth_precision = 'time' THEN s.last_basic_auth END) AS max_time,
      MAX(CASE WHEN s.last_basic_auth_precision = 'day' THEN s.last_basic_auth END) AS max_day
    FROM migration_senders s JOIN migration_scans m ON m.id = s.scan_id GROUP BY s.key ORDER BY s.key`).all() as {
    key: string; mailbox: string | null; concealed: number; first_found: number; last_found: number; scans: number;
    max_time: number | null; max_day: number | null;
  }[];
  return rows.map((r) => ({
    key: r.key, mailbox: r.mailbox, concealed: r.concealed === 1, firstFoundAt: r.first_found, lastFoundAt: r.last_found, scans: r.scans,
    ...latestUse(r.max_time, r.max_day),
  }));
}

export function setIgnore(q: Statements, m: IgnoreMark): void {
  q(`INSERT INTO migration_ignores (key, reason, by_whom, at) VALUES (?, ?, ?, ?)
      ON CONFLICT (key) DO UPDATE SET reason = excluded.reason, by_whom = excluded.by_whom, at = excluded.at`).run(m.key, m.reason, m.by, m.at);
}

export function clearIgnore(q: Statements, key: string): boolean {
  return q('DELETE FROM migration_ignores WHERE key = ?').run(key).changes > 0;
}

export function ignoreMarks(q: Statements): IgnoreMark[] {
  return (q('SELECT key, reason, by_whom, at FROM migration_ignores ORDER BY key').all() as { key: string; reason: string; by_whom: string; at: number }[])
    .map((r) => ({ key: r.key, reason: r.reason, by: r.by_whom, at: r.at }));
}

export function mailboxesSeen(q: Statements, mailboxes: string[]): MailboxSeen[] {
  if (mailboxes.length === 0) return [];
  const list = JSON.stringify([...new Set(mailboxes.map((m) => m.toLowerCase()))]);
  // A message counts once for a mailbox even when its sendAs and its From are both that mailbox (UNION drops the twin).
  const rows = q(`WITH wanted AS (SELECT value AS mailbox FROM json_each(@list)),
    hits AS (
      SELECT id, lower(send_as) AS mailbox, received_at, device FROM messages
        WHERE parent_id IS NULL AND kind = 'message' AND send_as IS NOT NULL AND lower(send_as) IN (SELECT mailbox FROM wanted)
      UNION
      SELECT id, lower(header_from) AS mailbox, received_at, device FROM messages
        WHERE parent_id IS NULL AND kind = 'message' AND header_from IS NOT NULL AND lower(header_from) IN (SELECT mailbox FROM wanted)
    )
    SELECT mailbox, device, MIN(received_at) AS first_seen, MAX(received_at) AS last_seen, COUNT(*) AS n
    FROM hits GROUP BY mailbox, device`).all({ list }) as SeenRow[];
  return foldSeen(rows);
}

export function pruneScans(db: Database.Database, q: Statements, before: number): number {
  return db.transaction(() => {
    q('DELETE FROM migration_senders WHERE scan_id IN (SELECT id FROM migration_scans WHERE finished_at < ?)').run(before);
    return q('DELETE FROM migration_scans WHERE finished_at < ?').run(before).changes;
  }).immediate();
}
