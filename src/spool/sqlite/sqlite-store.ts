/**
 * SQLite spool (better-sqlite3, WAL). Bodies up to 128 KB are stored in the
 * `bodies` table, larger ones in files (see bodies.ts). Acceptance commits are
 * grouped: all messages that finished their body while the previous group was
 * committing go in one transaction, followed by one fdatasync of the WAL file.
 * The device inventory is in inventory.ts.
 */
import Database from 'better-sqlite3';
import { mkdirSync, openSync, closeSync, fdatasync, constants as fsConstants } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type {
  ActivityBucket, ActivityQuery, AttemptResult, BodyWriter, ClaimRequest, DeviceActivity, DeviceSeen, LeaseRef, ListFilter, MessageState,
  NewMessage, QueuedMessage, Store, TrailEvent,
} from '../store.js';
import type { Actor } from '../../core/trail-texts.js';
import { newLeaseToken } from '../lease-token.js';
import { TurnBatch } from '../../core/turn-batch.js';
import { receivedEvent, releaseEvent, rerouteEvent, retryEvent, routedEvent, splitEvent } from '../trail-events.js';
import { BodyFiles, trackedBody } from './bodies.js';
import { MIGRATIONS } from './schema.js';
import { decodedSubject } from '../subject-text.js';
import { devicesSeen, recordDeviceFailure, upsertDeviceActivity } from './inventory.js';
import { countByState, listMessages, readMessage, trailOf } from './listing.js';
import { activityBuckets } from './activity.js';
import type { IgnoreMark, MailboxSeen, NewScan, ScanRecord, ScanSummary, SenderHistory } from '../migration-records.js';
import * as board from './migration-scans.js';

/** Columns a part made by splitting a message copies from it (all but id, route, state and times). */
const COPIED_COLUMNS = 'body_id, kind, sender, size, received_at, expires_at, device, client_ip, origin, subject, subject_text, header_from, message_id_header, send_as, notes, eight_bit';


/**
 * Every Database and Statement made stays referenced for the life of the
 * process. better-sqlite3 12 compiled against Node 24's headers aborts when
 * the garbage collector finalises one (ObjectWrap cleanup hook without an
 * environment); the set is small (statements are cached by their SQL).
 */
const RETAINED = new Set<unknown>();
function retain(o: unknown): void {
  RETAINED.add(o);
}

interface Pending {
  message: NewMessage;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface PendingResult {
  lease: LeaseRef;
  r: AttemptResult;
  resolve: (written: boolean) => void;
  reject: (err: Error) => void;
}

export interface SqliteStoreOptions {
  /** Directory for queue.db and bodies/. */
  dir: string;
  /** Database file (default dir/queue.db). */
  file?: string;
}

export class SqliteStore implements Store {
  /** The connection's page cache, in KiB (see init). */
  static readonly CACHE_KIB = 2048;
  private db!: Database.Database;
  private readonly bodies: BodyFiles;
  private pending: Pending[] = [];
  private flushing = false;
  /** Attempt results waiting for the next grouped write (finishAttempt). */
  private readonly results = new TurnBatch<PendingResult>((group) => this.writeResults(group));
  private closed = false;
  private walFd: number | undefined;
  /** Body writers by message id, from createBody until the message is committed (or a body written by a receive worker). */
  private readonly writers = new Map<string, { readonly bodyId: string; inline(): Buffer | undefined }>();
  private readonly statements = new Map<string, Database.Statement>();
  private readonly transactions = new Map<(...args: never[]) => unknown, Database.Transaction<(...args: never[]) => unknown>>();

  constructor(private readonly opts: SqliteStoreOptions) {
    this.bodies = new BodyFiles(join(opts.dir, 'bodies'));
  }

