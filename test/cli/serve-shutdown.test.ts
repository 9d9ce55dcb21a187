/**
 * The graceful stop of the real binary (`authrelay serve`) on SIGTERM, with
 * real SMTP sessions and a real, slow upstream:
 *  - a session in the middle of DATA finishes its message and gets 250, then
 *    421 4.3.2; an idle session gets 421 4.3.2 at once; new connections are
 *    refused; /readyz answers 503 while the stop runs;
 *  - a delivery in flight to a slow upstream completes before the exit and is
 *    recorded as delivered once: the next start does not send it again, and
 *    delivers the message accepted during the stop;
 *  - at shutdownTimeout a session still in DATA is cut off with 421 (its
 *    message is not accepted) and a delivery still in flight is interrupted and
 *    recorded for a retry, its lease released; the process still exits 0;
 *  - a second signal stops at once with exit 1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SmtpWire, sendRaw } from '../helpers/smtp-wire.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startRelayProcess, tempDir, writeConfig, sleep, until, type RelayProcess } from '../helpers/relay-process.js';
import { queueIdOf } from '../helpers/relay.js';
import { SqliteStore } from '../../src/spool/sqlite/sqlite-store.js';

const config = (upstreamPort: number, shutdownTimeout: string) => `hostname: relay.test
dataDir: ./data
shutdownTimeout: ${shutdownTimeout}
listeners: [{ name: main, host: 127.0.0.1, port: 0, tls: none }]
upstreams: { slow: { type: smtp, host: 127.0.0.1, port: ${upstreamPort}, tls: none, connectTimeout: 2s } }
queue: { pollInterval: 100ms }
admin: { listen: "127.0.0.1:0" }
`;

const message = (subject: string) => `From: ups@device.test\r\nTo: admin@example.com\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n.\r\n`;

/** Sends one whole message in its own session; returns the queue id. */
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

/** A session that has started DATA and sent part of the message. */
async function midData(relay: RelayProcess, subject: string): Promise<SmtpWire> {
  const w = await SmtpWire.open(relay.port);
  await w.cmd('EHLO ups.test');
  assert.equal((await w.cmd('MAIL FROM:<ups@device.test>')).code, 250);
  assert.equal((await w.cmd('RCPT TO:<admin@example.com>')).code, 250);
  assert.equal((await w.cmd('DATA')).code, 354);
  w.write(`From: ups@device.test\r\nTo: admin@example.com\r\nSubject: ${subject}\r\n\r\nfirst half\r\n`);
  return w;
}

async function stored(dir: string, id: string) {
  const store = new SqliteStore({ dir: join(dir, 'data', 'queue') });
  await store.init();
  try {
    return { message: await store.get(id), counts: await store.counts() };
  } finally {
    await store.close();
  }
}

const subjects = (up: TestUpstream) => up.received.map((r) => /Subject: (.*)\r\n/.exec(r.data.toString('latin1'))?.[1]);

