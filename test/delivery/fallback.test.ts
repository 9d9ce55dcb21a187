/**
 * Fallback upstreams (`use: [primary, fallback]`), with real upstreams:
 *  - Graph (the Microsoft 365 emulator) with the app's Mail.Send withdrawn in
 *    the middle of a stream: the next messages go through an `smtp` fallback
 *    (Postfix smtp-sink),
 *    none is lost or sent twice, the trail says why; the permission restored,
 *    a probe message gets through and new messages go back to Graph; the
 *    "running on fallback" and "back on primary" alerts are raised and cleared;
 *  - an SMTP primary that refuses the relay's sign-in (535) moves the message;
 *    one that refuses a recipient (550 5.1.1) does not: that is the sender's
 *    problem, and it must not be sent a second way;
 *  - a primary that is down past queue.fallbackAfter: its queued messages move;
 *  - Direct Send as the fallback takes its accepted domains only;
 *  - two nodes on one PostgreSQL store: both move their messages to the
 *    fallback, each message is sent once, and both come back to Graph.
 */
import { after, before, describe, test } from 'node:test';
import { trailLine } from '../../src/core/trail-texts.js';
import assert from 'node:assert/strict';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startTestRelay, queueIdOf, type TestRelay } from '../helpers/relay.js';
import { FAST_QUEUE, relayCertificate, smtpUpstream, waitUntil } from '../helpers/delivery.js';
import { SmtpWire, sendRaw } from '../helpers/smtp-wire.js';
import { sinkDumps, startSmtpSink, type SmtpSink } from '../helpers/tools.js';
import { usePostgres } from '../helpers/postgres.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/api.js';
import { contoso, graphUpstream, type Contoso } from '../helpers/m365.js';

async function send(relay: TestRelay, from: string, to: string[], subject: string): Promise<string> {
  const w = await SmtpWire.open(relay.port());
  try {
    await w.cmd('EHLO device.test');
    const r = await sendRaw(w, from, to, `From: ${from}\r\nTo: ${to.join(', ')}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '-')}@device.test>\r\n\r\nbody of ${subject}\r\n.\r\n`);
    assert.equal(r.end?.code, 250, r.end?.raw);
    return queueIdOf(r.end!.raw);
  } finally {
    w.close();
  }
}

const subjects = (up: TestUpstream) => up.received.map((r) => /Subject: (.*)\r\n/.exec(r.data.toString('latin1'))?.[1]);

/** How long the emulator's tokens live: a permission change shows once the tokens in use have run out; long enough
 * that a token is not already expired when a request carrying it arrives on a busy machine. */
const TOKEN_SECONDS = 5;

