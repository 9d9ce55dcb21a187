/**
 * SMTP AUTH on the receive side: LOGIN with the exact Username:/Password:
 * prompts, PLAIN, AUTH only over TLS unless allowInsecureAuth, AUTH not
 * advertised on a plain listener, and brute-force lockout (421 + disconnect,
 * per IP and per user name, for lockoutDuration; failures answered late).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { hashPassword } from '../../src/identity/password.js';
import { startTestRelay, queueIdOf, type TestRelay } from '../helpers/relay.js';
import { sharedCertificate } from '../helpers/cert.js';
import { swaks, python } from '../helpers/tools.js';
import { SmtpWire, sendRaw, leadingEnhancedCodes } from '../helpers/smtp-wire.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const plain = (u: string, p: string) => b64(`\0${u}\0${p}`);
const MSG = 'From: scanner@printer.local\r\nTo: user@example.com\r\nSubject: auth\r\n\r\nbody\r\n.\r\n';

describe('AUTH mechanisms and where they are offered', () => {
  let relay: TestRelay;
  before(async () => {
    const passwordHash = await hashPassword('s3cret pass');
    relay = await startTestRelay({
      tls: await sharedCertificate(),
      trustLoopback: false,
      listeners: [
        { name: 'submission', host: '127.0.0.1', port: 0, tls: 'starttls' },
        { name: 'plain', host: '127.0.0.1', port: 0, tls: 'none' },
        { name: 'plain-auth', host: '127.0.0.1', port: 0, tls: 'none', allowInsecureAuth: true },
        { name: 'starttls-insecure', host: '127.0.0.1', port: 0, tls: 'starttls', allowInsecureAuth: true },
      ],
      devices: [{ name: 'mfp-3f', username: 'mfp3f', passwordHash }],
    });
  });
  after(() => relay.close());

  test('AUTH LOGIN after STARTTLS: challenges decode to exactly "Username:" and "Password:"', async () => {
    const w = await SmtpWire.open(relay.port('submission'));
    try {
      await w.cmd('EHLO canon');
      await w.starttls();
      const ehlo = await w.cmd('EHLO canon');
      assert.ok(ehlo.lines.includes('AUTH PLAIN LOGIN'), ehlo.raw);
      const c1 = await w.cmd('AUTH LOGIN');
      assert.equal(c1.code, 334);
      assert.equal(Buffer.from(c1.lines[0]!, 'base64').toString('latin1'), 'Username:');
      assert.equal(c1.raw, '334 VXNlcm5hbWU6');
      const c2 = await w.cmd(b64('mfp3f'));
      assert.equal(c2.code, 334);
      assert.equal(Buffer.from(c2.lines[0]!, 'base64').toString('latin1'), 'Password:');
      assert.equal(c2.raw, '334 UGFzc3dvcmQ6');
      const ok = await w.cmd(b64('s3cret pass'));
      assert.equal(ok.code, 235, ok.raw);
      const r = await sendRaw(w, 'scanner@printer.local', ['user@example.com'], MSG);
      assert.equal(r.end?.code, 250, r.end?.raw);
      const msg = await relay.waitFor(queueIdOf(r.end!.raw), ['held']);
      assert.equal(msg.origin.device, 'mfp-3f');
      assert.equal(msg.origin.authUser, 'mfp3f');
      assert.equal(msg.origin.authMechanism, 'LOGIN');
      assert.match(msg.origin.tlsVersion ?? '', /^TLSv1\.[23]$/);
    } finally {
      w.close();
    }
  });

  test('AUTH PLAIN with an initial response after STARTTLS', async () => {
    const w = await SmtpWire.open(relay.port('submission'));
    try {
      await w.cmd('EHLO canon');
      await w.starttls();
      await w.cmd('EHLO canon');
      const ok = await w.cmd(`AUTH PLAIN ${plain('mfp3f', 's3cret pass')}`);
      assert.equal(ok.code, 235, ok.raw);
      const r = await sendRaw(w, 'scanner@printer.local', ['user@example.com'], MSG);
      assert.equal(r.end?.code, 250, r.end?.raw);
      const msg = await relay.waitFor(queueIdOf(r.end!.raw), ['held']);
      assert.equal(msg.origin.authMechanism, 'PLAIN');
      const seen = (await relay.store.devicesSeen()).find((d) => d.device === 'mfp-3f');
      assert.ok(seen);
      assert.equal(seen.authMechanism, 'PLAIN');
      assert.equal(seen.accepted, 2);
    } finally {
      w.close();
    }
  });

  test('swaks --auth LOGIN and Python smtplib AUTH PLAIN over STARTTLS', async () => {
    const s = await swaks(relay.port('submission'), [
      '--tls', '--auth', 'LOGIN', '--auth-user', 'mfp3f', '--auth-password', 's3cret pass',
      '--from', 'scanner@printer.local', '--to', 'user@example.com',
    ]);
    assert.equal(s.code, 0, s.stdout + s.stderr);
    assert.match(s.stdout, /<~\s+235/);
    assert.equal((await relay.waitFor(queueIdOf(s.stdout), ['held'])).origin.authMechanism, 'LOGIN');
    const py = await python(`
import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=10)
s.starttls(context=ctx)
code, resp = s.login('mfp3f', 's3cret pass')  # smtplib picks PLAIN from 'AUTH PLAIN LOGIN'
print(code)
s.mail('scanner@printer.local'); s.rcpt('user@example.com')
code, resp = s.data(b'Subject: py\\r\\n\\r\\nx\\r\\n')
print(code, resp.decode())
s.quit()
`, [String(relay.port('submission'))]);
    assert.equal(py.code, 0, py.stderr);
    const [authCode, dataLine] = py.stdout.trim().split('\n');
    assert.equal(authCode, '235');
    assert.match(dataLine ?? '', /^250 /);
  });

  test('AUTH before STARTTLS is refused (538, one enhanced code) and nothing is authenticated', async () => {
    const w = await SmtpWire.open(relay.port('submission'));
    try {
      await w.cmd('EHLO canon');
      const r = await w.cmd(`AUTH PLAIN ${plain('mfp3f', 's3cret pass')}`);
      assert.equal(r.code, 538, r.raw);
      assert.equal(leadingEnhancedCodes(r.lines[0]!).length, 1, r.raw);
      const l = await w.cmd('AUTH LOGIN');
      assert.equal(l.code, 538, l.raw);
      const mail = await w.cmd('MAIL FROM:<scanner@printer.local>');
      assert.equal(mail.code, 530, mail.raw);
    } finally {
      w.close();
    }
  });

  test('a tls:none listener does not advertise or accept AUTH unless allowInsecureAuth', async () => {
    const w = await SmtpWire.open(relay.port('plain'));
    try {
      const ehlo = await w.cmd('EHLO fuji');
      assert.ok(!ehlo.lines.some((l) => /^AUTH\b/i.test(l)), ehlo.raw);
      assert.ok(!ehlo.lines.includes('STARTTLS'), ehlo.raw);
      const r = await w.cmd(`AUTH PLAIN ${plain('mfp3f', 's3cret pass')}`);
      assert.ok(r.code >= 500 && r.code !== 235, r.raw);
    } finally {
      w.close();
    }
  });

  test('allowInsecureAuth: AUTH advertised and accepted in the clear (Fuji Xerox style), on none and starttls listeners', async () => {
    for (const name of ['plain-auth', 'starttls-insecure']) {
      const w = await SmtpWire.open(relay.port(name));
      try {
        const ehlo = await w.cmd('EHLO fuji');
        assert.ok(ehlo.lines.includes('AUTH PLAIN LOGIN'), `${name}: ${ehlo.raw}`);
        await w.cmd('AUTH LOGIN');
        await w.cmd(b64('mfp3f'));
        const ok = await w.cmd(b64('s3cret pass'));
        assert.equal(ok.code, 235, `${name}: ${ok.raw}`);
        const r = await sendRaw(w, 'scanner@printer.local', ['user@example.com'], MSG);
        assert.equal(r.end?.code, 250, r.end?.raw);
        const msg = await relay.waitFor(queueIdOf(r.end!.raw), ['held']);
        assert.equal(msg.origin.authUser, 'mfp3f');
        assert.equal(msg.origin.tlsVersion, undefined);
      } finally {
        w.close();
      }
    }
  });

  test('nodemailer with auth over STARTTLS', async () => {
    const t = nodemailer.createTransport({
      host: '127.0.0.1', port: relay.port('submission'), secure: false, requireTLS: true,
      auth: { user: 'mfp3f', pass: 's3cret pass' }, tls: { rejectUnauthorized: false },
    });
    try {
      const info = await t.sendMail({ from: 'scanner@printer.local', to: 'user@example.com', subject: 'nm', text: 'x' });
      assert.equal((await relay.waitFor(queueIdOf(info.response), ['held'])).origin.authUser, 'mfp3f');
    } finally {
      t.close();
    }
  });
});

describe('wrong-password lockout', () => {
  let relay: TestRelay;
  const LOCK_MS = 3000;
  const DELAY_MS = 200;
  before(async () => {
    relay = await startTestRelay({
      tls: await sharedCertificate(),
      trustLoopback: false,
      listeners: [{ name: 'plain-auth', host: '127.0.0.1', port: 0, tls: 'none', allowInsecureAuth: true }],
      security: { authFailureLimit: 3, authFailureWindow: '1m', lockoutDuration: `${LOCK_MS}ms`, authFailureDelay: `${DELAY_MS}ms` },
      devices: [
        { name: 'mfp', username: 'mfp', passwordHash: await hashPassword('right') },
        { name: 'other', username: 'other', passwordHash: await hashPassword('right2') },
      ],
    });
  });
  after(() => relay.close());

  test('failures are answered late; the Nth failure gets 421 and a disconnect; IP and user stay locked, then unlock', async () => {
    const port = relay.port('plain-auth');
    const w = await SmtpWire.open(port);
    await w.cmd('EHLO brute');
    for (let i = 1; i < 3; i++) {
      const t0 = Date.now();
      const r = await w.cmd(`AUTH PLAIN ${plain('mfp', `wrong${i}`)}`);
      assert.equal(r.code, 535, r.raw);
      assert.ok(Date.now() - t0 >= DELAY_MS - 20, `failure answered after ${Date.now() - t0} ms`);
      assert.deepEqual(leadingEnhancedCodes(r.lines[0]!), ['5.7.8'], r.raw);
    }
    const last = await w.cmd(`AUTH PLAIN ${plain('mfp', 'wrong3')}`);
    assert.equal(last.code, 421, last.raw);
    assert.deepEqual(leadingEnhancedCodes(last.lines[0]!), ['4.7.0'], last.raw);
    await w.waitClosed();
    const lockedAt = Date.now();

    // Same IP: refused at once, the right password never gets a chance.
    const again = await SmtpWire.open(port, { noGreeting: true });
    const greet = await again.read();
    assert.equal(greet.code, 421, greet.raw);
    await again.waitClosed();

    // Another IP, the locked user name with the right password: 421 too.
    const other = await SmtpWire.open(port, { localAddress: '127.0.0.2' });
    assert.equal(other.greeting?.code, 220);
    await other.cmd('EHLO other');
    const right = await other.cmd(`AUTH PLAIN ${plain('mfp', 'right')}`);
    assert.equal(right.code, 421, right.raw);
    await other.waitClosed();

    // An unrelated user from a third IP is not affected.
    const third = await SmtpWire.open(port, { localAddress: '127.0.0.3' });
    await third.cmd('EHLO third');
    assert.equal((await third.cmd(`AUTH PLAIN ${plain('other', 'right2')}`)).code, 235);
    third.close();

    assert.ok(Date.now() < lockedAt + LOCK_MS, 'machine too slow: the lock expired before the locked checks ran');
    // After lockoutDuration the right password works again from the first IP.
    const wait = lockedAt + LOCK_MS + 100 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const later = await SmtpWire.open(port);
    assert.equal(later.greeting?.code, 220, later.greeting?.raw);
    await later.cmd('EHLO later');
    const ok = await later.cmd(`AUTH PLAIN ${plain('mfp', 'right')}`);
    assert.equal(ok.code, 235, ok.raw);
    later.close();
    assert.ok(relay.logs.some((l) => l.event === 'auth-failed' && l.reply === 421));
  });
});
