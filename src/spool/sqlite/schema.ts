/** Numbered migrations of the SQLite spool. Applied in order, each once. */
export const MIGRATIONS: { version: number; sql: string }[] = [
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
];
