/**
 * Live configuration: the relay, started on a config file, reads it again and
 * applies it without a restart, one kind of change at a time:
 *  - devices: a device added logs in at once, one removed no longer can; a
 *    session that began before the reload finishes under its settings; the
 *    trail records the configuration version that accepted each message;
 *  - listeners: one added is bound, one changed gets its new settings for new
 *    sessions only (its port stays open, its old session keeps the old ones),
 *    one removed stops accepting; the unchanged listener keeps its port;
 *  - upstreams and routes: messages queued for an upstream are routed again
 *    when the routes change, and delivered through the new one; an upstream
 *    whose sign-in did not change keeps its token (no new token request);
 *  - a bad file (not YAML, a value the schema refuses, a port in use) is
 *    refused with the reason, and the running configuration stays.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { SmtpWire, sendRaw } from '../helpers/smtp-wire.js';
import { startUpstream } from '../helpers/upstream.js';
import { startTestRelay, queueIdOf, type TestRelay } from '../helpers/relay.js';
import { FAST_QUEUE, relayCertificate, smtpUpstream } from '../helpers/delivery.js';
import { hashPassword } from '../../src/identity/password.js';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/api.js';
import { contoso, graphUpstream } from '../helpers/m365.js';

const plain = (user: string, pass: string) => `AUTH PLAIN ${Buffer.from(`\0${user}\0${pass}`).toString('base64')}`;

/** Rewrites the relay's config file: fn gets the document as a plain object. */
function edit(relay: TestRelay, fn: (doc: Record<string, unknown>) => void): void {
  const file = join(relay.dataDir, 'authrelay.yaml');
  const doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  fn(doc);
  writeFileSync(file, stringify(doc));
}

async function session(port: number): Promise<SmtpWire> {
  const w = await SmtpWire.open(port);
  assert.equal((await w.cmd('EHLO device.test')).code, 250);
  return w;
}

describe('reload: devices', () => {
  let relay: TestRelay;
  before(async () => {
    relay = await startTestRelay({
      trustLoopback: false, tls: relayCertificate(), queue: FAST_QUEUE,
      listeners: [{ name: 'main', host: '127.0.0.1', port: 0, tls: 'none', allowInsecureAuth: true }],
      devices: [{ name: 'mfp', username: 'mfp', passwordHash: await hashPassword('old-device-pw') }],
    }, { file: true });
  });
  after(() => relay.close());

  test('a device added logs in at once, a removed one cannot, a session begun before keeps its settings; the trail names the version', { timeout: 60_000 }, async () => {
    const early = await session(relay.port());
    const hash = await hashPassword('new-device-pw');
    edit(relay, (doc) => {
      doc.devices = [{ name: 'copier', username: 'copier', passwordHash: hash }];
    });
    const r = await relay.reload('the test');
    assert.equal(r.ok, true, r.message);
    assert.match(r.message, /^configuration 2 \(sha256 [0-9a-f]{12}\) is in effect \(the test\): devices added: copier; devices removed: mfp$/);
    assert.deepEqual(r.changes?.devices, { added: ['copier'], changed: [], removed: ['mfp'] });
    assert.equal(relay.logs.filter((l) => l.event === 'reloaded').length, 1);

    // The session that began under version 1 still knows mfp; new sessions do not.
    assert.equal((await early.cmd(plain('mfp', 'old-device-pw'))).code, 235, 'the earlier session keeps its devices');
    const sent = await sendRaw(early, 'scanner@contoso.test', ['a@contoso.test'], 'Subject: early\r\n\r\nbody\r\n.\r\n');
    assert.equal(sent.end?.code, 250, sent.end?.raw);
    const earlyId = queueIdOf(sent.end!.raw);
    early.close();
    const late = await session(relay.port());
    assert.equal((await late.cmd(plain('mfp', 'old-device-pw'))).code, 535, 'a removed device cannot log in');
    late.close();
    const fresh = await session(relay.port());
    assert.equal((await fresh.cmd(plain('copier', 'new-device-pw'))).code, 235, 'an added device logs in at once');
    const second = await sendRaw(fresh, 'copier@contoso.test', ['a@contoso.test'], 'Subject: late\r\n\r\nbody\r\n.\r\n');
    assert.equal(second.end?.code, 250);
    const lateId = queueIdOf(second.end!.raw);
    fresh.close();

    const received = async (id: string) => (await relay.store.trail(id)).find((e) => e.kind === 'received')!;
    assert.match((await received(earlyId)).text, /under configuration 1 \(sha256 [0-9a-f]{12}\)$/);
    assert.match((await received(lateId)).text, /under configuration 2 \(sha256 [0-9a-f]{12}\)$/);
    assert.equal((await received(lateId)).data?.configVersion, r.version);
  });
});

