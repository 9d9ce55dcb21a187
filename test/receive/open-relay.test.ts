/**
 * Who may send: a network-trusted device sends without AUTH; an unknown
 * address without AUTH is refused at MAIL FROM / RCPT TO. The nmap
 * smtp-open-relay probe pairs (written here, nmap not needed) are all refused
 * from an untrusted client, and relay-trick recipient syntax (% hack, bang
 * paths, source routes, quoted local parts) is refused with 553 even for a
 * trusted or authenticated device.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword } from '../../src/identity/password.js';
import { startTestRelay, queueIdOf, type TestRelay } from '../helpers/relay.js';
import { sharedCertificate } from '../helpers/cert.js';
import { swaks } from '../helpers/tools.js';
import { SmtpWire, sendRaw, leadingEnhancedCodes } from '../helpers/smtp-wire.js';

const RELAY = 'relay.test';
const IP = '127.0.0.1';
const TARGET = 'relaytest@nmap.scanme.org';

/** The MAIL FROM / RCPT TO pairs of nmap's smtp-open-relay.nse (domain=relay.test, ip=127.0.0.1). */
const NMAP_PAIRS: [string, string][] = [
  ['', TARGET],
  [`antispam@[${IP}]`, TARGET],
  [`antispam@${RELAY}`, TARGET],
  [`antispam@[${IP}]`, `relaytest%nmap.scanme.org@[${IP}]`],
  [`antispam@${RELAY}`, `relaytest%nmap.scanme.org@${RELAY}`],
  [`antispam@[${IP}]`, `"${TARGET}"`],
  [`antispam@[${IP}]`, '"relaytest%nmap.scanme.org"'],
  [`antispam@[${IP}]`, `${TARGET}@[${IP}]`],
  [`antispam@[${IP}]`, `"${TARGET}"@[${IP}]`],
  [`antispam@${RELAY}`, `${TARGET}@${RELAY}`],
  [`antispam@[${IP}]`, `@[${IP}]:${TARGET}`],
  [`antispam@${RELAY}`, `@${RELAY}:${TARGET}`],
  [`antispam@[${IP}]`, 'nmap.scanme.org!relaytest'],
  [`antispam@[${IP}]`, `nmap.scanme.org!relaytest@[${IP}]`],
  [`antispam@${RELAY}`, `nmap.scanme.org!relaytest@${RELAY}`],
  [`antispam@${RELAY}`, `"relaytest@nmap.scanme.org"@${RELAY}`],
];

/** Relay-trick recipients that must get 553 even from a trusted or authenticated device. */
const TRICKS: string[] = [
  `relaytest%nmap.scanme.org@${RELAY}`,
  `relaytest%nmap.scanme.org@[${IP}]`,
  `"${TARGET}"@${RELAY}`,
  `"${TARGET}"`,
  `@${RELAY}:${TARGET}`,
  `@[${IP}]:${TARGET}`,
  `@a.example,@b.example:${TARGET}`,
  'nmap.scanme.org!relaytest',
  `nmap.scanme.org!relaytest@${RELAY}`,
  `${TARGET}@${RELAY}`,
];

const MSG = 'From: antispam@relay.test\r\nTo: relaytest@nmap.scanme.org\r\nSubject: relay probe\r\n\r\nprobe\r\n.\r\n';

