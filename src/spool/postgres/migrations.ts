/**
 * Numbered migrations of the PostgreSQL spool, applied in order, each once,
 * by migrate.ts (under an advisory lock, the pending ones in one transaction).
 * A migration is never edited once released: changes go in a new one.
 *
 * Times are BIGINT milliseconds since the epoch, as in the Store interface.
 * Identifiers sort bytewise (COLLATE "C"), whatever the database's locale.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'messages, recipients, trail, device inventory, chunked bodies',
    sql: `
CREATE TABLE messages (
  id text COLLATE "C" PRIMARY KEY,
  parent_id text COLLATE "C",
  body_id text COLLATE "C" NOT NULL,
  body_present boolean NOT NULL DEFAULT true,
  kind text NOT NULL DEFAULT 'message',
  state text NOT NULL,
  route text,
  sender text NOT NULL,
  size bigint NOT NULL,
  received_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  finished_at bigint,
  next_attempt_at bigint NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  lease_owner text,
  lease_until bigint,
  device text,
  client_ip text,
  origin text NOT NULL,
  subject text,
  header_from text,
  message_id_header text,
  send_as text,
  notes text,
  last_error text
);
CREATE INDEX messages_queued ON messages (route, next_attempt_at) WHERE state IN ('incoming', 'deferred');
CREATE INDEX messages_active ON messages (lease_until) WHERE state = 'active';
CREATE INDEX messages_state ON messages (state);
CREATE INDEX messages_received ON messages (received_at);
CREATE INDEX messages_finished ON messages (finished_at) WHERE state IN ('delivered', 'failed');
CREATE INDEX messages_body ON messages (body_id);

CREATE TABLE recipients (
  message_id text COLLATE "C" NOT NULL,
  idx integer NOT NULL,
  address text NOT NULL,
  state text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  updated_at bigint NOT NULL,
  last text,
  PRIMARY KEY (message_id, idx)
);

CREATE TABLE events (
  seq bigserial PRIMARY KEY,
  message_id text COLLATE "C" NOT NULL,
  at bigint NOT NULL,
  kind text NOT NULL,
  text text NOT NULL,
  data text
);
CREATE INDEX events_message ON events (message_id, seq);

CREATE TABLE devices_seen (
  device text COLLATE "C" NOT NULL,
  client_ip text COLLATE "C" NOT NULL,
  last_seen bigint NOT NULL,
  auth_mechanism text,
  tls_version text,
  listener text,
  accepted bigint NOT NULL DEFAULT 0,
  rejected bigint NOT NULL DEFAULT 0,
  failed bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (device, client_ip)
);

-- A body: its chunks, and while it is being written (before a message refers to it) the
-- store instance writing it and that writer's lease, on the database clock. A body whose
-- writer is NULL belongs to the messages that refer to it.
CREATE TABLE bodies (
  body_id text COLLATE "C" PRIMARY KEY,
  size bigint,
  chunks integer,
  writer text,
  lease_until timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bodies_writing ON bodies (lease_until) WHERE writer IS NOT NULL;

CREATE TABLE body_chunks (
  body_id text COLLATE "C" NOT NULL REFERENCES bodies (body_id) ON DELETE CASCADE,
  seq integer NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (body_id, seq)
);
-- Chunks are stored out of line and uncompressed: mail is mostly base64 and compressed
-- attachments, which do not shrink, and compressing them would only cost CPU.
ALTER TABLE body_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
`,
  },
  {
    version: 2,
    name: 'per-mailbox pacing shared by all nodes',
    sql: `
-- A slot: one message being sent for a key (an upstream and a mailbox), held by a node
-- under a lease that it renews; a dead node's slots free up when their lease runs out.
CREATE TABLE pacing_slots (
  slot text COLLATE "C" PRIMARY KEY,
  key text NOT NULL,
  holder text NOT NULL,
  acquired_at bigint NOT NULL,
  lease_until bigint NOT NULL
);
CREATE INDEX pacing_slots_key ON pacing_slots (key);
-- Messages started per key, for the per-minute and per-day quotas (kept a day).
CREATE TABLE pacing_starts (
  id bigserial PRIMARY KEY,
  key text NOT NULL,
  at bigint NOT NULL,
  recipients integer NOT NULL
);
CREATE INDEX pacing_starts_key ON pacing_starts (key, at);
-- Microsoft asked (429 Retry-After) that nothing is sent for the key before this time.
CREATE TABLE pacing_pauses (
  key text PRIMARY KEY,
  until bigint NOT NULL
);
`,
  },
  {
    version: 3,
    name: 'lease tokens: a lease is told apart from a later one of the same owner',
    sql: `ALTER TABLE messages ADD COLUMN lease_token text;`,
  },
  {
    version: 4,
    name: 'migration board: tenant scans, the senders each found, ignore marks',
    sql: `
CREATE TABLE migration_scans (
  id bigserial PRIMARY KEY,
  started_at bigint NOT NULL,
  finished_at bigint NOT NULL,
  period text NOT NULL,
  trigger_kind text NOT NULL,
  by_whom text NOT NULL,
  app text NOT NULL,
  tenant text NOT NULL,
  app_id text NOT NULL,
  sources text NOT NULL,
  concealed boolean NOT NULL,
  display_concealed_names boolean,
  report_refresh_date text,
  report_etag text,
  sender_count integer NOT NULL
);
CREATE INDEX migration_scans_finished ON migration_scans (finished_at);
CREATE TABLE migration_senders (
  scan_id bigint NOT NULL REFERENCES migration_scans (id) ON DELETE CASCADE,
  key text COLLATE "C" NOT NULL,
  mailbox text,
  concealed boolean NOT NULL,
  last_basic_auth bigint,
  last_basic_auth_precision text,
  data text NOT NULL,
  PRIMARY KEY (scan_id, key)
);
CREATE INDEX migration_senders_key ON migration_senders (key);
CREATE TABLE migration_ignores (
  key text COLLATE "C" PRIMARY KEY,
  reason text NOT NULL,
  by_whom text NOT NULL,
  at bigint NOT NULL
);
`,
  },
  {
    version: 5,
    name: 'eight_bit: whether a message has bytes above 127 (BODY=8BITMIME)',
    sql: `ALTER TABLE messages ADD COLUMN eight_bit boolean;`,
  },
  {
    version: 6,
    name: 'subject_text: the Subject decoded (MIME encoded-words), what a subject search matches too',
    sql: `ALTER TABLE messages ADD COLUMN subject_text text;`,
  },
  {
    version: 7,
    name: 'messages_queued with id: a claim reads queued messages in its order (next_attempt_at, id) and stops at its limit',
    sql: `CREATE INDEX messages_queued_order ON messages (route, next_attempt_at, id) WHERE state IN ('incoming', 'deferred');
DROP INDEX messages_queued;`,
  },
];
