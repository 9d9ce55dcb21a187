/**
 * TLS on the receive side: TLS 1.0 and 1.1 clients (old Xerox/Ricoh firmware)
 * complete STARTTLS and implicit-TLS handshakes on a legacy listener and are
 * refused on a modern one; the negotiated version is recorded on the message
 * and in the device inventory. Implicit TLS (port 465 style) with nodemailer
 * and swaks.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { startTestRelay, queueIdOf, type TestRelay } from '../helpers/relay.js';
import { swaks } from '../helpers/tools.js';
import { oldTlsClient } from '../helpers/old-tls.js';



describe('legacy TLS 1.0/1.1 listeners', () => {
  let relay: TestRelay;
  before(async () => {
    relay = await startTestRelay({
      listeners: [
        { name: 'legacy-starttls', host: '127.0.0.1', port: 0, tls: 'starttls', minTlsVersion: 'TLSv1' },
        { name: 'legacy-implicit', host: '127.0.0.1', port: 0, tls: 'implicit', minTlsVersion: 'TLSv1' },
        { name: 'modern-starttls', host: '127.0.0.1', port: 0, tls: 'starttls' },
        { name: 'modern-implicit', host: '127.0.0.1', port: 0, tls: 'implicit' },
      ],
    });
  });
  after(() => relay.close());

  const cases: { ver: '1.0' | '1.1'; mode: 'starttls' | 'implicit'; src: string; proto: string }[] = [
    { ver: '1.0', mode: 'starttls', src: '127.0.0.2', proto: 'TLSv1' },
    { ver: '1.1', mode: 'starttls', src: '127.0.0.3', proto: 'TLSv1.1' },
    { ver: '1.0', mode: 'implicit', src: '127.0.0.4', proto: 'TLSv1' },
    { ver: '1.1', mode: 'implicit', src: '127.0.0.5', proto: 'TLSv1.1' },
  ];

  for (const c of cases) {
    test(`TLS ${c.ver} ${c.mode} completes on the legacy listener and is recorded`, async () => {
      const r = await oldTlsClient(relay.port(`legacy-${c.mode}`), c.mode, c.ver, c.src);
      assert.equal(r.ok, true, r.error);
      assert.equal(r.version, c.proto);
      if (c.mode === 'starttls') assert.equal(r.starttls, 220);
      assert.equal(r.data?.[0], 250, JSON.stringify(r.data));
      const id = queueIdOf(r.data![1]);
      const msg = await relay.waitFor(id, ['held']);
      assert.equal(msg.origin.tlsVersion, c.proto);
      assert.equal(msg.origin.listener, `legacy-${c.mode}`);
      assert.equal(msg.origin.clientIp, c.src);
      assert.equal(msg.origin.heloName, 'old-xerox');
      const seen = (await relay.store.devicesSeen()).find((d) => d.clientIp === c.src);
      assert.ok(seen, `no inventory row for ${c.src}`);
      assert.equal(seen.device, 'localhost');
      assert.equal(seen.tlsVersion, c.proto);
      assert.equal(seen.listener, `legacy-${c.mode}`);
      assert.equal(seen.accepted, 1);
    });
  }

  for (const mode of ['starttls', 'implicit'] as const) {
    for (const ver of ['1.0', '1.1'] as const) {
      test(`TLS ${ver} ${mode} is refused on a modern (TLS 1.2+) listener`, async () => {
        const before = (await relay.store.list({})).length;
        const r = await oldTlsClient(relay.port(`modern-${mode}`), mode, ver);
        assert.equal(r.ok, false, `handshake should fail, got ${JSON.stringify(r)}`);
        assert.match(r.error ?? '', /SSL|EOF|reset|closed|disconnect/i);
        assert.equal((await relay.store.list({})).length, before);
      });
    }
    test(`TLS 1.2 ${mode} works on the modern listener (control)`, async () => {
      const r = await oldTlsClient(relay.port(`modern-${mode}`), mode, '1.2', '127.0.0.6');
      assert.equal(r.ok, true, r.error);
      assert.equal(r.version, 'TLSv1.2');
      const msg = await relay.waitFor(queueIdOf(r.data![1]), ['held']);
      assert.equal(msg.origin.tlsVersion, 'TLSv1.2');
    });
  }

  test('RSA key exchange only (Ricoh 16S/17S style, TLS_RSA suites): TLS 1.2 on the modern listener, TLS 1.0 on the legacy one', async () => {
    const modern = await oldTlsClient(relay.port('modern-starttls'), 'starttls', '1.2', '127.0.0.7', 'AES128-SHA:AES256-SHA:@SECLEVEL=0');
    assert.equal(modern.ok, true, modern.error);
    assert.match(modern.cipher ?? '', /^AES(128|256)-SHA$/);
    const legacy = await oldTlsClient(relay.port('legacy-starttls'), 'starttls', '1.0', '127.0.0.8', 'AES128-SHA:@SECLEVEL=0');
    assert.equal(legacy.ok, true, legacy.error);
    assert.equal(legacy.version, 'TLSv1');
    assert.equal(legacy.cipher, 'AES128-SHA');
  });

  test('swaks --tls-protocol tlsv1 through STARTTLS on the legacy listener', async () => {
    const r = await swaks(relay.port('legacy-starttls'), [
      '--tls', '--tls-protocol', 'tlsv1', '--tls-cipher', 'DEFAULT:@SECLEVEL=0',
      '--from', 'scanner@printer.local', '--to', 'user@example.com',
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /TLS started with cipher TLSv1:/);
    const id = queueIdOf(r.stdout);
    assert.equal((await relay.waitFor(id, ['held'])).origin.tlsVersion, 'TLSv1');
  });
});

describe('implicit TLS (port 465 style)', () => {
  let relay: TestRelay;
  before(async () => {
    relay = await startTestRelay({ listeners: [{ name: 'smtps', host: '127.0.0.1', port: 0, tls: 'implicit' }] });
  });
  after(() => relay.close());

  test('nodemailer secure: true delivers and the message is stored with its TLS version', async () => {
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port('smtps'), secure: true, tls: { rejectUnauthorized: false } });
    try {
      const info = await t.sendMail({ from: 'scanner@printer.local', to: 'user@example.com', subject: 'implicit', text: 'hello' });
      const id = queueIdOf(info.response);
      const msg = await relay.waitFor(id, ['held']);
      assert.match(msg.origin.tlsVersion ?? '', /^TLSv1\.[23]$/);
      assert.equal(msg.origin.listener, 'smtps');
      assert.deepEqual(msg.recipients, ['user@example.com']);
      assert.equal(msg.subject, 'implicit');
    } finally {
      t.close();
    }
  });

  test('swaks --tls-on-connect delivers', async () => {
    const r = await swaks(relay.port('smtps'), ['--tls-on-connect', '--from', 'scanner@printer.local', '--to', 'user@example.com']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /TLS started with cipher/);
    const msg = await relay.waitFor(queueIdOf(r.stdout), ['held']);
    assert.match(msg.origin.tlsVersion ?? '', /^TLSv1\.[23]$/);
  });

  test('a plaintext client on the implicit listener gets no SMTP greeting and nothing is stored', async () => {
    const { connect } = await import('node:net');
    const s = connect(relay.port('smtps'), '127.0.0.1');
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    await new Promise((r) => s.once('connect', r));
    s.write('EHLO plain\r\n');
    await new Promise((r) => {
      s.once('close', r);
      setTimeout(r, 1000).unref();
    });
    s.destroy();
    assert.ok(!Buffer.concat(got).toString('latin1').startsWith('220'), 'no plaintext greeting on an implicit TLS port');
  });
});