  async init(): Promise<void> {
    mkdirSync(this.opts.dir, { recursive: true, mode: 0o700 });
    this.db = new Database(this.opts.file ?? join(this.opts.dir, 'queue.db'));
    retain(this.db);
    // Pragmas run through cached statements: with better-sqlite3 12 built for Node 24, a
    // Statement object that is garbage-collected can abort the process, so none is dropped.
    this.q('PRAGMA journal_mode = WAL').get();
    // synchronous = NORMAL: commits do not fsync, checkpoints do. Acceptance commits
    // are made durable by an fdatasync of the WAL file in the thread pool (see syncWal), so
    // the event loop never waits for the disk. Queue bookkeeping needs no fsync of its
    // own: the WAL keeps order, and a lost update after a power cut only means a retry.
    this.q('PRAGMA synchronous = NORMAL').run();
    // A page cache of 2 MB instead of SQLite's 16 MB: the pages a message touches (its rows, the right
    // edges of the indexes, the queue's due entries) are few and recent, a body is read back once, and
    // what is not cached comes from the operating system's file cache, which is not the relay's memory.
    // With 16 MB the cache filled during every long ingest and stayed: about 20 MB more resident memory
    // for no measurable speed (docs/architecture.md, Memory).
    this.q(`PRAGMA cache_size = -${SqliteStore.CACHE_KIB}`).run();
    this.q('PRAGMA busy_timeout = 10000').run();
    this.q('PRAGMA foreign_keys = OFF').run();
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    const applied = new Set(
      (this.q('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
    );
    for (const m of MIGRATIONS) {
      if (applied.has(m.version)) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        m.fill?.(this.q);
        this.q('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(m.version, Date.now());
      }).immediate();
    }
    await this.bodies.init();
    const file = this.opts.file ?? join(this.opts.dir, 'queue.db');
    this.walFd = openSync(`${file}-wal`, fsConstants.O_RDONLY | fsConstants.O_CREAT, 0o600);
  }

  /** Prepared statements are cached: preparing costs more than running. */
  private readonly q = (sql: string): Database.Statement => {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
      retain(st);
    }
    return st;
  };

  /**
   * The transactions run for every message (acceptance, claim, results), each made once: better-sqlite3
   * builds a transaction function with its variants each time one is asked for, which cost as much as
   * some of the statements in it. `fn` is a method of this store that takes what changes as arguments
   * (never a closure over one call's values: the first call's would stay).
   */
  private tx<F extends (...args: never[]) => unknown>(fn: F): Database.Transaction<F> {
    let t = this.transactions.get(fn);
    if (!t) {
      t = this.db.transaction(fn);
      this.transactions.set(fn, t);
    }
    return t as Database.Transaction<F>;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.flushing || this.pending.length || this.results.size) await new Promise((r) => setTimeout(r, 5));
    await this.bodies.close();
    this.closed = true;
    if (this.walFd !== undefined) closeSync(this.walFd);
    this.db.close();
  }

  createBody(id: string): BodyWriter {
    return trackedBody(this.bodies, this.writers, id);
  }


  /**
   * The acceptance of a message whose body a receive worker wrote (workers > 1):
   * in a file in bodies/ (finished: data and directory entry durable), or
   * inline (up to 128 KB, stored in the row). Committed in the next group, as
   * accept() does; this process stays the spool's only writer.
   */
  acceptWritten(message: NewMessage, body: { bodyId: string; inline?: Buffer | undefined }): Promise<void> {
    this.writers.set(message.id, { bodyId: body.bodyId, inline: () => body.inline });
    return this.accept(message).catch((err: unknown) => {
      this.writers.delete(message.id);
      throw err;
    });
  }

  /** Where body files are (a receive worker writes its bodies there). */
  get bodiesDir(): string {
    return this.bodies.dir;
  }

  accept(message: NewMessage): Promise<void> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return new Promise((resolve, reject) => {
      this.pending.push({ message, resolve, reject });
      if (!this.flushing) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.pending.length === 0) return;
    this.flushing = true;
    const group = this.pending;
    this.pending = [];
    try {
      // Bodies in files (data and directory entry) are durable already: BodyWriter.finish() waited for both.
      this.insertGroup(group.map((p) => p.message));
      await this.syncWal();
      for (const p of group) p.resolve();
    } catch (err) {
      for (const p of group) p.reject(err as Error);
    } finally {
      for (const p of group) this.writers.delete(p.message.id);
      this.flushing = false;
      if (this.pending.length) setImmediate(() => void this.flush());
    }
  }

