/**
 * Session timing and limits: the greeting (no fixed pause by default, so a
 * client that writes EHLO at once is served; early-talker 421 where
 * greetingDelay is set), device rate limits (451 4.7.1), the socket timeout
 * (default at least 300 s, and the value really set on the server's sockets),
 * and the recipient limit.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { validateConfig } from '../../src/config/load.js';
import { startTestRelay, queueIdOf, type TestRelay } from '../helpers/relay.js';
import { sharedCertificate } from '../helpers/cert.js';
import { swaks } from '../helpers/tools.js';
import { SmtpWire, sendRaw, leadingEnhancedCodes } from '../helpers/smtp-wire.js';

const MSG = 'Subject: limits\r\n\r\nx\r\n.\r\n';

/** The relay-side socket of a client connection (in-process relay): what smtp-server really configured. */
function serverSideSocket(relayPort: number, clientPort: number): Socket | undefined {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.find((h): h is Socket => {
    const s = h as Partial<Socket>;
    return typeof s.localPort === 'number' && s.localPort === relayPort && s.remotePort === clientPort;
  });
}

describe('greeting', () => {
  let relay: TestRelay;
  before(async () => {
    relay = await startTestRelay({
      tls: await sharedCertificate(),
      listeners: [
        { name: 'fast', host: '127.0.0.1', port: 0, tls: 'none' },
        { name: 'guarded', host: '127.0.0.1', port: 0, tls: 'none', greetingDelay: '300ms' },
      ],
    });
  });
  after(() => relay.close());

  test('default greetingDelay 0: a client that writes EHLO the moment it connects is served normally', async () => {
    for (let i = 0; i < 5; i++) {
      const w = await SmtpWire.open(relay.port('fast'), { noGreeting: true });
      try {
        w.write('EHLO eager\r\n');
        const greet = await w.read();
        assert.equal(greet.code, 220, greet.raw);
        const ehlo = await w.read();
        assert.equal(ehlo.code, 250, ehlo.raw);
        assert.ok(ehlo.lines.includes('PIPELINING'));
        const r = await sendRaw(w, 'eager@printer.local', ['user@example.com'], MSG);
        assert.equal(r.end?.code, 250, r.end?.raw);
      } finally {
        w.close();
      }
    }
  });

  test('greetingDelay 300ms: an early talker gets 421 "talk too soon" and is disconnected; a patient client is greeted', async () => {
    const early = await SmtpWire.open(relay.port('guarded'), { noGreeting: true });
    early.write('EHLO spambot\r\n');
    const r = await early.read();
    assert.equal(r.code, 421, r.raw);
    assert.match(r.raw, /talk too soon/i);
    await early.waitClosed();

    const t0 = Date.now();
    const patient = await SmtpWire.open(relay.port('guarded'));
    try {
      assert.equal(patient.greeting?.code, 220);
      assert.ok(Date.now() - t0 >= 250, `greeted after ${Date.now() - t0} ms`);
      assert.equal((await patient.cmd('EHLO patient')).code, 250);
    } finally {
      patient.close();
    }
  });
});

