/**
 * PostgreSQL spool, shared by several relay nodes. Message state and bodies
 * live in the database (bodies in chunks, see bodies.ts), so any node can
 * deliver any message. Claims take rows with SELECT ... FOR UPDATE SKIP
 * LOCKED and give them a lease (owner, claim token and expiry); renewing,
 * routing, finishing and releasing change nothing unless the caller still
 * holds that lease (see ../store.ts); a node that dies leaves
 * leases that run out, and claim() and recoverActive() of the others take
 * those messages over. Migrations run in init() under an advisory lock
 * (migrate.ts).
 *
 * Durability: acceptance commits are grouped (every message that finished
 * while the previous group committed goes in the next transaction) and run
 * with synchronous_commit on, whatever the server's default, so accept()
 * resolves only when the body and its message are on the server's disk.
 * Queue bookkeeping uses the server's setting: a lost update after a server
 * crash only means a message is tried again.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import type {
  ActivityBucket, ActivityQuery, AttemptResult, BodyWriter, ClaimRequest, DeviceActivity, DeviceSeen, LeaseRef, ListFilter, MessageState,
  NewMessage, QueuedMessage, Store, TrailEvent,
} from '../store.js';
import type { Actor } from '../../core/trail-texts.js';
import { newLeaseToken } from '../lease-token.js';
import { Db, type PoolOptions } from './db.js';
import { PgBodies, type PgBodyWriter } from './bodies.js';
import { applyMigrations, migrationStatus, type MigrationStatus } from './migrate.js';
import type { Migration } from './migrations.js';
import { insertEvents, insertGroup, type Accepting } from './accept.js';
import { releaseEvent, rerouteEvent, retryEvent, routedEvent, splitEvent } from '../trail-events.js';
import { activityBuckets, countByState, listMessages, readMessage, trailOf, withRecipients } from './listing.js';
import { devicesSeen, recordDeviceFailure, upsertDeviceActivity } from './inventory.js';
import type { MessageRow } from './rows.js';
import { inspect, type PostgresReport } from './inspect.js';
import { PgPacing, type PgPacingOptions } from './pacing.js';
import type { IgnoreMark, MailboxSeen, NewScan, ScanRecord, ScanSummary, SenderHistory } from '../migration-records.js';
import * as board from './migration-scans.js';

/** Columns a part made by splitting a message copies from it (all but id, route, state and times). */
const COPIED_COLUMNS = 'body_id, kind, sender, size, received_at, expires_at, device, client_ip, origin, subject, subject_text, header_from, message_id_header, send_as, notes, eight_bit';
/** The acceptance transaction is durable when it returns, whatever the server's default. */
const DURABLE = 'BEGIN; SET LOCAL synchronous_commit TO on';
/** The advisory lock key held while purging bodies. */
const PURGE_LOCK_KEY = 4_242_757_661_002;
/** Messages in one acceptance transaction at most. */
const GROUP_MAX = 200;

export interface PostgresStoreOptions extends PoolOptions {
  /** This instance's name as a body writer; unique per store instance (default: host, process and a random part). */
  writerName?: string;
  /** Lease of a body being written, renewed a third of it apart (default 2 minutes). */
  bodyLeaseMs?: number;
}

interface Pending {
  entry: Accepting;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class PostgresStore implements Store {
  readonly db: Db;
  private readonly bodies: PgBodies;
  private pending: Pending[] = [];
  private flushing = false;
  private closed = false;
  /** Body writers by message id, from createBody until the message is committed or the body aborted. */
  private readonly writers = new Map<string, PgBodyWriter>();
  /** Bodies of messages waiting for, or in, an acceptance commit. */
  private readonly accepting = new Set<string>();
  /** Pacing coordinators made by pacing(), closed before the pool. */
  private readonly coordinators: PgPacing[] = [];

  constructor(opts: PostgresStoreOptions) {
    this.db = new Db(opts);
    const writer = opts.writerName ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.bodies = new PgBodies(this.db, writer, opts.bodyLeaseMs ?? 120_000);
  }

  /** Applies pending migrations (under the advisory lock); answers which ran here. */
  async migrate(): Promise<{ ran: Migration[]; status: MigrationStatus }> {
    return applyMigrations(this.db);
  }

  /** The schema's state, without changing anything. */
  schemaStatus(): Promise<MigrationStatus> {
    return migrationStatus(this.db);
  }

  /** Server, schema and queue figures for `authrelay store check`; changes nothing. */
  inspect(now: number): Promise<PostgresReport> {
    return inspect(this.db, now);
  }

  async init(): Promise<void> {
    await this.migrate();
    this.bodies.start();
  }

  /**
   * Per-mailbox pacing counted in this database, so the limits hold for all
   * nodes together. holder names this node in the slots it takes.
   */
  pacing(holder: string, opts: PgPacingOptions = {}): PgPacing {
    const p = new PgPacing(this.db, holder, opts);
    this.coordinators.push(p);
    return p;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.flushing || this.pending.length) await new Promise((r) => setTimeout(r, 5));
    this.closed = true;
    for (const p of this.coordinators) await p.close();
    this.bodies.stop();
    await this.db.end();
  }