describe('reload: listeners', () => {
  let relay: TestRelay;
  before(async () => {
    relay = await startTestRelay({
      tls: relayCertificate(), queue: FAST_QUEUE,
      listeners: [
        { name: 'main', host: '127.0.0.1', port: 0, tls: 'none' },
        { name: 'other', host: '127.0.0.1', port: 0, tls: 'none', maxMessageSize: '1MB' },
      ],
    }, { file: true });
  });
  after(() => relay.close());

  test('added, changed and removed listeners; the unchanged one and the changed one keep their ports; an old session keeps its settings', { timeout: 60_000 }, async () => {
    const main = relay.port('main');
    const other = relay.port('other');
    const before = await session(other);
    assert.match((await before.cmd('EHLO again.test')).raw, /SIZE 1048576/);
    edit(relay, (doc) => {
      const ls = doc.listeners as Record<string, unknown>[];
      ls[1]!.maxMessageSize = '2MB';
      ls.push({ name: 'third', host: '127.0.0.1', port: 0, tls: 'starttls' });
    });
    const r = await relay.reload('the test');
    assert.equal(r.ok, true, r.message);
    assert.deepEqual(r.changes?.listeners, { added: ['third'], changed: ['other'], removed: [] });
    assert.equal(relay.port('main'), main, 'the unchanged listener keeps its port');
    assert.equal(relay.port('other'), other, 'the changed listener keeps its port');
    const third = relay.port('third');
    const t = await session(third);
    t.close();
    const after = await session(other);
    assert.match((await after.cmd('EHLO new.test')).raw, /SIZE 2097152/, 'a new session gets the new settings');
    after.close();
    assert.match((await before.cmd('EHLO again.test')).raw, /SIZE 1048576/, 'the earlier session keeps the old ones');
    assert.equal((await sendRaw(before, 'a@contoso.test', ['b@contoso.test'], 'Subject: old\r\n\r\nx\r\n.\r\n')).end?.code, 250);
    before.close();

    edit(relay, (doc) => {
      doc.listeners = (doc.listeners as { name: string }[]).filter((l) => l.name !== 'third');
    });
    const removed = await relay.reload('the test');
    assert.deepEqual(removed.changes?.listeners, { added: [], changed: [], removed: ['third'] });
    await assert.rejects(SmtpWire.open(third), /ECONNREFUSED/, 'a removed listener stops accepting');
    (await session(main)).close();
  });

  test('a bad file is refused with the reason; the running configuration stays', { timeout: 60_000 }, async () => {
    const file = join(relay.dataDir, 'authrelay.yaml');
    const good = readFileSync(file, 'utf8');
    const version = relay.current().version.label;
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as { port: number }).port;
    try {
      for (const [bad, problem] of [
        [`${good}\nlisteners: [ {`, /YAML syntax error/],
        [good.replace('maxMessageSize: 2MB', 'maxMessageSize: lots'), /listeners\[1\]\.maxMessageSize: "lots" is not a size/],
        [stringify({ ...parse(good), listeners: [...parse(good).listeners, { name: 'busy', host: '127.0.0.1', port: taken, tls: 'none' }] }),
          new RegExp(`listener busy \\(127\\.0\\.0\\.1:${taken}\\): port ${taken} is already in use by another program\\. Find it with \`ss -ltnp 'sport = :${taken}'\``)],
      ] as const) {
        writeFileSync(file, bad);
        const r = await relay.reload('the test');
        assert.equal(r.ok, false);
        assert.match(r.problems!.join(' '), problem);
        assert.match(r.message, new RegExp(`the running configuration ${version.replace(/[()]/g, '\\$&')} stays`));
        assert.equal(relay.current().version.label, version);
        assert.ok(relay.logs.some((l) => l.event === 'reload-refused' && (l.problems as string[]).join(' ').match(problem)));
      }
      assert.equal(relay.listeners.length, 2, 'no listener was added by a refused reload');
      (await session(relay.port('main'))).close();
    } finally {
      writeFileSync(file, good);
      blocker.close();
    }
  });
});