describe('device rate limit, socket timeout, recipient limit', () => {
  let relay: TestRelay;
  before(async () => {
    relay = await startTestRelay({
      tls: await sharedCertificate(),
      trustLoopback: false,
      listeners: [
        { name: 'default', host: '127.0.0.1', port: 0, tls: 'none', maxRecipients: 3 },
        { name: 'long', host: '127.0.0.1', port: 0, tls: 'none', socketTimeout: '10m' },
        { name: 'short', host: '127.0.0.1', port: 0, tls: 'none', socketTimeout: '400ms' },
      ],
      devices: [
        { name: 'limited', networks: ['127.0.0.2/32'], rateLimit: { messages: 3, per: '1h' } },
        { name: 'free', networks: ['127.0.0.3/32'] },
      ],
    });
  });
  after(() => relay.close());

  test('after N messages the device gets 451 4.7.1 at MAIL FROM; another device is unaffected', async () => {
    const w = await SmtpWire.open(relay.port('default'), { localAddress: '127.0.0.2' });
    try {
      await w.cmd('EHLO limited');
      for (let i = 0; i < 3; i++) {
        const r = await sendRaw(w, 'dev@printer.local', ['user@example.com'], MSG);
        assert.equal(r.end?.code, 250, `message ${i + 1}: ${r.mail.raw} ${r.end?.raw}`);
        queueIdOf(r.end!.raw);
      }
      const fourth = await w.cmd('MAIL FROM:<dev@printer.local>');
      assert.equal(fourth.code, 451, fourth.raw);
      assert.deepEqual(leadingEnhancedCodes(fourth.lines[0]!), ['4.7.1']);
      assert.match(fourth.raw, /^451 4\.7\.1 Rate limit for this device reached; try again in \d+ s$/);
    } finally {
      w.close();
    }
    const again = await swaks(relay.port('default'), ['--local-interface', '127.0.0.2', '--from', 'dev@printer.local', '--to', 'user@example.com']);
    assert.match(again.stdout, /<\*\* +451 4\.7\.1 Rate limit/);
    const other = await swaks(relay.port('default'), ['--local-interface', '127.0.0.3', '--from', 'dev@printer.local', '--to', 'user@example.com']);
    assert.equal(other.code, 0, other.stdout);
    assert.ok(relay.logs.some((l) => l.event === 'refused' && l.code === 451 && l.device === 'limited'));
  });

  test('socketTimeout defaults to at least 300 s in the schema, and the server sockets really get it', async () => {
    const dflt = validateConfig({ listeners: [{ port: 2525 }] }, { env: {} }, '/tmp');
    assert.ok(dflt.listeners[0]!.socketTimeout >= 300_000, `default socketTimeout ${dflt.listeners[0]!.socketTimeout}`);
    assert.equal(relay.config.listeners[0]!.socketTimeout, dflt.listeners[0]!.socketTimeout);
    for (const [name, expected] of [['default', dflt.listeners[0]!.socketTimeout], ['long', 600_000]] as const) {
      const w = await SmtpWire.open(relay.port(name), { localAddress: '127.0.0.3' });
      try {
        await w.cmd('EHLO t');
        const s = serverSideSocket(relay.port(name), w.socket.localPort!);
        assert.ok(s, 'server-side socket found');
        assert.equal(s.timeout, expected, `${name}: server socket timeout`);
      } finally {
        w.close();
      }
    }
  });

  test('an idle client is disconnected with 421 after socketTimeout', async () => {
    const w = await SmtpWire.open(relay.port('short'), { localAddress: '127.0.0.3' });
    await w.cmd('EHLO idle');
    const r = await w.read(5_000);
    assert.equal(r.code, 421, r.raw);
    assert.equal(leadingEnhancedCodes(r.lines[0]!).length, 1, r.raw);
    await w.waitClosed();
  });

  test('more recipients than maxRecipients get 452 4.5.3; the message goes to the accepted ones', async () => {
    const w = await SmtpWire.open(relay.port('default'), { localAddress: '127.0.0.3' });
    try {
      await w.cmd('EHLO many');
      const r = await sendRaw(w, 'dev@printer.local', ['r1@example.com', 'r2@example.com', 'r3@example.com', 'r4@example.com'], MSG);
      assert.deepEqual(r.rcpt.map((x) => x.code), [250, 250, 250, 452]);
      assert.deepEqual(leadingEnhancedCodes(r.rcpt[3]!.lines[0]!), ['4.5.3']);
      const msg = await relay.waitFor(queueIdOf(r.end!.raw), ['held']);
      assert.deepEqual(msg.recipients, ['r1@example.com', 'r2@example.com', 'r3@example.com']);
    } finally {
      w.close();
    }
  });
});
