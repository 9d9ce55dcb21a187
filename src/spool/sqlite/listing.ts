/** Reading the SQLite queue: one message, messages by filter (the admin faces), a message's trail, counts per state. */
import type Database from 'better-sqlite3';
import { MESSAGE_STATES, type ListFilter, type MessageState, type QueuedMessage, type TrailEvent } from '../store.js';
import { toMessage, type MessageRow, type RecipientRow } from './rows.js';

/** The store's cached statement getter. */
type Statements = (sql: string) => Database.Statement;

export function readMessage(q: Statements, id: string): QueuedMessage | undefined {
  const row = q('SELECT * FROM messages WHERE id = ?').get(id) as MessageRow | undefined;
  if (!row) return undefined;
  const rcpts = q('SELECT * FROM recipients WHERE message_id = ? ORDER BY idx').all(id) as RecipientRow[];
  return toMessage(row, rcpts);
}

export function listMessages(q: Statements, f: ListFilter): QueuedMessage[] {
  const where: string[] = [];
  const p: Record<string, unknown> = { limit: f.limit ?? 100 };
  if (f.states?.length) {
    where.push(`state IN (${f.states.map((_, i) => `@s${i}`).join(',')})`);
    f.states.forEach((s, i) => (p[`s${i}`] = s));
  }
  const add = (cond: string, key: string, value: unknown) => {
    where.push(cond);
    p[key] = value;
  };
  if (f.device) add('device = @device', 'device', f.device);
  if (f.route) add('route = @route', 'route', f.route);
  if (f.sender) add('sender LIKE @sender', 'sender', `%${f.sender}%`);
  if (f.before) add('received_at < @before', 'before', f.before);
  if (f.since) add('received_at >= @since', 'since', f.since);
  // LIKE is case-insensitive for ASCII; the pattern's own % and _ are escaped. The Subject as received or decoded (subject_text).
  if (f.subject) {
    add(`(subject LIKE @subject ESCAPE '\\' OR subject_text LIKE @subject ESCAPE '\\')`, 'subject', `%${f.subject.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  }
  if (f.recipient) {
    where.push('id IN (SELECT message_id FROM recipients WHERE address LIKE @rcpt)');
    p.rcpt = `%${f.recipient}%`;
  }
  const rows = q(`SELECT * FROM messages ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY received_at DESC, id DESC LIMIT @limit`)
    .all(p) as MessageRow[];
  const rstmt = q('SELECT * FROM recipients WHERE message_id = ? ORDER BY idx');
  return rows.map((row) => toMessage(row, rstmt.all(row.id) as RecipientRow[]));
}

export function trailOf(q: Statements, id: string): TrailEvent[] {
  const rows = q('SELECT at, kind, text, data FROM events WHERE message_id = ? ORDER BY seq').all(id) as {
    at: number; kind: string; text: string; data: string | null;
  }[];
  return rows.map((r) => ({ at: r.at, kind: r.kind, text: r.text, ...(r.data ? { data: JSON.parse(r.data) as Record<string, unknown> } : {}) }));
}

export function countByState(q: Statements): Record<MessageState, number> {
  const out = Object.fromEntries(MESSAGE_STATES.map((s) => [s, 0])) as Record<MessageState, number>;
  const rows = q('SELECT state, COUNT(*) AS n FROM messages GROUP BY state').all() as { state: MessageState; n: number }[];
  for (const r of rows) out[r.state] = r.n;
  return out;
}
