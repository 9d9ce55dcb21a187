/**
 * Message activity over time for the Overview chart: how many messages were
 * accepted, delivered and failed in each time bucket. Read-only queries.
 *
 * Accepted counts messages by received_at (kind 'message', not the parts a
 * split made, so one SMTP transaction counts once). Delivered and failed
 * count queue entries now in that state by finished_at, the time the last
 * attempt put them there (a retried message moves to the bucket of its new
 * outcome; while queued again it is in neither).
 */
import type Database from 'better-sqlite3';
import type { ActivityBucket, ActivityQuery } from '../store.js';

/** The store's cached statement getter. */
type Statements = (sql: string) => Database.Statement;

/** The most buckets one query may ask for (a year of hours is far beyond any chart). */
export const MAX_BUCKETS = 10_000;

export function activityBuckets(q: Statements, a: ActivityQuery): ActivityBucket[] {
  if (!Number.isInteger(a.since) || !Number.isInteger(a.until) || !Number.isInteger(a.bucketMs) || a.bucketMs <= 0 || a.until <= a.since) {
    throw new RangeError('activity: since < until and a positive whole bucket length are required');
  }
  const n = Math.ceil((a.until - a.since) / a.bucketMs);
  if (n > MAX_BUCKETS) throw new RangeError(`activity: at most ${MAX_BUCKETS} buckets`);
  const out: ActivityBucket[] = Array.from({ length: n }, (_, i) => ({ start: a.since + i * a.bucketMs, accepted: 0, delivered: 0, failed: 0 }));
  // Bound numbers are REAL in SQLite: the bucket index is truncated explicitly.
  const p = { since: a.since, until: a.until, bucket: a.bucketMs };
  const acceptedRows = q(`SELECT CAST((received_at - @since) / @bucket AS INTEGER) AS b, COUNT(*) AS n FROM messages
      WHERE received_at >= @since AND received_at < @until AND kind = 'message' AND parent_id IS NULL GROUP BY b`)
    .all(p) as { b: number; n: number }[];
  for (const r of acceptedRows) out[r.b]!.accepted = r.n;
  const finishedRows = q(`SELECT state, CAST((finished_at - @since) / @bucket AS INTEGER) AS b, COUNT(*) AS n FROM messages
      WHERE state IN ('delivered', 'failed') AND finished_at >= @since AND finished_at < @until GROUP BY state, b`)
    .all(p) as { state: 'delivered' | 'failed'; b: number; n: number }[];
  for (const r of finishedRows) out[r.b]![r.state] = r.n;
  return out;
}