  createBody(id: string): BodyWriter {
    const w = this.bodies.create(id);
    this.writers.set(id, w);
    return {
      bodyId: w.bodyId,
      stream: w.stream,
      finish: () => w.finish(),
      abort: async () => {
        this.writers.delete(id);
        await w.abort();
      },
    };
  }

  accept(message: NewMessage): Promise<void> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    const w = this.writers.get(message.id);
    const entry: Accepting = { message, bodyId: w?.bodyId ?? message.id, inline: w ? w.inline() : Buffer.alloc(0), chunks: w?.chunks() ?? 0 };
    this.accepting.add(entry.bodyId);
    return new Promise((resolve, reject) => {
      this.pending.push({ entry, resolve, reject });
      if (!this.flushing) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.pending.length === 0) return;
    this.flushing = true;
    const group = this.pending.splice(0, GROUP_MAX);
    try {
      const lost = await this.db.tx((tx) => insertGroup(tx, group.map((p) => p.entry), this.bodies.writer), DURABLE);
      for (const p of group) {
        if (lost.has(p.entry.message.id)) p.reject(new Error(`the body of ${p.entry.message.id} was removed before it was stored (its lease ran out)`));
        else p.resolve();
      }
    } catch (err) {
      for (const p of group) p.reject(err as Error);
    } finally {
      for (const p of group) {
        this.writers.delete(p.entry.message.id);
        this.accepting.delete(p.entry.bodyId);
        this.bodies.settled(p.entry.bodyId);
      }
      this.flushing = false;
      if (this.pending.length) setImmediate(() => void this.flush());
    }
  }

  openBody(bodyId: string): Readable {
    return this.bodies.open(bodyId);
  }