describe('fallback: Graph permission withdrawn mid-stream, then restored', () => {
  let emu: Emulator;
  let c: Contoso;
  let sink: SmtpSink;
  let dumps: string;
  let relay: TestRelay;
  before(async () => {
    emu = await startEmulator();
    // Short tokens: a permission withdrawn shows in the next token, as in Entra ID once the cached token has expired.
    emu.tokenLifetimeSeconds = TOKEN_SECONDS;
    c = contoso(emu);
    dumps = mkdtempSync(join(tmpdir(), 'authrelay-sink-'));
    sink = await startSmtpSink(['-d', `${dumps}/m.`]);
    relay = await startTestRelay({
      tls: relayCertificate(),
      queue: { ...FAST_QUEUE, destinationMinBackoff: '1s', destinationMaxBackoff: '2s' },
      upstreams: { m365: graphUpstream(emu, c), relay: smtpUpstream(sink.port) },
      routes: [{ use: ['m365', 'relay'] }],
      alerts: { checkInterval: '1s' },
    });
  });
  after(async () => {
    await relay?.close();
    await sink?.stop();
    await emu?.close();
    rmSync(dumps, { recursive: true, force: true });
  });

  test('the next messages go through the fallback, none lost or sent twice, the trail says why; back on Graph once it works', { timeout: 90_000 }, async () => {
    const sentByGraph = () => emu.requests().filter((r) => r.service === 'graph' && r.path.endsWith('/sendMail') && r.status === 202).length;
    const first = [];
    for (let i = 0; i < 3; i++) first.push(await send(relay, c.scanner, [c.alice], `before ${i}`));
    for (const id of first) assert.equal((await relay.waitFor(id, ['delivered'])).route, 'm365');
    assert.equal(sentByGraph(), 3);

    emu.app(c.app.clientId).graphRoles = ['Mail.ReadWrite'];
    await new Promise((r) => setTimeout(r, TOKEN_SECONDS * 1000 + 500)); // the cached token (with Mail.Send) runs out
    const during = [];
    for (let i = 0; i < 5; i++) during.push(await send(relay, c.scanner, [c.alice], `during ${i}`));
    for (const id of during) assert.equal((await relay.waitFor(id, ['delivered'], 30_000)).route, 'relay', id);
    assert.equal(sentByGraph(), 3, 'nothing more went through Graph');
    assert.deepEqual(sinkDumps(dumps).map((d) => d.subject).sort(), during.map((_, i) => `during ${i}`).sort(), 'each through the fallback, once');
    const moved = (await relay.store.trail(during[0]!)).map((e) => e.text).join('\n');
    assert.match(moved, /m365 cannot take mail now, so the message goes to the next upstream of its route/);
    assert.match(moved, /routed to relay \(.*fallback: m365 cannot take mail now \(403 ErrorAccessDenied/);
    assert.ok(relay.logs.some((l) => l.event === 'fallback-started' && l.upstream === 'm365'));
    await waitUntil('the running-on-fallback alert', () => relay.logs.some((l) => l.event === 'alert' && l.key === 'fallback:m365' && l.status === 'firing'));
    const status = relay.scheduler.destinationStatus().find((d) => d.route === 'm365');
    assert.match(status?.fallback?.reason ?? '', /ErrorAccessDenied/);

    // Restored: a probe message goes to Graph, gets through, and new messages follow it.
    emu.app(c.app.clientId).graphRoles = ['Mail.Send', 'Mail.ReadWrite'];
    await new Promise((r) => setTimeout(r, TOKEN_SECONDS * 1000 + 500));
    const afterIds = [];
    for (let i = 0; i < 4; i++) {
      afterIds.push(await send(relay, c.scanner, [c.alice], `after ${i}`));
      await relay.waitFor(afterIds.at(-1)!, ['delivered'], 30_000);
    }
    await waitUntil('back on primary', () => relay.logs.some((l) => l.event === 'fallback-ended' && l.upstream === 'm365'));
    assert.equal((await relay.store.get(afterIds.at(-1)!))?.route, 'm365', 'new messages go back to Graph');
    await waitUntil('the back-on-primary alert', () => relay.logs.some((l) => l.event === 'alert' && l.key === 'fallback:m365' && l.status === 'resolved'));
    const total = sentByGraph() + sinkDumps(dumps).length;
    assert.equal(total, first.length + during.length + afterIds.length, 'every message delivered exactly once, one way or the other');
  });
});

describe('fallback: which refusals move a message', () => {
  let primary: TestUpstream;
  let fallback: TestUpstream;
  let relay: TestRelay;
  before(async () => {
    primary = await startUpstream({ auth: { user: 'relay', pass: 'right' } });
    fallback = await startUpstream();
    relay = await startTestRelay({
      tls: relayCertificate(), queue: { ...FAST_QUEUE, destinationMinBackoff: '30s', destinationMaxBackoff: '1m', fallbackAfter: '2s' },
      upstreams: {
        first: smtpUpstream(primary.port, { auth: { user: 'relay', pass: 'right' } }),
        second: smtpUpstream(fallback.port),
      },
      routes: [{ use: ['first', 'second'] }],
    });
  });
  after(async () => {
    await relay?.close();
    await primary?.close();
    await fallback?.close();
  });

  test('a recipient refused with 550 5.1.1 by the primary fails there and is not sent through the fallback', { timeout: 30_000 }, async () => {
    primary.fault = (_n, stage, arg) => (stage === 'rcpt' && arg.includes('nobody') ? { code: 550, message: '5.1.1 <nobody@example.com>: Recipient address rejected: User unknown' } : undefined);
    try {
      const id = await send(relay, 'scanner@contoso.test', ['nobody@example.com'], 'bad recipient');
      const m = await relay.waitFor(id, ['failed']);
      assert.equal(m.route, 'first');
      assert.equal(fallback.received.length, 0, 'never sent a second way');
      assert.equal(relay.scheduler.destinationStatus().find((d) => d.route === 'first')?.fallback, undefined, 'the primary is not out');
    } finally {
      primary.fault = undefined;
    }
  });

  test('a primary down past fallbackAfter: its queued messages go to the fallback', { timeout: 40_000 }, async () => {
    await primary.kill();
    const ids = [await send(relay, 'scanner@contoso.test', ['a@example.com'], 'down 1'), await send(relay, 'scanner@contoso.test', ['b@example.com'], 'down 2')];
    for (const id of ids) assert.equal((await relay.waitFor(id, ['delivered'], 30_000)).route, 'second');
    assert.ok(relay.logs.some((l) => l.event === 'fallback-started' && l.upstream === 'first' && /down since/.test(String(l.reason))));
    assert.deepEqual(subjects(fallback).filter((s) => s?.startsWith('down')).sort(), ['down 1', 'down 2']);
    // Why it is out, in Japanese too (the upstreams page of the Japanese console), and the trail of a message sent back to routing.
    const out = relay.scheduler.destinationStatus().find((d) => d.route === 'first')?.fallback;
    assert.match(out?.reasonJa ?? '', /^\S+ から停止中: /, JSON.stringify(out));
    const rerouted = (await relay.store.trail(ids[0]!)).find((e) => e.kind === 'reroute');
    if (rerouted) assert.match(trailLine(rerouted).ja, /^ルーティングし直しました: first は現在メールを受け付けられません \(\S+ から停止中: /);
  });
});

describe('fallback: a sign-in refused moves the message; Direct Send as the fallback takes its own domains only', () => {
  let primary: TestUpstream;
  let emu: Emulator;
  let c: Contoso;
  let relay: TestRelay;
  before(async () => {
    emu = await startEmulator();
    c = contoso(emu);
    primary = await startUpstream({ auth: { user: 'relay', pass: 'right' } });
    relay = await startTestRelay({
      tls: relayCertificate(), queue: { ...FAST_QUEUE, destinationMinBackoff: '30s', destinationMaxBackoff: '1m' },
      upstreams: {
        first: smtpUpstream(primary.port, { auth: { user: 'relay', pass: 'wrong' } }),
        direct: { type: 'direct-send', domain: c.tenant.domains[1]!, mx: `127.0.0.1:${emu.directSendPort}`, ca: emu.caFile, connectTimeout: '5s' },
      },
      routes: [{ use: ['first', 'direct'] }],
    });
  });
  after(async () => {
    await relay?.close();
    await primary?.close();
    await emu?.close();
  });

  test('535 from the primary: the internal recipient goes by Direct Send, the external one waits for the primary', { timeout: 40_000 }, async () => {
    const id = await send(relay, 'scanner@contoso.test', [c.alice, 'partner@example.com'], 'mixed');
    await waitUntil('the internal recipient delivered by Direct Send', async () => {
      const all = await relay.store.list({ limit: 20 });
      return all.some((m) => m.route === 'direct' && m.state === 'delivered' && m.recipients.includes(c.alice));
    }, 30_000);
    const parts = (await relay.store.list({ limit: 20 })).filter((m) => m.id === id || m.parentId === id);
    const external = parts.find((m) => m.recipients.includes('partner@example.com'));
    assert.equal(external?.route, 'first', 'Direct Send cannot take it: it waits for the primary');
    assert.notEqual(external?.state, 'delivered');
    assert.equal(primary.received.length, 0);
  });
});

describe('fallback: two nodes on one PostgreSQL store', () => {
  const pg = usePostgres();
  let emu: Emulator;
  let c: Contoso;
  let sink: SmtpSink;
  let dumps: string;
  const relays: TestRelay[] = [];
  before(async () => {
    emu = await startEmulator();
    emu.tokenLifetimeSeconds = TOKEN_SECONDS;
    c = contoso(emu);
    dumps = mkdtempSync(join(tmpdir(), 'authrelay-sink-'));
    sink = await startSmtpSink(['-d', `${dumps}/m.`]);
  });
  after(async () => {
    for (const r of relays) await r.close();
    await sink?.stop();
    await emu?.close();
    rmSync(dumps, { recursive: true, force: true });
  });

  test('both nodes move their messages to the fallback and back; each message is sent once', { timeout: 120_000 }, async () => {
    const server = pg.get();
    const db = await server.createDatabase('fallback_nodes');
    for (const node of ['relay-a', 'relay-b']) {
      relays.push(await startTestRelay({
        tls: relayCertificate(),
        store: { type: 'postgres', url: server.url(db), node, poolSize: 4 },
        queue: { ...FAST_QUEUE, destinationMinBackoff: '1s', destinationMaxBackoff: '2s' },
        upstreams: { m365: graphUpstream(emu, c), relay: smtpUpstream(sink.port) },
        routes: [{ use: ['m365', 'relay'] }],
      }));
    }
    const [a, b] = relays as [TestRelay, TestRelay];
    const sentByGraph = () => emu.requests().filter((r) => r.service === 'graph' && r.path.endsWith('/sendMail') && r.status === 202).length;

    emu.app(c.app.clientId).graphRoles = ['Mail.ReadWrite'];
    await new Promise((r) => setTimeout(r, TOKEN_SECONDS * 1000 + 500));
    const during: string[] = [];
    for (let i = 0; i < 10; i++) during.push(await send(i % 2 ? b : a, c.scanner, [c.alice], `pg during ${i}`));
    for (const id of during) assert.equal((await a.waitFor(id, ['delivered'], 60_000)).route, 'relay', id);
    assert.equal(sentByGraph(), 0);
    assert.deepEqual(sinkDumps(dumps).map((d) => d.subject).sort(), during.map((_, i) => `pg during ${i}`).sort(), 'each sent once, by one node or the other');
    // Each node learns from its own attempts: at least one has; whichever has says why.
    const out = relays.map((r) => r.scheduler.destinationStatus().find((d) => d.route === 'm365')?.fallback).filter((f) => f !== undefined);
    assert.ok(out.length >= 1, 'a node has m365 out');
    for (const f of out) assert.match(f.reason, /ErrorAccessDenied/);

    emu.app(c.app.clientId).graphRoles = ['Mail.Send', 'Mail.ReadWrite'];
    await new Promise((r) => setTimeout(r, TOKEN_SECONDS * 1000 + 500));
    const afterIds: string[] = [];
    for (let i = 0; i < 8; i++) {
      afterIds.push(await send(i % 2 ? b : a, c.scanner, [c.alice], `pg after ${i}`));
      await a.waitFor(afterIds.at(-1)!, ['delivered'], 60_000);
    }
    for (const r of relays) {
      await waitUntil('the node is back on m365', () => r.scheduler.destinationStatus().find((d) => d.route === 'm365')?.fallback === undefined);
      const started = r.logs.filter((l) => l.event === 'fallback-started').length;
      assert.equal(r.logs.filter((l) => l.event === 'fallback-ended').length, started, 'a node that went on the fallback came back');
    }
    const last = [await send(a, c.scanner, [c.alice], 'pg last a'), await send(b, c.scanner, [c.alice], 'pg last b')];
    for (const id of last) assert.equal((await a.waitFor(id, ['delivered'], 30_000)).route, 'm365', 'new messages go to Graph from both nodes');
    assert.equal(sentByGraph() + sinkDumps(dumps).length, during.length + afterIds.length + last.length, 'every message delivered exactly once');
  });
});
