/**
 * A delivery's lease under store faults, with the real binary (`authrelay
 * serve`) and a real, slow upstream:
 *  - SQLite: another connection holds the write lock past busy_timeout while
 *    a delivery runs, so a lease renewal fails with SQLITE_BUSY; then the same
 *    while the attempt's result is being written;
 *  - PostgreSQL: the connection running the renewal is terminated with
 *    pg_terminate_backend.
 * Each time the relay stays up (it still answers SMTP), logs the failure,
 * records the attempt, and the message is delivered exactly once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';
import { SmtpWire, sendRaw } from '../helpers/smtp-wire.js';
import { startUpstream } from '../helpers/upstream.js';
import { startRelayProcess, tempDir, writeConfig, sleep, until, type RelayProcess } from '../helpers/relay-process.js';
import { queueIdOf } from '../helpers/relay.js';
import { SqliteStore } from '../../src/spool/sqlite/sqlite-store.js';
import { PostgresStore } from '../../src/spool/postgres/postgres-store.js';
import type { Store } from '../../src/spool/store.js';
import { usePostgres } from '../helpers/postgres.js';

const message = (subject: string) => `From: ups@device.test\r\nTo: admin@example.com\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n.\r\n`;

async function sendOne(relay: RelayProcess, subject: string): Promise<string> {
  const w = await SmtpWire.open(relay.port);
  try {
    await w.cmd('EHLO ups.test');
    const r = await sendRaw(w, 'ups@device.test', ['admin@example.com'], message(subject));
    assert.equal(r.end?.code, 250, r.end?.raw);
    return queueIdOf(r.end!.raw);
  } finally {
    w.close();
  }
}

/** The relay answers a new SMTP session. */
async function answers(relay: RelayProcess): Promise<void> {
  const w = await SmtpWire.open(relay.port);
  try {
    assert.equal((await w.cmd('EHLO probe.test')).code, 250);
  } finally {
    w.close();
  }
}