  async claim(req: ClaimRequest): Promise<QueuedMessage[]> {
    const routeCond = req.route === null ? 'route IS NULL AND $1::text IS NULL' : 'route = $1';
    // Due messages, and messages whose attempt's lease ran out (its node died or hangs), the earliest
    // first. Queued ones are read in the order of messages_queued_order, stopping at the limit; written
    // as one WHERE with OR, PostgreSQL gathered every due message of the route (and the index entries
    // that deliveries left behind until a vacuum) and sorted them for each claim. Rows locked by a part
    // and not taken are free again when the statement ends.
    const r = await this.db.query<MessageRow>(`WITH queued AS (
        SELECT id, next_attempt_at FROM messages WHERE ${routeCond} AND state IN ('incoming', 'deferred') AND next_attempt_at <= $2
        ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED),
      lapsed AS (
        SELECT id, next_attempt_at FROM messages WHERE ${routeCond} AND state = 'active' AND lease_until < $2
        ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED),
      due AS (SELECT id FROM (SELECT * FROM queued UNION ALL SELECT * FROM lapsed) x ORDER BY next_attempt_at, id LIMIT $3)
      UPDATE messages m SET state = 'active', lease_owner = $4, lease_token = $6, lease_until = $5, updated_at = $2
      FROM due WHERE m.id = due.id RETURNING m.*`, [req.route, req.now, req.limit, req.owner, req.now + req.leaseMs, newLeaseToken()]);
    const rows = r.rows.sort((a, b) => a.next_attempt_at - b.next_attempt_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return withRecipients(this.db, rows);
  }

  async renewLease(leases: LeaseRef[], leaseMs: number, now: number): Promise<string[]> {
    if (leases.length === 0) return [];
    const r = await this.db.query<{ id: string }>(`UPDATE messages m SET lease_until = $1
        FROM unnest($2::text[], $3::text[], $4::text[]) AS l(id, owner, token)
        WHERE m.id = l.id AND m.lease_owner = l.owner AND m.lease_token = l.token AND m.state = 'active' RETURNING m.id`,
    [now + leaseMs, leases.map((l) => l.id), leases.map((l) => l.owner), leases.map((l) => l.token)]);
    return r.rows.map((x) => x.id);
  }

  async releaseLeases(leases: LeaseRef[], now: number): Promise<number> {
    if (leases.length === 0) return 0;
    const r = await this.db.query(`UPDATE messages m SET state = CASE WHEN m.attempts = 0 THEN 'incoming' ELSE 'deferred' END,
        lease_owner = NULL, lease_token = NULL, lease_until = NULL, next_attempt_at = $1, updated_at = $1
        FROM unnest($2::text[], $3::text[], $4::text[]) AS l(id, owner, token)
        WHERE m.id = l.id AND m.lease_owner = l.owner AND m.lease_token = l.token AND m.state = 'active'`,
    [now, leases.map((l) => l.id), leases.map((l) => l.owner), leases.map((l) => l.token)]);
    return r.rowCount ?? 0;
  }

  async assignRoutes(lease: LeaseRef, groups: { route: string; recipients: string[]; rule?: string }[], now: number): Promise<string[]> {
    const id = lease.id;
    return this.db.tx(async (tx) => {
      const cur = await tx.query<{ lease_owner: string | null; lease_token: string | null; state: string }>(
        'SELECT lease_owner, lease_token, state FROM messages WHERE id = $1 FOR UPDATE', [id]);
      const row = cur.rows[0];
      if (row?.lease_owner !== lease.owner || row.lease_token !== lease.token || row.state !== 'active') {
        throw new Error(`message ${id} is not leased by ${lease.owner} (its lease was lost)`);
      }
      // A message split before (and released since) already has parts .1, .2...: new parts take free numbers.
      const taken = new Set((await tx.query<{ id: string }>('SELECT id FROM messages WHERE id LIKE $1', [`${id}.%`])).rows.map((r) => r.id));
      let suffix = 0;
      const freeId = () => {
        while (taken.has(`${id}.${++suffix}`));
        return `${id}.${suffix}`;
      };
      const ids: string[] = [];
      const ev = { id: [] as string[], at: [] as number[], kind: [] as string[], text: [] as string[], data: [] as (string | null)[] };
      const event = (target: string, kind: string, text: string, data: unknown) => {
        ev.id.push(target);
        ev.at.push(now);
        ev.kind.push(kind);
        ev.text.push(text);
        ev.data.push(data === null ? null : JSON.stringify(data));
      };
      for (const [n, g] of groups.entries()) {
        const target = n === 0 ? id : freeId();
        if (n > 0) {
          await tx.query(`INSERT INTO messages (id, parent_id, state, route, updated_at, next_attempt_at, ${COPIED_COLUMNS})
              SELECT $1, id, 'incoming', $2, $3, $3, ${COPIED_COLUMNS} FROM messages WHERE id = $4`, [target, g.route, now, id]);
          await tx.query(`UPDATE recipients r SET message_id = $1, idx = u.n - 1
              FROM unnest($3::text[]) WITH ORDINALITY AS u(address, n)
              WHERE r.message_id = $2 AND r.address = u.address AND r.state = 'pending'`, [target, id, g.recipients]);
          const split = splitEvent(id, g.recipients.length, g.route);
          event(target, 'split', split.text, split.data);
        } else {
          await tx.query(`UPDATE messages SET route = $1, state = 'incoming', lease_owner = NULL, lease_token = NULL, lease_until = NULL,
              next_attempt_at = $2, updated_at = $2 WHERE id = $3`, [g.route, now, id]);
        }
        const routed = routedEvent(g.route, g.recipients, g.rule);
        event(target, 'routed', routed.text, routed.data);
        ids.push(target);
      }
      await insertEvents(tx, ev);
      return ids;
    });
  }

  async finishAttempt(lease: LeaseRef, r: AttemptResult): Promise<boolean> {
    const id = lease.id;
    // One update per address, the first given (as if applied in order: a finished recipient is not touched again).
    const seen = new Set<string>();
    const updates = r.recipients.filter((u) => !seen.has(u.address) && seen.add(u.address));
    const firstProblem = r.recipients.find((u) => u.state !== 'delivered')?.outcome ?? null;
    return this.db.tx(async (tx) => {
      // The lease is checked and ended in the same statement (the row stays locked to the end of the
      // transaction): a result from a lease that was lost changes nothing.
      const ended = await tx.query(`UPDATE messages SET state = $2, attempts = attempts + 1, next_attempt_at = $3, updated_at = $4,
          lease_owner = NULL, lease_token = NULL, lease_until = NULL, last_error = $5, finished_at = $6,
          route = CASE WHEN $9 THEN NULL ELSE route END
        WHERE id = $1 AND lease_owner = $7 AND lease_token = $8 AND state = 'active'`,
      [id, r.state, r.nextAttemptAt, r.at, firstProblem ? JSON.stringify(firstProblem) : null,
        r.state === 'delivered' || r.state === 'failed' ? r.at : null, lease.owner, lease.token, Boolean(r.unroute && r.state === 'deferred')]);
      if (!ended.rowCount) return false;
      await tx.query(`UPDATE recipients r SET state = u.state, attempts = r.attempts + 1, updated_at = $2, last = u.last
          FROM unnest($3::text[], $4::text[], $5::text[]) AS u(address, state, last)
          WHERE r.message_id = $1 AND r.address = u.address AND r.state IN ('pending', 'held')`,
      [id, r.at, updates.map((u) => u.address), updates.map((u) => u.state), updates.map((u) => JSON.stringify(u.outcome))]);
      await tx.query(`INSERT INTO events (message_id, at, kind, text, data) VALUES ($1, $2, 'attempt', $3, $4)`,
        [id, r.at, r.summary, JSON.stringify({ route: r.route, durationMs: r.durationMs, state: r.state, recipients: r.recipients, ...(r.say ? { say: r.say } : {}) })]);
      return true;
    });
  }

  async queuedRoutes(): Promise<string[]> {
    const r = await this.db.query<{ route: string }>(`SELECT DISTINCT route FROM messages WHERE state IN ('incoming', 'deferred') AND route IS NOT NULL`);
    return r.rows.map((x) => x.route);
  }

  async unrouteQueued(now: number, by: Actor, routes?: readonly string[]): Promise<number> {
    return this.db.tx(async (tx) => {
      const r = await tx.query<{ id: string }>(`UPDATE messages SET route = NULL, next_attempt_at = $1, updated_at = $1
          WHERE state IN ('incoming', 'deferred') AND route IS NOT NULL AND ($2::text[] IS NULL OR route = ANY($2)) RETURNING id`, [now, routes ? [...routes] : null]);
      const ids = r.rows.map((x) => x.id);
      if (ids.length) {
        const e = rerouteEvent(by);
        await tx.query(`INSERT INTO events (message_id, at, kind, text, data) SELECT unnest($1::text[]), $2, 'reroute', $3, $4`,
          [ids, now, e.text, JSON.stringify(e.data)]);
      }
      return ids.length;
    });
  }

  async recoverActive(owner: string, now: number): Promise<number> {
    const r = await this.db.query(`UPDATE messages SET state = CASE WHEN attempts = 0 THEN 'incoming' ELSE 'deferred' END,
        lease_owner = NULL, lease_token = NULL, lease_until = NULL, next_attempt_at = $1, updated_at = $1
      WHERE state = 'active' AND (lease_owner = $2 OR lease_until < $1)`, [now, owner]);
    return r.rowCount ?? 0;
  }

  get(id: string): Promise<QueuedMessage | undefined> {
    return readMessage(this.db, id);
  }

  list(f: ListFilter): Promise<QueuedMessage[]> {
    return listMessages(this.db, f);
  }

  trail(id: string): Promise<TrailEvent[]> {
    return trailOf(this.db, id);
  }

  async addEvent(id: string, e: TrailEvent): Promise<void> {
    await this.db.query('INSERT INTO events (message_id, at, kind, text, data) VALUES ($1, $2, $3, $4, $5)',
      [id, e.at, e.kind, e.text, e.data ? JSON.stringify(e.data) : null]);
  }

  counts(): Promise<Record<MessageState, number>> {
    return countByState(this.db);
  }

  activity(query: ActivityQuery): Promise<ActivityBucket[]> {
    return activityBuckets(this.db, query);
  }

  async retry(id: string, now: number, expiresAt: number, by: Actor): Promise<boolean> {
    return this.db.tx(async (tx) => {
      const r = await tx.query(`UPDATE messages SET state = 'incoming', route = NULL, next_attempt_at = $1, updated_at = $1,
          expires_at = $2, finished_at = NULL WHERE id = $3 AND state IN ('failed', 'deferred', 'held') AND body_present`, [now, expiresAt, id]);
      if (r.rowCount === 0) return false;
      await tx.query(`UPDATE recipients SET state = 'pending', updated_at = $1 WHERE message_id = $2 AND state IN ('failed', 'held')`, [now, id]);
      const e = retryEvent(by);
      await tx.query(`INSERT INTO events (message_id, at, kind, text, data) VALUES ($1, $2, 'retry', $3, $4)`, [id, now, e.text, JSON.stringify(e.data)]);
      return true;
    });
  }

  async release(id: string, now: number, by: Actor): Promise<boolean> {
    return this.db.tx(async (tx) => {
      const r = await tx.query(`UPDATE messages SET state = 'incoming', route = NULL, next_attempt_at = $1, updated_at = $1
          WHERE id = $2 AND state = 'held'`, [now, id]);
      if (r.rowCount === 0) return false;
      await tx.query(`UPDATE recipients SET state = 'pending', updated_at = $1 WHERE message_id = $2 AND state = 'held'`, [now, id]);
      const e = releaseEvent(by);
      await tx.query(`INSERT INTO events (message_id, at, kind, text, data) VALUES ($1, $2, 'release', $3, $4)`, [id, now, e.text, JSON.stringify(e.data)]);
      return true;
    });
  }

  async remove(id: string): Promise<boolean> {
    return this.db.tx(async (tx) => {
      // The state is checked on the locked row: a node may claim the message (active) between a check made before and the delete.
      const cur = await tx.query<{ body_id: string; state: string }>('SELECT body_id, state FROM messages WHERE id = $1 FOR UPDATE', [id]);
      const row = cur.rows[0];
      if (!row || row.state === 'active') return false;
      await tx.query('DELETE FROM messages WHERE id = $1', [id]);
      await tx.query('DELETE FROM recipients WHERE message_id = $1', [id]);
      await tx.query('DELETE FROM events WHERE message_id = $1', [id]);
      // The body row is locked before looking for other parts: two parts removed at once see each other's delete.
      await tx.query('SELECT 1 FROM bodies WHERE body_id = $1 FOR UPDATE', [row.body_id]);
      const others = await tx.query('SELECT 1 FROM messages WHERE body_id = $1 LIMIT 1', [row.body_id]);
      if (others.rowCount === 0) await tx.query('DELETE FROM bodies WHERE body_id = $1', [row.body_id]);
      return true;
    });
  }

  async purgeDeliveredBodies(before: number): Promise<number> {
    return this.db.tx(async (tx) => {
      // One node purges at a time (others find the lock taken and leave it to that one).
      const lock = await tx.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [PURGE_LOCK_KEY]);
      if (!lock.rows[0]?.ok) return 0;
      // Message rows first, then bodies: the same lock order as remove().
      const r = await tx.query<{ body_id: string }>(`UPDATE messages SET body_present = false WHERE body_id IN (
          SELECT m.body_id FROM messages m WHERE m.state = 'delivered' AND m.finished_at < $1 AND m.body_present
            AND NOT EXISTS (SELECT 1 FROM messages o WHERE o.body_id = m.body_id AND NOT (o.state = 'delivered' AND o.finished_at < $1)))
        RETURNING body_id`, [before]);
      const ids = [...new Set(r.rows.map((x) => x.body_id))];
      if (ids.length) await tx.query('DELETE FROM bodies WHERE body_id = ANY($1)', [ids]);
      return ids.length;
    });
  }

