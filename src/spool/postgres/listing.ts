/**
 * Reading the PostgreSQL queue: messages by id (with their recipients, one
 * query for a whole batch), by filter, a message's trail, counts per state,
 * and activity per time bucket. Read-only.
 */
import { MESSAGE_STATES, type ActivityBucket, type ActivityQuery, type ListFilter, type MessageState, type QueuedMessage, type TrailEvent } from '../store.js';
import type { Queryable } from './db.js';
import { toEvent, toMessage, type EventRow, type MessageRow, type RecipientRow } from './rows.js';

/** The most buckets one activity query may ask for (as the SQLite store). */
export const MAX_BUCKETS = 10_000;

/** Messages made from rows, with their recipients, in the order of the rows. */
export async function withRecipients(q: Queryable, rows: MessageRow[]): Promise<QueuedMessage[]> {
  if (rows.length === 0) return [];
  const r = await q.query<RecipientRow>('SELECT * FROM recipients WHERE message_id = ANY($1) ORDER BY message_id, idx', [rows.map((m) => m.id)]);
  const by = new Map<string, RecipientRow[]>();
  for (const rc of r.rows) {
    let list = by.get(rc.message_id);
    if (!list) by.set(rc.message_id, (list = []));
    list.push(rc);
  }
  return rows.map((row) => toMessage(row, by.get(row.id) ?? []));
}

export async function readMessage(q: Queryable, id: string): Promise<QueuedMessage | undefined> {
  const r = await q.query<MessageRow>('SELECT * FROM messages WHERE id = $1', [id]);
  return (await withRecipients(q, r.rows))[0];
}

/** A LIKE pattern matching the text anywhere, its own % _ and \ taken literally. */
function contains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export async function listMessages(q: Queryable, f: ListFilter): Promise<QueuedMessage[]> {
  const where: string[] = [];
  const p: unknown[] = [];
  const add = (cond: (n: string) => string, value: unknown) => {
    p.push(value);
    where.push(cond(`$${p.length}`));
  };
  if (f.states?.length) add((n) => `state = ANY(${n})`, f.states);
  if (f.device) add((n) => `device = ${n}`, f.device);
  if (f.route) add((n) => `route = ${n}`, f.route);
  // Substrings, case-insensitive, like the SQLite store's LIKE.
  if (f.sender) add((n) => `sender ILIKE ${n}`, contains(f.sender));
  if (f.before) add((n) => `received_at < ${n}`, f.before);
  if (f.since) add((n) => `received_at >= ${n}`, f.since);
  // The Subject as received or decoded (subject_text).
  if (f.subject) add((n) => `(subject ILIKE ${n} OR subject_text ILIKE ${n})`, contains(f.subject));
  if (f.recipient) add((n) => `id IN (SELECT message_id FROM recipients WHERE address ILIKE ${n})`, contains(f.recipient));
  p.push(f.limit ?? 100);
  const r = await q.query<MessageRow>(
    `SELECT * FROM messages ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY received_at DESC, id DESC LIMIT $${p.length}`, p);
  return withRecipients(q, r.rows);
}

export async function trailOf(q: Queryable, id: string): Promise<TrailEvent[]> {
  const r = await q.query<EventRow>('SELECT at, kind, text, data FROM events WHERE message_id = $1 ORDER BY seq', [id]);
  return r.rows.map(toEvent);
}

export async function countByState(q: Queryable): Promise<Record<MessageState, number>> {
  const out = Object.fromEntries(MESSAGE_STATES.map((s) => [s, 0])) as Record<MessageState, number>;
  const r = await q.query<{ state: MessageState; n: number }>('SELECT state, COUNT(*) AS n FROM messages GROUP BY state');
  for (const row of r.rows) out[row.state] = row.n;
  return out;
}

/**
 * Accepted counts messages by received_at (kind 'message', not the parts a
 * split made); delivered and failed count queue entries now in that state by
 * finished_at, the time of the attempt that put them there.
 */
export async function activityBuckets(q: Queryable, a: ActivityQuery): Promise<ActivityBucket[]> {
  if (!Number.isInteger(a.since) || !Number.isInteger(a.until) || !Number.isInteger(a.bucketMs) || a.bucketMs <= 0 || a.until <= a.since) {
    throw new RangeError('activity: since < until and a positive whole bucket length are required');
  }
  const n = Math.ceil((a.until - a.since) / a.bucketMs);
  if (n > MAX_BUCKETS) throw new RangeError(`activity: at most ${MAX_BUCKETS} buckets`);
  const out: ActivityBucket[] = Array.from({ length: n }, (_, i) => ({ start: a.since + i * a.bucketMs, accepted: 0, delivered: 0, failed: 0 }));
  const p = [a.since, a.until, a.bucketMs];
  const accepted = await q.query<{ b: number; n: number }>(`SELECT (received_at - $1::bigint) / $3::bigint AS b, COUNT(*) AS n FROM messages
      WHERE received_at >= $1 AND received_at < $2 AND kind = 'message' AND parent_id IS NULL GROUP BY b`, p);
  for (const r of accepted.rows) out[r.b]!.accepted = r.n;
  const finished = await q.query<{ state: 'delivered' | 'failed'; b: number; n: number }>(`SELECT state, (finished_at - $1::bigint) / $3::bigint AS b, COUNT(*) AS n
      FROM messages WHERE state IN ('delivered', 'failed') AND finished_at >= $1 AND finished_at < $2 GROUP BY state, b`, p);
  for (const r of finished.rows) out[r.b]![r.state] = r.n;
  return out;
}