async function inspect<T>(open: () => Store, fn: (s: Store) => Promise<T>): Promise<T> {
  const store = open();
  await store.init();
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

const sqliteConfig = (upstreamPort: number, lease: string) => `hostname: relay.test
dataDir: ./data
listeners: [{ name: main, host: 127.0.0.1, port: 0, tls: none }]
upstreams: { slow: { type: smtp, host: 127.0.0.1, port: ${upstreamPort}, tls: none, connectTimeout: 2s } }
# Nothing else touches the database while the lock is held: the queue is looked at when a message arrives or a delivery ends.
queue: { pollInterval: 60s, lease: ${lease}, minBackoff: 1s }
admin: { enabled: false }
`;

test('SQLite: a lease renewal that fails with SQLITE_BUSY (write lock held past busy_timeout) does not stop the relay; the attempt is recorded and the message delivered once', { timeout: 90_000 }, async () => {
  const dir = tempDir();
  const up = await startUpstream();
  // The delivery outlasts the lock: the renewal that waits for the lock fails, the next one succeeds.
  up.dataDelayMs = 15_000;
  let relay: RelayProcess | undefined;
  try {
    relay = await startRelayProcess(writeConfig(dir, sqliteConfig(up.port, '6s')));
    const id = await sendOne(relay, 'renewal fails');
    await relay.waitForLog((l) => l.event === 'state' && l.id === id && l.state === 'active');
    await until(() => (up.connections > 0 ? true : undefined), 10_000, () => 'the upstream was never reached');
    // Another connection takes the write lock and keeps it for 13 s (busy_timeout is 10 s).
    const other = new Database(join(dir, 'data', 'queue', 'queue.db'));
    other.exec('BEGIN IMMEDIATE');
    await sleep(13_000);
    other.exec('COMMIT');
    other.close();
    const failed = await relay.waitForLog((l) => l.event === 'lease-renew-failed' && l.id === id, 5_000);
    assert.match(String(failed.err), /locked|busy/i);
    await relay.waitForLog((l) => l.event === 'state' && l.id === id && l.state === 'delivered', 30_000);
    await answers(relay);
    assert.equal(relay.child.exitCode, null, 'the relay is still running');
    assert.equal((await relay.stop()).code, 0, 'and stops gracefully');
    assert.equal(up.received.length, 1, 'delivered once');
    const m = await inspect(() => new SqliteStore({ dir: join(dir, 'data', 'queue') }), async (s) => ({ msg: await s.get(id), trail: await s.trail(id) }));
    assert.deepEqual([m.msg?.state, m.msg?.attempts, m.msg?.leaseOwner], ['delivered', 1, null]);
    assert.equal(m.trail.filter((e) => e.kind === 'attempt').length, 1, 'the attempt is in the trail');
    assert.equal(relay.logs.filter((l) => l.event === 'unhandled-rejection').length, 0, 'nothing slipped through unhandled');
  } finally {
    if (relay && relay.child.exitCode === null) await relay.stop();
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SQLite: an attempt whose result cannot be written at once (write lock held) is recorded when the lock is released, not lost', { timeout: 90_000 }, async () => {
  const dir = tempDir();
  const up = await startUpstream();
  up.dataDelayMs = 2_000;
  let relay: RelayProcess | undefined;
  try {
    relay = await startRelayProcess(writeConfig(dir, sqliteConfig(up.port, '5m')));
    const id = await sendOne(relay, 'record waits');
    await until(() => (up.connections > 0 ? true : undefined), 10_000, () => 'the upstream was never reached');
    // The lock is taken before the upstream answers, and held 14 s: the first write of the result fails after 10 s.
    const other = new Database(join(dir, 'data', 'queue', 'queue.db'));
    other.exec('BEGIN IMMEDIATE');
    await sleep(14_000);
    other.exec('COMMIT');
    other.close();
    await relay.waitForLog((l) => l.event === 'record-retry' && l.id === id, 5_000);
    await relay.waitForLog((l) => l.event === 'state' && l.id === id && l.state === 'delivered', 30_000);
    await answers(relay);
    assert.equal((await relay.stop()).code, 0);
    assert.equal(up.received.length, 1, 'delivered once');
    const m = await inspect(() => new SqliteStore({ dir: join(dir, 'data', 'queue') }), (s) => s.get(id));
    assert.deepEqual([m?.state, m?.attempts], ['delivered', 1]);
  } finally {
    if (relay && relay.child.exitCode === null) await relay.stop();
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

const pgServer = usePostgres();

test('PostgreSQL: the connection running a lease renewal is terminated (pg_terminate_backend); the relay stays up, the attempt is recorded and the message delivered once', { timeout: 90_000 }, async () => {
  const server = pgServer.get();
  const database = await server.createDatabase('lease');
  const url = server.url(database);
  const dir = tempDir();
  const up = await startUpstream();
  up.dataDelayMs = 8_000;
  let relay: RelayProcess | undefined;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  // pg_stat_activity is read once per transaction: the one holding the lock would see a stale picture.
  const monitor = new pg.Client({ connectionString: url });
  await monitor.connect();
  try {
    relay = await startRelayProcess(writeConfig(dir, `hostname: relay.test
dataDir: ./data
store: { type: postgres, url: "${url}", node: lease-node }
listeners: [{ name: main, host: 127.0.0.1, port: 0, tls: none }]
upstreams: { slow: { type: smtp, host: 127.0.0.1, port: ${up.port}, tls: none, connectTimeout: 2s } }
queue: { pollInterval: 100ms, lease: 3s, minBackoff: 1s }
admin: { enabled: false }
`));
    const id = await sendOne(relay, 'renewal connection killed');
    await relay.waitForLog((l) => l.event === 'state' && l.id === id && l.state === 'active');
    // Hold the message's row: the next renewal (every second) waits for it on its connection...
    await admin.query('BEGIN');
    await admin.query('SELECT 1 FROM messages WHERE id = $1 FOR UPDATE', [id]);
    const waiting = await until(async () => {
      const r = await monitor.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity
        WHERE application_name LIKE 'authrelay%' AND wait_event_type = 'Lock' AND query LIKE 'UPDATE messages m SET lease_until%'`);
      return r.rows.length ? r.rows : undefined;
    }, 10_000, () => 'no renewal waited for the row');
    // ...and that connection is terminated while the renewal runs on it.
    for (const w of waiting) await monitor.query('SELECT pg_terminate_backend($1)', [w.pid]);
    await admin.query('COMMIT');
    const failed = await relay.waitForLog((l) => l.event === 'lease-renew-failed' && l.id === id, 5_000);
    assert.match(String(failed.err), /terminat/i);
    await relay.waitForLog((l) => l.event === 'state' && l.id === id && l.state === 'delivered', 30_000);
    await answers(relay);
    assert.equal(relay.child.exitCode, null, 'the relay is still running');
    assert.equal((await relay.stop()).code, 0);
    assert.equal(up.received.length, 1, 'delivered once');
    const m = await inspect(() => new PostgresStore({ url, poolSize: 1 }), async (s) => ({ msg: await s.get(id), trail: await s.trail(id) }));
    assert.deepEqual([m.msg?.state, m.msg?.attempts, m.msg?.leaseOwner], ['delivered', 1, null]);
    assert.equal(m.trail.filter((e) => e.kind === 'attempt').length, 1);
  } finally {
    await admin.end().catch(() => undefined);
    await monitor.end().catch(() => undefined);
    if (relay && relay.child.exitCode === null) await relay.stop();
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