  async removeOrphanBodies(): Promise<number> {
    return this.bodies.removeOrphans(this.accepting);
  }

  async recordDeviceActivity(a: DeviceActivity): Promise<void> {
    await upsertDeviceActivity(this.db, [a]);
  }

  async recordDeviceFailure(device: string, clientIp: string): Promise<void> {
    await recordDeviceFailure(this.db, device, clientIp);
  }

  devicesSeen(): Promise<DeviceSeen[]> {
    return devicesSeen(this.db);
  }

  // The migration board's records (../migration-records.ts, ./migration-scans.ts).
  saveScan(scan: NewScan): Promise<number> { return board.saveScan(this.db, scan); }
  scans(limit: number): Promise<ScanSummary[]> { return board.scans(this.db, limit); }
  scan(id: number): Promise<ScanRecord | undefined> { return board.scan(this.db, id); }
  senderHistory(): Promise<SenderHistory[]> { return board.senderHistory(this.db); }
  setIgnore(mark: IgnoreMark): Promise<void> { return board.setIgnore(this.db, mark); }
  clearIgnore(key: string): Promise<boolean> { return board.clearIgnore(this.db, key); }
  ignoreMarks(): Promise<IgnoreMark[]> { return board.ignoreMarks(this.db); }
  mailboxesSeen(mailboxes: string[]): Promise<MailboxSeen[]> { return board.mailboxesSeen(this.db, mailboxes); }
  pruneScans(before: number): Promise<number> { return board.pruneScans(this.db, before); }
}
