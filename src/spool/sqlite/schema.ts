/** Numbered migrations of the SQLite spool. Applied in order, each once. */
import type Database from 'better-sqlite3';
import { decodedSubject } from '../subject-text.js';

/**
 * A migration: its SQL, then (optionally) what fills the new columns of the rows already there, with
 * the store's cached statements (kept referenced, as every statement of the store is).
 */
export const MIGRATIONS: { version: number; sql: string; fill?: (q: (sql: string) => Database.Statement) => void }[] = [
  {
    version: 1,
    sql: `
CREATE TABLE messages (
  id TEXT PRIMARY KEY,
  parent_id TEXT,
  body_id TEXT NOT NULL,
  body_present INTEGER NOT NULL DEFAULT 1,
  kind TEXT NOT NULL DEFAULT 'message',
  state TEXT NOT NULL,
  route TEXT,
  sender TEXT NOT NULL,
  size INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  finished_at INTEGER,
  next_attempt_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_until INTEGER,
  device TEXT,
  client_ip TEXT,
  origin TEXT NOT NULL,
  subject TEXT,
  header_from TEXT,
  message_id_header TEXT,
  send_as TEXT,
  notes TEXT,
  last_error TEXT
);
CREATE INDEX messages_due ON messages (state, route, next_attempt_at);
CREATE INDEX messages_received ON messages (received_at);
CREATE INDEX messages_body ON messages (body_id);
CREATE TABLE recipients (
  message_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  address TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL,
  last TEXT,
  PRIMARY KEY (message_id, idx)
);
CREATE INDEX recipients_address ON recipients (address);
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  text TEXT NOT NULL,
  data TEXT
);
CREATE INDEX events_message ON events (message_id, seq);
CREATE TABLE devices_seen (
  device TEXT NOT NULL,
  client_ip TEXT NOT NULL,
  last_seen INTEGER NOT NULL,
  auth_mechanism TEXT,
  tls_version TEXT,
  listener TEXT,
  accepted INTEGER NOT NULL DEFAULT 0,
  rejected INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (device, client_ip)
);
`,
  },
  {
    version: 2,
    // Small bodies live in the database (see bodies.ts, INLINE_MAX), in a table of their
    // own so that updating a message's state never rewrites its body.
    sql: `CREATE TABLE bodies (body_id TEXT PRIMARY KEY, data BLOB NOT NULL);`,
  },
  {
    version: 3,
    // The token of the claim that holds a message's lease (see ../lease-token.ts).
    sql: `ALTER TABLE messages ADD COLUMN lease_token TEXT;`,
  },
  {
    version: 4,
    // The migration board (../migration-records.ts): tenant scans, the senders each found, ignore marks.
    sql: `
CREATE TABLE migration_scans (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  period TEXT NOT NULL,
  trigger_kind TEXT NOT NULL,
  by_whom TEXT NOT NULL,
  app TEXT NOT NULL,
  tenant TEXT NOT NULL,
  app_id TEXT NOT NULL,
  sources TEXT NOT NULL,
  concealed INTEGER NOT NULL,
  display_concealed_names INTEGER,
  report_refresh_date TEXT,
  report_etag TEXT,
  sender_count INTEGER NOT NULL
);
CREATE INDEX migration_scans_finished ON migration_scans (finished_at);
CREATE TABLE migration_senders (
  scan_id INTEGER NOT NULL,
  key TEXT NOT NULL,
  mailbox TEXT,
  concealed INTEGER NOT NULL,
  last_basic_auth INTEGER,
  last_basic_auth_precision TEXT,
  data TEXT NOT NULL,
  PRIMARY KEY (scan_id, key)
);
CREATE INDEX migration_senders_key ON migration_senders (key);
CREATE TABLE migration_ignores (
  key TEXT PRIMARY KEY,
  reason TEXT NOT NULL,
  by_whom TEXT NOT NULL,
  at INTEGER NOT NULL
);
`,
  },
  {
    version: 5,
    // Whether the stored message has bytes above 127 (the transports announce BODY=8BITMIME); NULL for older messages.
    sql: `ALTER TABLE messages ADD COLUMN eight_bit INTEGER;`,
  },
  {
    version: 6,
    // The Subject decoded (MIME encoded-words), when it differs from the Subject as received: what a subject search matches too.
    sql: `ALTER TABLE messages ADD COLUMN subject_text TEXT;`,
    fill: (q) => {
      const update = q('UPDATE messages SET subject_text = ? WHERE id = ?');
      for (const row of q(`SELECT id, subject FROM messages WHERE subject LIKE '%=?%'`).all() as { id: string; subject: string }[]) {
        const text = decodedSubject(row.subject);
        if (text !== null) update.run(text, row.id);
      }
    },
  },
];
