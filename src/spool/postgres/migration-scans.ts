/**
 * The migration board's records in PostgreSQL (see ../migration-records.ts):
 * scans and the senders each found (the sender kept whole as JSON, with the
 * columns the history needs beside it), ignore marks, and the "seen at
 * authrelay" query over the messages. sqlite/migration-scans.ts does the
 * same in SQLite.
 */
import type {
  IgnoreMark, MailboxSeen, NewScan, ScanPeriod, ScanRecord, ScanSender, ScanSourceOutcome, ScanSummary, ScanTrigger, SenderHistory,
} from '../migration-records.js';
import { foldSeen, latestUse, type SeenRow } from '../migration-rows.js';
import type { Db, Queryable } from './db.js';

interface ScanRow {
  id: number; started_at: number; finished_at: number; period: string; trigger_kind: string; by_whom: string; app: string; tenant: string; app_id: string;
  sources: string; concealed: boolean; display_concealed_names: boolean | null; report_refresh_date: string | null; report_etag: string | null;
  sender_count: number;
}

function toSummary(r: ScanRow): ScanSummary {
  return {
    id: Number(r.id), startedAt: r.started_at, finishedAt: r.finished_at, period: r.period as ScanPeriod, trigger: r.trigger_kind as ScanTrigger,
    by: r.by_whom, app: r.app, tenant: r.tenant, appId: r.app_id, sources: JSON.parse(r.sources) as ScanSourceOutcome[], concealed: r.concealed,
    displayConcealedNames: r.display_concealed_names, reportRefreshDate: r.report_refresh_date, reportEtag: r.report_etag, senderCount: r.sender_count,
  };
}

export async function saveScan(db: Db, s: NewScan): Promise<number> {
  return db.tx(async (tx) => {
    const r = await tx.query<{ id: number }>(`INSERT INTO migration_scans (started_at, finished_at, period, trigger_kind, by_whom, app, tenant, app_id, sources,
        concealed, display_concealed_names, report_refresh_date, report_etag, sender_count)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`, [
      s.startedAt, s.finishedAt, s.period, s.trigger, s.by, s.app, s.tenant, s.appId, JSON.stringify(s.sources), s.concealed,
      s.displayConcealedNames, s.reportRefreshDate, s.reportEtag, s.senders.length,
    ]);
    const id = Number(r.rows[0]!.id);
    if (s.senders.length) {
      await tx.query(`INSERT INTO migration_senders (scan_id, key, mailbox, concealed, last_basic_auth, last_basic_auth_precision, data)
          SELECT $1, * FROM unnest($2::text[], $3::text[], $4::boolean[], $5::bigint[], $6::text[], $7::text[])`, [
        id, s.senders.map((x) => x.key), s.senders.map((x) => x.mailbox), s.senders.map((x) => x.concealed),
        s.senders.map((x) => x.lastBasicAuth), s.senders.map((x) => x.lastBasicAuthPrecision), s.senders.map((x) => JSON.stringify(x)),
      ]);
    }
    return id;
  });
}

export async function scans(q: Queryable, limit: number): Promise<ScanSummary[]> {
  const r = await q.query<ScanRow>('SELECT * FROM migration_scans ORDER BY finished_at DESC, id DESC LIMIT $1', [limit]);
  return r.rows.map(toSummary);
}

export async function scan(q: Queryable, id: number): Promise<ScanRecord | undefined> {
  const r = await q.query<ScanRow>('SELECT * FROM migration_scans WHERE id = $1', [id]);
  const row = r.rows[0];
  if (!row) return undefined;
  const senders = await q.query<{ data: string }>('SELECT data FROM migration_senders WHERE scan_id = $1 ORDER BY key', [id]);
  const { senderCount: _count, ...summary } = toSummary(row);
  return { ...summary, senders: senders.rows.map((x) => JSON.parse(x.data) as ScanSender) };
}

export async function senderHistory(q: Queryable): Promise<SenderHistory[]> {
  const r = await q.query<{
    key: string; mailbox: string | null; concealed: boolean; first_found: number; last_found: number; scans: number;
    max_time: number | null; max_day: number | null;
  }>(`SELECT s.key, MAX(s.mailbox) AS mailbox, bool_or(s.concealed) AS concealed, MIN(m.finished_at) AS first_found,
      MAX(m.finished_at) AS last_found, COUNT(*)::integer AS scans,
      MAX(s.last_basic_auth) FILTER (WHERE s.last_basic_auth_precision = 'time') AS max_time,
      MAX(s.last_basic_auth) FILTER (WHERE s.last_basic_auth_precision = 'day') AS max_day
    FROM migration_senders s JOIN migration_scans m ON m.id = s.scan_id GROUP BY s.key ORDER BY s.key`);
  return r.rows.map((x) => ({
    key: x.key, mailbox: x.mailbox, concealed: x.concealed, firstFoundAt: x.first_found, lastFoundAt: x.last_found, scans: x.scans,
    ...latestUse(x.max_time, x.max_day),
  }));
}

export async function setIgnore(q: Queryable, m: IgnoreMark): Promise<void> {
  await q.query(`INSERT INTO migration_ignores (key, reason, by_whom, at) VALUES ($1, $2, $3, $4)
      ON CONFLICT (key) DO UPDATE SET reason = EXCLUDED.reason, by_whom = EXCLUDED.by_whom, at = EXCLUDED.at`, [m.key, m.reason, m.by, m.at]);
}

export async function clearIgnore(q: Queryable, key: string): Promise<boolean> {
  return ((await q.query('DELETE FROM migration_ignores WHERE key = $1', [key])).rowCount ?? 0) > 0;
}

export async function ignoreMarks(q: Queryable): Promise<IgnoreMark[]> {
  const r = await q.query<{ key: string; reason: string; by_whom: string; at: number }>('SELECT key, reason, by_whom, at FROM migration_ignores ORDER BY key');
  return r.rows.map((x) => ({ key: x.key, reason: x.reason, by: x.by_whom, at: x.at }));
}

export async function mailboxesSeen(q: Queryable, mailboxes: string[]): Promise<MailboxSeen[]> {
  if (mailboxes.length === 0) return [];
  const list = [...new Set(mailboxes.map((m) => m.toLowerCase()))];
  // A message counts once for a mailbox even when its sendAs and its From are both that mailbox (UNION drops the twin).
  const r = await q.query<SeenRow>(`WITH hits AS (
      SELECT id, lower(send_as) AS mailbox, received_at, device FROM messages
        WHERE parent_id IS NULL AND kind = 'message' AND send_as IS NOT NULL AND lower(send_as) = ANY($1::text[])
      UNION
      SELECT id, lower(header_from) AS mailbox, received_at, device FROM messages
        WHERE parent_id IS NULL AND kind = 'message' AND header_from IS NOT NULL AND lower(header_from) = ANY($1::text[])
    )
    SELECT mailbox, device, MIN(received_at) AS first_seen, MAX(received_at) AS last_seen, COUNT(*)::integer AS n
    FROM hits GROUP BY mailbox, device`, [list]);
  return foldSeen(r.rows);
}

export async function pruneScans(q: Queryable, before: number): Promise<number> {
  // The senders go with their scan (ON DELETE CASCADE).
  return (await q.query('DELETE FROM migration_scans WHERE finished_at < $1', [before])).rowCount ?? 0;
}
