/** What `authrelay store check` reports about a PostgreSQL spool; read-only. */
import type { MessageState } from '../store.js';
import type { Queryable } from './db.js';
import { countByState } from './listing.js';
import { migrationStatus, type MigrationStatus } from './migrate.js';

export interface PostgresReport {
  /** version() of the server. */
  server: string;
  database: string;
  user: string;
  encoding: string;
  schema: MigrationStatus;
  /** Absent until the first migration has run. */
  counts?: Record<MessageState, number>;
  bodies?: {
    /** Bodies stored for messages. */
    stored: number;
    bytes: number;
    /** Bodies being written by a node (not a message's yet). */
    writing: number;
    /** Of those, bodies whose writer's lease has run out (removed by the next clean-up). */
    abandoned: number;
  };
  /** Messages in delivery whose lease has run out (their node stopped; another node takes them over). */
  expiredLeases?: number;
}

export async function inspect(q: Queryable, now: number): Promise<PostgresReport> {
  const info = (await q.query<{ server: string; database: string; usr: string; encoding: string }>(
    `SELECT version() AS server, current_database() AS database, current_user AS usr, current_setting('server_encoding') AS encoding`)).rows[0]!;
  const schema = await migrationStatus(q);
  const report: PostgresReport = { server: info.server, database: info.database, user: info.usr, encoding: info.encoding, schema };
  if (schema.applied.length === 0) return report;
  report.counts = await countByState(q);
  const b = (await q.query<{ stored: number; bytes: number; writing: number; abandoned: number }>(`SELECT
      COUNT(*) FILTER (WHERE writer IS NULL) AS stored, COALESCE(SUM(size) FILTER (WHERE writer IS NULL), 0)::bigint AS bytes,
      COUNT(*) FILTER (WHERE writer IS NOT NULL) AS writing, COUNT(*) FILTER (WHERE writer IS NOT NULL AND lease_until < now()) AS abandoned
    FROM bodies`)).rows[0]!;
  report.bodies = b;
  report.expiredLeases = (await q.query<{ n: number }>(`SELECT COUNT(*) AS n FROM messages WHERE state = 'active' AND lease_until < $1`, [now])).rows[0]!.n;
  return report;
}