test('SIGTERM: the message in DATA is finished and accepted, idle and new sessions are refused, the delivery in flight completes once', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const up = await startUpstream();
  up.dataDelayMs = 3_000;
  try {
    const f = writeConfig(dir, config(up.port, '20s'));
    const relay = await startRelayProcess(f);
    const adminPort = Number((await relay.waitForLog((l) => l.event === 'admin-listening')).port);
    const inFlight = await sendOne(relay, 'in flight');
    await relay.waitForLog((l) => l.event === 'state' && l.id === inFlight && l.state === 'active');
    await until(() => (up.connections > 0 ? true : undefined), 10_000, () => 'the upstream was never reached');

    const busy = await midData(relay, 'finished during the stop');
    const idle = await SmtpWire.open(relay.port);
    assert.equal((await idle.cmd('EHLO idle.test')).code, 250);

    const signalled = Date.now();
    relay.child.kill('SIGTERM');
    const shutdown = await relay.waitForLog((l) => l.event === 'shutdown');
    assert.equal(shutdown.signal, 'SIGTERM');
    assert.match(String(shutdown.msg), /No new SMTP connections; open sessions may finish the message in progress and deliveries in flight may finish, for up to 20s/);

    const bye = await idle.read();
    assert.equal(bye.code, 421);
    assert.match(bye.raw, /^421 4\.3\.2 Service shutting down/);
    await idle.waitClosed();

    await assert.rejects(SmtpWire.open(relay.port), /ECONNREFUSED/, 'new connections are refused');
    const ready = await fetch(`http://127.0.0.1:${adminPort}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /shutting down/);

    busy.write('second half\r\n.\r\n');
    const accepted = await busy.read();
    assert.equal(accepted.code, 250, accepted.raw);
    const duringStop = queueIdOf(accepted.raw);
    const closing = await busy.read();
    assert.match(closing.raw, /^421 4\.3\.2 Service shutting down/);
    await busy.waitClosed();

    const st = await relay.exited;
    assert.deepEqual(st, { code: 0, signal: null }, relay.stderr());
    assert.ok(Date.now() - signalled < 15_000);
    const stopped = relay.logs.find((l) => l.event === 'stopped');
    assert.ok(stopped, relay.stdout());
    assert.deepEqual(
      [stopped.sessions, stopped.sessionsCutOff, stopped.deliveries, stopped.deliveriesInterrupted, stopped.deliveriesUnfinished],
      [2, 0, 1, 0, 0], JSON.stringify(stopped),
    );
    assert.match(String(stopped.msg), /all finished/);

    assert.deepEqual(subjects(up), ['in flight']);
    const first = await stored(dir, inFlight);
    assert.deepEqual([first.message?.state, first.message?.attempts, first.message?.leaseOwner], ['delivered', 1, null]);
    const second = await stored(dir, duringStop);
    assert.equal(second.message?.state, 'incoming', 'accepted during the stop, left for the next start');

    // The next start delivers the message accepted during the stop, and only that one.
    up.dataDelayMs = 0;
    const again = await startRelayProcess(f);
    try {
      await up.waitForCount(2);
      await sleep(1_000);
      assert.deepEqual(subjects(up), ['in flight', 'finished during the stop']);
      assert.ok(!again.logs.some((l) => l.event === 'recovered'), 'nothing was left active');
    } finally {
      assert.equal((await again.stop()).code, 0);
    }
  } finally {
    await up.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGTERM past shutdownTimeout: the session still in DATA gets 421, the delivery is interrupted and recorded for a retry, exit 0', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const up = await startUpstream();
  up.dataDelayMs = 60_000;
  try {
    const f = writeConfig(dir, config(up.port, '2s'));
    const relay = await startRelayProcess(f);
    const inFlight = await sendOne(relay, 'slow');
    await relay.waitForLog((l) => l.event === 'state' && l.id === inFlight && l.state === 'active');
    await until(() => (up.connections > 0 ? true : undefined), 10_000, () => 'the upstream was never reached');
    const stuck = await midData(relay, 'never finished');

    const signalled = Date.now();
    relay.child.kill('SIGTERM');
    const cut = await stuck.read(10_000);
    assert.match(cut.raw, /^421 4\.3\.2 Service shutting down/);
    const waited = Date.now() - signalled;
    assert.ok(waited >= 1_800 && waited < 6_000, `cut off after ${waited} ms`);
    await stuck.waitClosed();

    const st = await relay.exited;
    assert.deepEqual(st, { code: 0, signal: null }, relay.stderr());
    assert.ok(Date.now() - signalled < 12_000, `exit after ${Date.now() - signalled} ms`);
    const stopped = relay.logs.find((l) => l.event === 'stopped');
    assert.deepEqual([stopped?.sessions, stopped?.sessionsCutOff, stopped?.deliveries, stopped?.deliveriesInterrupted, stopped?.deliveriesUnfinished], [1, 1, 1, 1, 0], JSON.stringify(stopped));

    const s = await stored(dir, inFlight);
    assert.equal(s.message?.state, 'deferred', 'recorded for a retry, not left active');
    assert.equal(s.message?.leaseOwner, null);
    assert.equal(s.counts.incoming + s.counts.active + s.counts.deferred + s.counts.held + s.counts.delivered + s.counts.failed, 1, 'the message cut off in DATA was not accepted');
  } finally {
    await up.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a second SIGTERM during the stop ends the process at once with exit 1', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const up = await startUpstream();
  try {
    const f = writeConfig(dir, config(up.port, '30s'));
    const relay = await startRelayProcess(f);
    const stuck = await midData(relay, 'held open');
    relay.child.kill('SIGTERM');
    await relay.waitForLog((l) => l.event === 'shutdown');
    await sleep(200);
    const signalled = Date.now();
    relay.child.kill('SIGTERM');
    assert.deepEqual(await relay.exited, { code: 1, signal: null });
    assert.ok(Date.now() - signalled < 3_000);
    assert.ok(relay.logs.some((l) => l.event === 'shutdown-forced'), relay.stdout());
    stuck.close();
  } finally {
    await up.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
