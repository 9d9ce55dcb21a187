/**
 * Applying and inspecting the PostgreSQL spool's migrations. Several nodes
 * may start at the same moment: the one transaction that applies the
 * pending migrations first takes a transaction-scoped advisory lock, so the
 * others wait, then find nothing left to do. The table authrelay_migrations
 * records what ran.
 */
import type { Db, Queryable } from './db.js';
import { MIGRATIONS, type Migration } from './migrations.js';

/** The advisory lock key taken while migrating ("authrelay" as a number; any fixed key would do). */
export const MIGRATION_LOCK_KEY = 4_242_757_661_001;

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS authrelay_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

export interface AppliedMigration {
  version: number;
  name: string;
  appliedAt: number;
}

export interface MigrationStatus {
  /** Highest version applied (0: none). */
  version: number;
  applied: AppliedMigration[];
  /** Known to this relay, not applied yet. */
  pending: Migration[];
  /** Applied in the database but unknown to this relay (a newer relay migrated it). */
  unknown: number[];
}

async function appliedIn(q: Queryable): Promise<AppliedMigration[]> {
  const exists = await q.query<{ t: string | null }>(`SELECT to_regclass('authrelay_migrations')::text AS t`);
  if (!exists.rows[0]?.t) return [];
  const rows = await q.query<{ version: number; name: string; applied_at: Date }>(
    'SELECT version, name, applied_at FROM authrelay_migrations ORDER BY version',
  );
  return rows.rows.map((r) => ({ version: r.version, name: r.name, appliedAt: r.applied_at.getTime() }));
}

function status(applied: AppliedMigration[], known: readonly Migration[]): MigrationStatus {
  const done = new Set(applied.map((a) => a.version));
  const knownVersions = new Set(known.map((m) => m.version));
  return {
    version: applied.reduce((v, a) => Math.max(v, a.version), 0),
    applied,
    pending: known.filter((m) => !done.has(m.version)),
    unknown: applied.map((a) => a.version).filter((v) => !knownVersions.has(v)),
  };
}

/** What has run and what is pending; changes nothing. */
export async function migrationStatus(db: Queryable, known: readonly Migration[] = MIGRATIONS): Promise<MigrationStatus> {
  return status(await appliedIn(db), known);
}

/**
 * Applies the pending migrations in one transaction under the advisory lock
 * and answers which ran (none when another node was first).
 */
export async function applyMigrations(db: Db, known: readonly Migration[] = MIGRATIONS): Promise<{ ran: Migration[]; status: MigrationStatus }> {
  return db.tx(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.query(CREATE_TABLE);
    const before = status(await appliedIn(tx), known);
    for (const m of before.pending) {
      await tx.query(m.sql);
      await tx.query('INSERT INTO authrelay_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
    }
    return { ran: before.pending, status: status(await appliedIn(tx), known) };
  });
}
