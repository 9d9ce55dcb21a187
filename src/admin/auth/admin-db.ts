/**
 * Admin state in its own small SQLite file (dataDir/admin.db, better-sqlite3):
 * the admin account's password hash, the pending setup token's hash, signed-in
 * sessions, API tokens (hashes only) and the audit log. Kept apart from the
 * spool so the message store's interface stays about messages.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS admins (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (id_hash TEXT PRIMARY KEY, user TEXT NOT NULL, csrf TEXT NOT NULL, ip TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS api_tokens (id TEXT PRIMARY KEY, name TEXT NOT NULL, scope TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
  created_by TEXT NOT NULL, created_at INTEGER NOT NULL, last_used_at INTEGER);
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  target TEXT, ip TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
`;

export type TokenScope = 'read' | 'admin';

export interface SessionRow {
  user: string;
  csrf: string;
  ip: string;
  createdAt: number;
  expiresAt: number;
}

export interface ApiTokenRow {
  id: string;
  name: string;
  scope: TokenScope;
  createdBy: string;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface AuditEntry {
  seq: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  ip: string;
  outcome: 'ok' | 'refused';
  detail: Record<string, unknown> | null;
}

export type NewAuditEntry = Omit<AuditEntry, 'seq' | 'detail'> & { detail?: Record<string, unknown> };

/** better-sqlite3 objects stay referenced for the process's life (see sqlite-store.ts on Node 24). */
const RETAINED = new Set<unknown>();

export class AdminDb {
  private db!: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly file: string) {}

  init(): void {
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    this.db = new Database(this.file);
    RETAINED.add(this.db);
    this.q('PRAGMA journal_mode = WAL').get();
    this.db.exec(SCHEMA);
  }

  close(): void {
    if (this.db?.open) this.db.close();
  }

  private q(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
      RETAINED.add(st);
    }
    return st;
  }

  // admin account
  passwordHash(user: string): string | undefined {
    return (this.q('SELECT password_hash FROM admins WHERE name = ?').get(user) as { password_hash: string } | undefined)?.password_hash;
  }

  hasAdmin(): boolean {
    return this.q('SELECT 1 FROM admins LIMIT 1').get() !== undefined;
  }

  /** Creates the account only while none exists; false when one was there already. */
  createAdmin(user: string, hash: string, now: number): boolean {
    return this.db.transaction(() => {
      if (this.hasAdmin()) return false;
      this.q('INSERT INTO admins (name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)').run(user, hash, now, now);
      this.q("DELETE FROM settings WHERE key = 'setup_token_hash'").run();
      return true;
    }).immediate();
  }

  // setup token
  setSetupTokenHash(hash: string): void {
    this.q("INSERT INTO settings (key, value) VALUES ('setup_token_hash', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(hash);
  }

  setupTokenHash(): string | undefined {
    return (this.q("SELECT value FROM settings WHERE key = 'setup_token_hash'").get() as { value: string } | undefined)?.value;
  }

  // sessions
  addSession(idHash: string, s: SessionRow): void {
    this.q('INSERT INTO sessions (id_hash, user, csrf, ip, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(idHash, s.user, s.csrf, s.ip, s.createdAt, s.expiresAt);
  }

  session(idHash: string, now: number): SessionRow | undefined {
    const r = this.q('SELECT user, csrf, ip, created_at, expires_at FROM sessions WHERE id_hash = ? AND expires_at > ?').get(idHash, now) as
      { user: string; csrf: string; ip: string; created_at: number; expires_at: number } | undefined;
    return r && { user: r.user, csrf: r.csrf, ip: r.ip, createdAt: r.created_at, expiresAt: r.expires_at };
  }

  removeSession(idHash: string): void {
    this.q('DELETE FROM sessions WHERE id_hash = ?').run(idHash);
  }

  removeExpiredSessions(now: number): void {
    this.q('DELETE FROM sessions WHERE expires_at <= ?').run(now);
  }

  // API tokens
  addToken(t: ApiTokenRow, tokenHash: string): void {
    this.q('INSERT INTO api_tokens (id, name, scope, token_hash, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(t.id, t.name, t.scope, tokenHash, t.createdBy, t.createdAt);
  }

  tokenByHash(tokenHash: string, now: number): ApiTokenRow | undefined {
    const r = this.q('SELECT * FROM api_tokens WHERE token_hash = ?').get(tokenHash) as TokenDbRow | undefined;
    if (!r) return undefined;
    this.q('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(now, r.id);
    return { ...tokenRow(r), lastUsedAt: now };
  }

  tokens(): ApiTokenRow[] {
    return (this.q('SELECT * FROM api_tokens ORDER BY created_at, id').all() as TokenDbRow[]).map(tokenRow);
  }

  removeToken(id: string): ApiTokenRow | undefined {
    const r = this.q('SELECT * FROM api_tokens WHERE id = ?').get(id) as TokenDbRow | undefined;
    if (r) this.q('DELETE FROM api_tokens WHERE id = ?').run(id);
    return r && tokenRow(r);
  }

  // audit log
  audit(e: NewAuditEntry): void {
    this.q('INSERT INTO audit (at, actor, action, target, ip, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(e.at, e.actor, e.action, e.target, e.ip, e.outcome, e.detail ? JSON.stringify(e.detail) : null);
  }

  /** Newest first; `before` is a sequence number for paging. */
  auditEntries(f: { limit: number; before?: number; action?: string }): AuditEntry[] {
    const rows = this.q(`SELECT * FROM audit WHERE (@before IS NULL OR seq < @before) AND (@action IS NULL OR action = @action)
      ORDER BY seq DESC LIMIT @limit`).all({ before: f.before ?? null, action: f.action ?? null, limit: f.limit }) as
      { seq: number; at: number; actor: string; action: string; target: string | null; ip: string; outcome: 'ok' | 'refused'; detail: string | null }[];
    return rows.map((r) => ({ ...r, detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null }));
  }
}

interface TokenDbRow {
  id: string;
  name: string;
  scope: TokenScope;
  created_by: string;
  created_at: number;
  last_used_at: number | null;
}

function tokenRow(r: TokenDbRow): ApiTokenRow {
  return { id: r.id, name: r.name, scope: r.scope, createdBy: r.created_by, createdAt: r.created_at, lastUsedAt: r.last_used_at };
}