describe('open relay and device trust', () => {
  let relay: TestRelay;
  before(async () => {
    relay = await startTestRelay({
      tls: await sharedCertificate(),
      trustLoopback: false,
      listeners: [{ name: 'main', host: '127.0.0.1', port: 0, tls: 'starttls', allowInsecureAuth: true }],
      devices: [
        { name: 'lan-printer', networks: ['127.0.0.2/32'] },
        { name: 'mfp', username: 'mfp', passwordHash: await hashPassword('pw') },
      ],
    });
  });
  after(() => relay.close());

  test('a network-trusted device sends without AUTH; the untrusted address beside it is refused', async () => {
    const ok = await swaks(relay.port('main'), ['--local-interface', '127.0.0.2', '--from', 'printer@lan.local', '--to', 'user@example.com']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const msg = await relay.waitFor(queueIdOf(ok.stdout), ['held']);
    assert.equal(msg.origin.device, 'lan-printer');
    assert.equal(msg.origin.clientIp, '127.0.0.2');
    assert.equal(msg.origin.authUser, undefined);

    const before = (await relay.store.list({})).length;
    const bad = await swaks(relay.port('main'), ['--local-interface', '127.0.0.1', '--from', 'printer@lan.local', '--to', 'user@example.com']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stdout, /<\*\* +530 5\.7\.0 Authentication required/);
    assert.equal((await relay.store.list({})).length, before);
  });

  test('untrusted client: every nmap smtp-open-relay pair is refused at MAIL FROM or RCPT TO, nothing stored', async () => {
    const before = (await relay.store.list({})).length;
    for (const [from, to] of NMAP_PAIRS) {
      const w = await SmtpWire.open(relay.port('main'));
      try {
        await w.cmd(`EHLO ${RELAY}`);
        const mail = await w.cmd(`MAIL FROM:<${from}>`);
        const rcpt = await w.cmd(`RCPT TO:<${to}>`);
        assert.notEqual(rcpt.code, 250, `${from} -> ${to}: RCPT accepted (${mail.raw} / ${rcpt.raw})`);
        assert.ok(mail.code >= 500 || rcpt.code >= 500, `${from} -> ${to}: ${mail.raw} / ${rcpt.raw}`);
        if (mail.code !== 250) assert.equal(mail.code, 530, mail.raw);
        const data = await w.cmd('DATA');
        assert.notEqual(data.code, 354, `${from} -> ${to}: DATA accepted`);
        await w.cmd('RSET');
      } finally {
        w.close();
      }
    }
    // HELO client with a null sender and no EHLO: same.
    const h = await SmtpWire.open(relay.port('main'));
    await h.cmd(`HELO ${RELAY}`);
    assert.equal((await h.cmd('MAIL FROM:<>')).code, 530);
    h.close();
    assert.equal((await relay.store.list({})).length, before);
  });

  for (const who of ['network-trusted', 'authenticated'] as const) {
    test(`${who} device: relay-trick recipients are refused with 553 5.1.3, plain ones accepted`, async () => {
      const w = await SmtpWire.open(relay.port('main'), who === 'network-trusted' ? { localAddress: '127.0.0.2' } : {});
      try {
        await w.cmd('EHLO mfp');
        if (who === 'authenticated') assert.equal((await w.cmd(`AUTH PLAIN ${Buffer.from('\0mfp\0pw').toString('base64')}`)).code, 235);
        assert.equal((await w.cmd(`MAIL FROM:<antispam@${RELAY}>`)).code, 250);
        for (const to of TRICKS) {
          const r = await w.cmd(`RCPT TO:<${to}>`);
          assert.equal(r.code, 553, `${to}: ${r.raw}`);
          assert.deepEqual(leadingEnhancedCodes(r.lines[0]!), ['5.1.3'], r.raw);
        }
        const good = await w.cmd('RCPT TO:<user@example.com>');
        assert.equal(good.code, 250, good.raw);
        assert.equal((await w.cmd('DATA')).code, 354);
        w.write(MSG);
        const end = await w.read();
        assert.equal(end.code, 250, end.raw);
        const msg = await relay.waitFor(queueIdOf(end.raw), ['held']);
        assert.deepEqual(msg.recipients, ['user@example.com']);
      } finally {
        w.close();
      }
    });
  }

  test('a refused untrusted client is not recorded as a device; the trusted one is', async () => {
    const seen = await relay.store.devicesSeen();
    assert.ok(seen.some((d) => d.device === 'lan-printer' && d.clientIp === '127.0.0.2'));
    assert.ok(!seen.some((d) => d.clientIp === '127.0.0.1' && d.device !== 'mfp'));
  });

  test('an untrusted client that authenticates wrongly still cannot relay', async () => {
    const w = await SmtpWire.open(relay.port('main'));
    try {
      await w.cmd('EHLO x');
      assert.equal((await w.cmd(`AUTH PLAIN ${Buffer.from('\0mfp\0nope').toString('base64')}`)).code, 535);
      const r = await sendRaw(w, 'antispam@relay.test', [TARGET], MSG);
      assert.equal(r.mail.code, 530, r.mail.raw);
      assert.equal(r.data, undefined);
    } finally {
      w.close();
    }
  });
});

describe('requireAuth and requireTls listeners', () => {
  let relay: TestRelay;
  before(async () => {
    relay = await startTestRelay({
      tls: await sharedCertificate(),
      trustLoopback: false,
      listeners: [
        { name: 'auth-only', host: '127.0.0.1', port: 0, tls: 'none', requireAuth: true, allowInsecureAuth: true },
        { name: 'tls-only', host: '127.0.0.1', port: 0, tls: 'starttls', requireTls: true },
      ],
      devices: [{ name: 'lan', networks: ['127.0.0.2/32'], username: 'lan', passwordHash: await hashPassword('pw') }],
    });
  });
  after(() => relay.close());

  test('requireAuth: a network-trusted device must still authenticate', async () => {
    const w = await SmtpWire.open(relay.port('auth-only'), { localAddress: '127.0.0.2' });
    try {
      await w.cmd('EHLO lan');
      const anon = await w.cmd('MAIL FROM:<lan@printer.local>');
      assert.equal(anon.code, 530, anon.raw);
      assert.deepEqual(leadingEnhancedCodes(anon.lines[0]!), ['5.7.0']);
      assert.equal((await w.cmd(`AUTH PLAIN ${Buffer.from('\0lan\0pw').toString('base64')}`)).code, 235);
      const r = await sendRaw(w, 'lan@printer.local', ['user@example.com'], MSG);
      assert.equal(r.end?.code, 250, r.end?.raw);
      assert.equal((await relay.waitFor(queueIdOf(r.end!.raw), ['held'])).origin.authUser, 'lan');
    } finally {
      w.close();
    }
  });

  test('requireTls: MAIL FROM before STARTTLS gets 530, after it is accepted', async () => {
    const w = await SmtpWire.open(relay.port('tls-only'), { localAddress: '127.0.0.2' });
    try {
      await w.cmd('EHLO lan');
      const before = await w.cmd('MAIL FROM:<lan@printer.local>');
      assert.equal(before.code, 530, before.raw);
      assert.match(before.raw, /STARTTLS/);
      await w.starttls();
      await w.cmd('EHLO lan');
      const r = await sendRaw(w, 'lan@printer.local', ['user@example.com'], MSG);
      assert.equal(r.end?.code, 250, r.end?.raw);
      assert.match((await relay.waitFor(queueIdOf(r.end!.raw), ['held'])).origin.tlsVersion ?? '', /^TLSv1\.[23]$/);
    } finally {
      w.close();
    }
  });
});