describe('reload: upstreams and routes', () => {
  test('messages queued for a down upstream are routed again when the routes change, and delivered through the new upstream', { timeout: 60_000 }, async () => {
    const down = await startUpstream();
    const up = await startUpstream();
    await down.kill();
    const relay = await startTestRelay({
      tls: relayCertificate(), queue: { ...FAST_QUEUE, destinationMinBackoff: '30s', destinationMaxBackoff: '1m' },
      upstreams: { old: smtpUpstream(down.port) }, routes: [{ use: 'old' }],
    }, { file: true });
    try {
      const w = await session(relay.port());
      const sent = await sendRaw(w, 'scanner@contoso.test', ['a@contoso.test'], 'Subject: waiting\r\n\r\nbody\r\n.\r\n');
      w.close();
      const id = queueIdOf(sent.end!.raw);
      await relay.waitFor(id, ['deferred']);
      edit(relay, (doc) => {
        doc.upstreams = { old: smtpUpstream(down.port), relay: smtpUpstream(up.port) };
        doc.routes = [{ use: 'relay' }];
      });
      const r = await relay.reload('the test');
      assert.equal(r.ok, true, r.message);
      assert.deepEqual(r.changes?.upstreams, { added: ['relay'], changed: [], removed: [] });
      assert.equal(r.changes?.rerouted, 1);
      await up.waitForCount(1);
      const m = await relay.waitFor(id, ['delivered']);
      assert.equal(m.route, 'relay');
      const trail = await relay.store.trail(id);
      assert.ok(trail.some((e) => e.kind === 'reroute' && /routes changed in configuration 2/.test(e.text)), JSON.stringify(trail));
    } finally {
      await relay.close();
      await up.close();
    }
  });

  describe('an upstream whose sign-in did not change keeps its token', () => {
    let emu: Emulator;
    before(async () => {
      emu = await startEmulator();
    });
    after(() => emu.close());

    test('a graph upstream with a new mailbox setting is a new transport, and asks Entra ID for no new token', { timeout: 60_000 }, async () => {
      const c = contoso(emu);
      const relay = await startTestRelay({ tls: relayCertificate(), queue: FAST_QUEUE, upstreams: { m365: graphUpstream(emu, c) } }, { file: true });
      try {
        const send = async (subject: string, from: string) => {
          const w = await session(relay.port());
          const s = await sendRaw(w, from, [c.bob], `From: ${from}\r\nTo: ${c.bob}\r\nSubject: ${subject}\r\n\r\nbody\r\n.\r\n`);
          w.close();
          return relay.waitFor(queueIdOf(s.end!.raw), ['delivered']);
        };
        await send('first', c.scanner);
        const tokensBefore = emu.requests().filter((x) => x.service === 'token').length;
        assert.equal(tokensBefore, 1);
        edit(relay, (doc) => {
          (doc.upstreams as Record<string, Record<string, unknown>>).m365!.mailbox = c.carol;
        });
        const r = await relay.reload('the test');
        assert.deepEqual(r.changes?.upstreams, { added: [], changed: ['m365'], removed: [] });
        await send('second', c.carol);
        assert.equal(emu.requests().filter((x) => x.service === 'token').length, tokensBefore, 'the cached token was used');
        assert.ok(emu.requests().some((x) => x.service === 'graph' && x.mailbox === c.carol), 'the new setting is used');
      } finally {
        await relay.close();
      }
    });
  });
});