  /**
   * fdatasync, not fsync: the WAL's frames (and its size, when it grew) reach the disk, its
   * modification time need not, so the file system writes no journal commit for it when SQLite
   * overwrites the WAL from its start (after a checkpoint). PostgreSQL syncs its WAL so by default
   * on Linux (wal_sync_method = fdatasync). The sync is on the way of every 250; on this project's
   * machine, 100 KB written in place and synced 300 times: medians 0.12 and 0.17 ms against 0.17
   * and 0.21 ms with fsync (docs/architecture.md, Spool and durability).
   */
  private syncWal(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.walFd === undefined) return reject(new Error('store is not open'));
      fdatasync(this.walFd, (err) => (err ? reject(err) : resolve()));
    });
  }

  private insertGroup(messages: NewMessage[]): void {
    this.tx(this.insertRows).immediate(messages);
  }

  private readonly insertRows = (messages: NewMessage[]): void => {
    const insMsg = this.q(`INSERT INTO messages
      (id, parent_id, body_id, kind, state, route, sender, size, received_at, expires_at, updated_at, next_attempt_at,
       device, client_ip, origin, subject, subject_text, header_from, message_id_header, send_as, notes, eight_bit)
      VALUES (@id, @parentId, @bodyId, @kind, 'incoming', @route, @sender, @size, @receivedAt, @expiresAt, @receivedAt, @receivedAt,
       @device, @clientIp, @origin, @subject, @subjectText, @headerFrom, @messageIdHeader, @sendAs, @notes, @eightBit)`);
    const insBody = this.q('INSERT INTO bodies (body_id, data) VALUES (?, ?)');
    const insRcpt = this.q(`INSERT INTO recipients (message_id, idx, address, state, updated_at) VALUES (?, ?, ?, 'pending', ?)`);
    const insEvent = this.q(`INSERT INTO events (message_id, at, kind, text, data) VALUES (?, ?, ?, ?, ?)`);
    for (const m of messages) {
      const o = m.origin;
      const groups = m.routes?.length ? m.routes : [{ route: null, recipients: m.recipients, rule: undefined }];
      const writer = this.writers.get(m.id);
      const body = writer?.inline();
      const bodyId = writer?.bodyId ?? m.id;
      if (body) insBody.run(bodyId, body);
      groups.forEach((g, n) => {
        const id = n === 0 ? m.id : `${m.id}.${n}`;
        insMsg.run({
          id, parentId: n === 0 ? null : m.id, bodyId, route: g.route,
          kind: m.kind ?? 'message', sender: m.sender, size: m.size, receivedAt: m.receivedAt, expiresAt: m.expiresAt,
          device: o.device, clientIp: o.clientIp, origin: JSON.stringify(o),
          subject: m.subject ?? null, subjectText: decodedSubject(m.subject), headerFrom: m.headerFrom ?? null, messageIdHeader: m.messageIdHeader ?? null,
          sendAs: m.sendAs ?? null, notes: m.notes?.length ? JSON.stringify(m.notes) : null,
          eightBit: m.eightBit === undefined ? null : m.eightBit ? 1 : 0,
        });
        g.recipients.forEach((r, i) => insRcpt.run(id, i, r, m.receivedAt));
        const received = receivedEvent(m, n === 0 ? undefined : m.id);
        insEvent.run(id, m.receivedAt, 'received', received.text, JSON.stringify(received.data));
        if (g.route !== null) {
          const routed = routedEvent(g.route, g.recipients, g.rule);
          insEvent.run(id, m.receivedAt, 'routed', routed.text, JSON.stringify(routed.data));
        }
      });
      if (o.device && (m.kind ?? 'message') === 'message') {
        upsertDeviceActivity(this.q, {
          device: o.device, clientIp: o.clientIp, at: m.receivedAt, accepted: 1, listener: o.listener,
          authMechanism: o.authMechanism ?? 'none', tlsVersion: o.tlsVersion ?? 'none',
        });
      }
    }
  };

  openBody(bodyId: string, readBytes?: number): Readable {
    const row = this.q('SELECT data FROM bodies WHERE body_id = ?').get(bodyId) as { data: Buffer } | undefined;
    if (row) return Readable.from([row.data], { objectMode: false });
    return this.bodies.open(bodyId, readBytes);
  }

  /**
   * Due messages of a route (or of none), and messages whose attempt's lease ran out (its node died or
   * hangs), the earliest first: one ordered walk of messages_due (state, route, next_attempt_at) per
   * state, each stopping at the limit. Written as one WHERE with OR, SQLite gathered and sorted every
   * due message of the route for each claim, which grew with the queue (docs/benchmarks.md).
   */
  static claimSql(unrouted: boolean): string {
    const routeCond = unrouted ? 'route IS NULL' : 'route = @route';
    const due = (state: string, cond: string) =>
      `SELECT * FROM (SELECT id, next_attempt_at AS due FROM messages WHERE state = '${state}' AND ${routeCond} AND ${cond}
         ORDER BY next_attempt_at LIMIT @limit)`;
    return `SELECT id FROM (${due('incoming', 'next_attempt_at <= @now')} UNION ALL ${due('deferred', 'next_attempt_at <= @now')}
         UNION ALL ${due('active', 'lease_until < @now')}) ORDER BY due LIMIT @limit`;
  }

  /**
   * A recipient's result. `+address`: the row is found through its message (the primary key). Left to
   * itself SQLite took the address index and walked every row ever kept for that address: with all of
   * an office's scans going to one mailbox, each result cost more as the queue's history grew.
   */
  static readonly RECIPIENT_RESULT_SQL = `UPDATE recipients SET state = ?, attempts = attempts + 1, updated_at = ?, last = ?
      WHERE message_id = ? AND +address = ? AND state IN ('pending','held')`;

  async claim(req: ClaimRequest): Promise<QueuedMessage[]> {
    const ids = this.tx(this.claimRows).immediate(req, newLeaseToken());
    return ids.map((id) => readMessage(this.q, id)).filter((m): m is QueuedMessage => m !== undefined);
  }

  private readonly claimRows = (req: ClaimRequest, token: string): string[] => {
    const rows = this.q(SqliteStore.claimSql(req.route === null)).all({ route: req.route, now: req.now, limit: req.limit }) as { id: string }[];
    const update = this.q(
      `UPDATE messages SET state = 'active', lease_owner = @owner, lease_token = @token, lease_until = @until, updated_at = @now WHERE id = @id`,
    );
    for (const r of rows) update.run({ owner: req.owner, token, until: req.now + req.leaseMs, now: req.now, id: r.id });
    return rows.map((r) => r.id);
  };

  /** The condition that the caller still holds the lease (parameters @id, @owner, @token). */
  private static readonly HELD = `id = @id AND lease_owner = @owner AND lease_token = @token AND state = 'active'`;

  async renewLease(leases: LeaseRef[], leaseMs: number, now: number): Promise<string[]> {
    const stmt = this.q(`UPDATE messages SET lease_until = @until WHERE ${SqliteStore.HELD}`);
    return this.db.transaction(() => leases.filter((l) => stmt.run({ ...l, until: now + leaseMs }).changes > 0).map((l) => l.id)).immediate();
  }

  async releaseLeases(leases: LeaseRef[], now: number): Promise<number> {
    const stmt = this.q(`UPDATE messages SET state = CASE WHEN attempts = 0 THEN 'incoming' ELSE 'deferred' END,
        lease_owner = NULL, lease_token = NULL, lease_until = NULL, next_attempt_at = @now, updated_at = @now WHERE ${SqliteStore.HELD}`);
    return this.db.transaction(() => leases.filter((l) => stmt.run({ ...l, now }).changes > 0).length).immediate();
  }

  async assignRoutes(lease: LeaseRef, groups: { route: string; recipients: string[]; rule?: string }[], now: number): Promise<string[]> {
    const id = lease.id;
    const ids: string[] = [];
    // A message split before (and released since) already has parts .1, .2...: new parts take free numbers.
    let suffix = 0;
    const freeId = () => {
      while (this.q('SELECT 1 FROM messages WHERE id = ?').get(`${id}.${++suffix}`));
      return `${id}.${suffix}`;
    };
    this.db.transaction(() => {
      if (!this.q(`SELECT 1 FROM messages WHERE ${SqliteStore.HELD}`).get(lease)) throw new Error(`message ${id} is not leased by ${lease.owner} (its lease was lost)`);
      groups.forEach((g, n) => {
        const targetId = n === 0 ? id : freeId();
        if (n > 0) {
          this.q(`INSERT INTO messages (id, parent_id, state, route, updated_at, next_attempt_at, ${COPIED_COLUMNS})
            SELECT ?, id, 'incoming', ?, ?, ?, ${COPIED_COLUMNS} FROM messages WHERE id = ?`)
            .run(targetId, g.route, now, now, id);
          // `+address`: through the message, as in RECIPIENT_RESULT_SQL.
          const move = this.q(`UPDATE recipients SET message_id = ?, idx = ? WHERE message_id = ? AND +address = ? AND state = 'pending'`);
          g.recipients.forEach((r, i) => move.run(targetId, i, id, r));
          const split = splitEvent(id, g.recipients.length, g.route);
          this.q(`INSERT INTO events (message_id, at, kind, text, data) VALUES (?, ?, 'split', ?, ?)`)
            .run(targetId, now, split.text, JSON.stringify(split.data));
        } else {
          this.q(`UPDATE messages SET route = ?, state = 'incoming', lease_owner = NULL, lease_token = NULL, lease_until = NULL,
            next_attempt_at = ?, updated_at = ? WHERE id = ?`).run(g.route, now, now, id);
        }
        const routed = routedEvent(g.route, g.recipients, g.rule);
        this.q(`INSERT INTO events (message_id, at, kind, text, data) VALUES (?, ?, 'routed', ?, ?)`)
          .run(targetId, now, routed.text, JSON.stringify(routed.data));
        ids.push(targetId);
      });
    }).immediate();
    return ids;
  }

  /**
   * Results that arrive in the same turn of the event loop are written in one transaction, each in a
   * savepoint of its own (one result that fails leaves the others written). Under load deliveries end
   * close together, and one commit for several results writes their shared pages (the indexes' leaves)
   * once: the commit was the largest single cost of a result. Results need no fsync of their own (see
   * docs/architecture.md, Spool and durability), so this adds no wait for the disk.
   */
  finishAttempt(lease: LeaseRef, r: AttemptResult): Promise<boolean> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return new Promise((resolve, reject) => this.results.push({ lease, r, resolve, reject }));
  }

  private writeResults(group: PendingResult[]): void {
    const outcomes: ({ ok: boolean } | { err: Error })[] = [];
    try {
      this.tx(this.resultRows).immediate(group, outcomes);
    } catch (err) {
      // The group's transaction itself failed (BEGIN or COMMIT): nothing of it was written.
      for (const item of group) item.reject(err as Error);
      return;
    }
    group.forEach((item, i) => {
      const o = outcomes[i]!;
      if ('err' in o) item.reject(o.err);
      else item.resolve(o.ok);
    });
  }

  /** The results of one group, each in a savepoint of its own (resultRow); `outcomes` gets one entry for each. */
  private readonly resultRows = (group: PendingResult[], outcomes: ({ ok: boolean } | { err: Error })[]): void => {
    for (const item of group) {
      try {
        outcomes.push({ ok: this.tx(this.resultRow)(item.lease, item.r) });
      } catch (err) {
        // SQLite rolls the whole transaction back itself on some errors (disk full, I/O, out of memory):
        // the results written before are gone too, and the rest must not be written on their own.
        if (!this.db.inTransaction) throw err;
        outcomes.push({ err: err as Error });
      }
    }
  };

  /** One result. */
  private readonly resultRow = (lease: LeaseRef, r: AttemptResult): boolean => {
    const updRcpt = this.q(SqliteStore.RECIPIENT_RESULT_SQL);
    const id = lease.id;
    const firstProblem = r.recipients.find((u) => u.state !== 'delivered')?.outcome ?? null;
    // The lease is checked and ended in the same write: a result from a lease that was lost changes nothing.
    const ended = this.q(`UPDATE messages SET state = @state, attempts = attempts + 1, next_attempt_at = @next, updated_at = @at,
        lease_owner = NULL, lease_token = NULL, lease_until = NULL, last_error = @lastError, finished_at = @finishedAt,
        route = CASE WHEN @unroute = 1 THEN NULL ELSE route END WHERE ${SqliteStore.HELD}`)
      .run({
        ...lease, state: r.state, next: r.nextAttemptAt, at: r.at, lastError: firstProblem ? JSON.stringify(firstProblem) : null,
        finishedAt: r.state === 'delivered' || r.state === 'failed' ? r.at : null, unroute: r.unroute && r.state === 'deferred' ? 1 : 0,
      });
    if (ended.changes === 0) return false;
    for (const u of r.recipients) updRcpt.run(u.state, r.at, JSON.stringify(u.outcome), id, u.address);
    this.q(`INSERT INTO events (message_id, at, kind, text, data) VALUES (?, ?, 'attempt', ?, ?)`)
      .run(id, r.at, r.summary, JSON.stringify({ route: r.route, durationMs: r.durationMs, state: r.state, recipients: r.recipients, ...(r.say ? { say: r.say } : {}) }));
    return true;
  };

  async queuedRoutes(): Promise<string[]> {
    const rows = this.q(`SELECT DISTINCT route FROM messages WHERE state IN ('incoming','deferred') AND route IS NOT NULL`).all() as { route: string }[];
    return rows.map((r) => r.route);
  }

  async unrouteQueued(now: number, by: Actor, routes?: readonly string[]): Promise<number> {
    const which = routes ? `route IN (SELECT value FROM json_each(@routes))` : 'route IS NOT NULL';
    const e = rerouteEvent(by);
    const params = { now, text: e.text, data: JSON.stringify(e.data), routes: JSON.stringify(routes ?? []) };
    return this.db.transaction(() => {
      this.q(`INSERT INTO events (message_id, at, kind, text, data)
          SELECT id, @now, 'reroute', @text, @data FROM messages WHERE state IN ('incoming','deferred') AND ${which}`).run(params);
      return this.q(`UPDATE messages SET route = NULL, next_attempt_at = @now, updated_at = @now
          WHERE state IN ('incoming','deferred') AND ${which}`).run(params).changes;
    }).immediate();
  }

  async recoverActive(owner: string, now: number): Promise<number> {
    const res = this.q(`UPDATE messages SET state = CASE WHEN attempts = 0 THEN 'incoming' ELSE 'deferred' END,
        lease_owner = NULL, lease_token = NULL, lease_until = NULL, next_attempt_at = ?, updated_at = ?
      WHERE state = 'active' AND (lease_owner = ? OR lease_until < ?)`).run(now, now, owner, now);
    return res.changes;
  }

  async get(id: string): Promise<QueuedMessage | undefined> {
    return readMessage(this.q, id);
  }

  async list(f: ListFilter): Promise<QueuedMessage[]> {
    return listMessages(this.q, f);
  }

  async trail(id: string): Promise<TrailEvent[]> {
    return trailOf(this.q, id);
  }

  async addEvent(id: string, e: TrailEvent): Promise<void> {
    this.q('INSERT INTO events (message_id, at, kind, text, data) VALUES (?, ?, ?, ?, ?)')
      .run(id, e.at, e.kind, e.text, e.data ? JSON.stringify(e.data) : null);
  }

  async counts(): Promise<Record<MessageState, number>> {
    return countByState(this.q);
  }

  async activity(query: ActivityQuery): Promise<ActivityBucket[]> {
    return activityBuckets(this.q, query);
  }

  async retry(id: string, now: number, expiresAt: number, by: Actor): Promise<boolean> {
    return this.db.transaction(() => {
      const res = this.q(`UPDATE messages SET state = 'incoming', route = NULL, next_attempt_at = ?, updated_at = ?,
          expires_at = ?, finished_at = NULL WHERE id = ? AND state IN ('failed','deferred','held') AND body_present = 1`)
        .run(now, now, expiresAt, id);
      if (res.changes === 0) return false;
      this.q(`UPDATE recipients SET state = 'pending', updated_at = ? WHERE message_id = ? AND state IN ('failed','held')`).run(now, id);
      const e = retryEvent(by);
      this.q(`INSERT INTO events (message_id, at, kind, text, data) VALUES (?, ?, 'retry', ?, ?)`).run(id, now, e.text, JSON.stringify(e.data));
      return true;
    }).immediate();
  }

  async release(id: string, now: number, by: Actor): Promise<boolean> {
    return this.db.transaction(() => {
      const res = this.q(`UPDATE messages SET state = 'incoming', route = NULL, next_attempt_at = ?, updated_at = ?
          WHERE id = ? AND state = 'held'`).run(now, now, id);
      if (res.changes === 0) return false;
      this.q(`UPDATE recipients SET state = 'pending', updated_at = ? WHERE message_id = ? AND state = 'held'`).run(now, id);
      const e = releaseEvent(by);
      this.q(`INSERT INTO events (message_id, at, kind, text, data) VALUES (?, ?, 'release', ?, ?)`).run(id, now, e.text, JSON.stringify(e.data));
      return true;
    }).immediate();
  }

  async remove(id: string): Promise<boolean> {
    // The state is checked inside the write transaction: a relay may claim the message
    // (active) between a check made before it and the delete.
    const row = this.db.transaction(() => {
      const r = this.q(`SELECT body_id, state FROM messages WHERE id = ?`).get(id) as { body_id: string; state: string } | undefined;
      if (!r || r.state === 'active') return undefined;
      this.q('DELETE FROM messages WHERE id = ?').run(id);
      this.q('DELETE FROM recipients WHERE message_id = ?').run(id);
      this.q('DELETE FROM events WHERE message_id = ?').run(id);
      const others = (this.q('SELECT COUNT(*) AS n FROM messages WHERE body_id = ?').get(r.body_id) as { n: number }).n;
      if (others === 0) this.q('DELETE FROM bodies WHERE body_id = ?').run(r.body_id);
      return { bodyId: r.body_id, others };
    }).immediate();
    if (!row) return false;
    if (row.others === 0) await this.bodies.remove(row.bodyId);
    return true;
  }

  async purgeDeliveredBodies(before: number): Promise<number> {
    const bodies = this.q(`SELECT body_id FROM messages GROUP BY body_id
        HAVING SUM(CASE WHEN state = 'delivered' AND finished_at < ? THEN 0 ELSE 1 END) = 0 AND MAX(body_present) = 1`)
      .all(before) as { body_id: string }[];
    for (const b of bodies) {
      await this.bodies.remove(b.body_id);
      this.q('UPDATE messages SET body_present = 0 WHERE body_id = ?').run(b.body_id);
      this.q('DELETE FROM bodies WHERE body_id = ?').run(b.body_id);
    }
    return bodies.length;
  }

  async recordDeviceActivity(a: DeviceActivity): Promise<void> {
    upsertDeviceActivity(this.q, a);
  }

  async recordDeviceFailure(device: string, clientIp: string): Promise<void> {
    recordDeviceFailure(this.q, device, clientIp);
  }

  async devicesSeen(): Promise<DeviceSeen[]> {
    return devicesSeen(this.q);
  }

  // The migration board's records (../migration-records.ts, ./migration-scans.ts).
  async saveScan(scan: NewScan): Promise<number> { return board.saveScan(this.db, this.q, scan); }
  async scans(limit: number): Promise<ScanSummary[]> { return board.scans(this.q, limit); }
  async scan(id: number): Promise<ScanRecord | undefined> { return board.scan(this.q, id); }
  async senderHistory(): Promise<SenderHistory[]> { return board.senderHistory(this.q); }
  async setIgnore(mark: IgnoreMark): Promise<void> { board.setIgnore(this.q, mark); }
  async clearIgnore(key: string): Promise<boolean> { return board.clearIgnore(this.q, key); }
  async ignoreMarks(): Promise<IgnoreMark[]> { return board.ignoreMarks(this.q); }
  async mailboxesSeen(mailboxes: string[]): Promise<MailboxSeen[]> { return board.mailboxesSeen(this.q, mailboxes); }
  async pruneScans(before: number): Promise<number> { return board.pruneScans(this.db, this.q, before); }

  /** Removes body files that no message refers to (left by a crash before the commit). */
  async removeOrphanBodies(): Promise<number> {
    const known = new Set((this.q('SELECT DISTINCT body_id FROM messages').all() as { body_id: string }[]).map((r) => r.body_id));
    for (const b of this.bodies.pooled()) known.add(b);
    let n = 0;
    for (const b of await this.bodies.list()) {
      if (!known.has(b)) {
        await this.bodies.remove(b);
        n++;
      }
    }
    // The relay receives from now on: files for large bodies are made ready ahead (bodies.ts).
    this.bodies.fill();
    return n;
  }
}
