/**
 * SMTP dialogue as legacy devices speak it: HELO-only clients, lenient
 * addresses (iLO's `ilo.@`, a space after the colon, SMTPUTF8), the EHLO
 * extensions before and after STARTTLS, pipelining, several messages on one
 * connection, and the rule that every reply carries exactly one enhanced
 * status code (none on the greeting and HELO/EHLO, as RFC 2034 says).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { startTestRelay, queueIdOf, type TestRelay } from '../helpers/relay.js';
import { sharedCertificate } from '../helpers/cert.js';
import { swaks, python } from '../helpers/tools.js';
import { SmtpWire, sendRaw, readAll, splitReceived, leadingEnhancedCodes, type Reply } from '../helpers/smtp-wire.js';

const MSG = 'From: scanner@printer.local\r\nTo: user@example.com\r\nSubject: proto\r\n\r\nbody\r\n.\r\n';

describe('SMTP dialogue', () => {
  let relay: TestRelay;
  before(async () => {
    relay = await startTestRelay({
      tls: await sharedCertificate(),
      listeners: [
        { name: 'main', host: '127.0.0.1', port: 0, tls: 'starttls' },
        { name: 'plain', host: '127.0.0.1', port: 0, tls: 'none' },
      ],
      devices: [{ name: 'strict', networks: ['127.0.0.9/32'], allowedFrom: ['*@contoso.example'], maxMessageSize: '1KB' }],
    });
  });
  after(() => relay.close());

  test('HELO-only client (swaks --protocol SMTP): accepted, Received says SMTP', async () => {
    const r = await swaks(relay.port('plain'), ['--protocol', 'SMTP', '--ehlo', 'old-fax', '--from', 'fax@printer.local', '--to', 'user@example.com']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /-> HELO old-fax/);
    assert.doesNotMatch(r.stdout, /-> EHLO/);
    const msg = await relay.waitFor(queueIdOf(r.stdout), ['held']);
    assert.equal(msg.origin.heloName, 'old-fax');
    const { received } = splitReceived(await readAll(relay.store.openBody(msg.bodyId)));
    assert.match(received, /^Received: from old-fax \(\[127\.0\.0\.1\]\)\r\n\tby relay\.test \(authrelay\) with SMTP id /);
  });

  test('HELO then a transaction on a raw socket (no EHLO at all)', async () => {
    const w = await SmtpWire.open(relay.port('plain'));
    try {
      const helo = await w.cmd('HELO fax');
      assert.equal(helo.code, 250);
      assert.equal(helo.lines.length, 1, 'HELO gets a one-line reply, no extensions');
      const r = await sendRaw(w, 'fax@printer.local', ['user@example.com'], MSG);
      assert.equal(r.end?.code, 250, r.end?.raw);
    } finally {
      w.close();
    }
  });

  test('EHLO advertises the extensions; AUTH PLAIN LOGIN only after STARTTLS; no DSN; the greeting says authrelay once', async () => {
    const w = await SmtpWire.open(relay.port('main'));
    try {
      assert.equal(w.greeting!.raw, '220 relay.test ESMTP authrelay ready');
      const before = await w.cmd('EHLO mfp');
      for (const ext of ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'STARTTLS']) assert.ok(before.lines.includes(ext), `${ext}: ${before.raw}`);
      assert.ok(!before.lines.some((l) => l.startsWith('AUTH')), `AUTH is not offered before STARTTLS on a port that takes passwords only over TLS: ${before.raw}`);
      assert.ok(before.lines.some((l) => /^SIZE \d+$/.test(l)), before.raw);
      await w.starttls();
      const after = await w.cmd('EHLO mfp');
      for (const ext of ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'AUTH PLAIN LOGIN']) assert.ok(after.lines.includes(ext), `${ext}: ${after.raw}`);
      assert.ok(after.lines.includes(`SIZE ${150 * 1024 * 1024}`), after.raw);
      assert.ok(!after.lines.includes('STARTTLS'));
      assert.ok(!after.lines.includes('DSN'));
    } finally {
      w.close();
    }
  });

  test('commands injected in plaintext behind STARTTLS are discarded, not run inside TLS', async () => {
    const w = await SmtpWire.open(relay.port('main'));
    try {
      await w.cmd('EHLO mfp');
      await w.starttls({}, 'MAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@example.com>\r\n');
      const ehlo = await w.cmd('EHLO mfp');
      assert.ok(ehlo.code === 250 && ehlo.lines.includes('AUTH PLAIN LOGIN'), `first reply inside TLS is not the EHLO one: ${ehlo.raw}`);
      const rcpt = await w.cmd('RCPT TO:<victim@example.com>');
      assert.equal(rcpt.code, 503, `injected MAIL FROM took effect: ${rcpt.raw}`);
      assert.equal(w.pending, '');
    } finally {
      w.close();
    }
  });

  test('lenient addresses: <ilo.@example.com>, "MAIL FROM: <x@y>", SMTPUTF8 UTF-8 addresses', async () => {
    const w = await SmtpWire.open(relay.port('plain'));
    try {
      await w.cmd('EHLO ilo');
      const ilo = await sendRaw(w, 'ilo.@example.com', ['ilo.admin.@example.com'], 'Subject: iLO alert\r\n\r\nfan failure\r\n.\r\n');
      assert.equal(ilo.mail.code, 250, ilo.mail.raw);
      assert.equal(ilo.rcpt[0]!.code, 250, ilo.rcpt[0]!.raw);
      const m1 = await relay.waitFor(queueIdOf(ilo.end!.raw), ['held']);
      assert.equal(m1.sender, 'ilo.@example.com');
      assert.deepEqual(m1.recipients, ['ilo.admin.@example.com']);

      const space = await w.cmd('MAIL FROM: <x@y.example>');
      assert.equal(space.code, 250, space.raw);
      assert.equal((await w.cmd('RCPT TO: <user@example.com>')).code, 250);
      assert.equal((await w.cmd('DATA')).code, 354);
      w.write(MSG);
      const spaced = await w.read();
      assert.equal(spaced.code, 250, spaced.raw);
      assert.equal((await relay.waitFor(queueIdOf(spaced.raw), ['held'])).sender, 'x@y.example');

      const utf = await w.cmd('MAIL FROM:<tëst@exämple.example> SMTPUTF8 BODY=8BITMIME');
      assert.equal(utf.code, 250, utf.raw);
      assert.equal((await w.cmd('RCPT TO:<ユーザー@例え.example>')).code, 250);
      assert.equal((await w.cmd('DATA')).code, 354);
      w.write(Buffer.from('From: tëst@exämple.example\r\nSubject: ütf-8\r\n\r\nbödy\r\n.\r\n', 'utf8'));
      const end = await w.read();
      assert.equal(end.code, 250, end.raw);
      const m3 = await relay.waitFor(queueIdOf(end.raw), ['held']);
      assert.equal(m3.sender, 'tëst@exämple.example');
      assert.deepEqual(m3.recipients, ['ユーザー@例え.example']);
      assert.equal(m3.subject, 'ütf-8');
    } finally {
      w.close();
    }
  });

  test('SMTPUTF8 sender through Python smtplib (mail_options)', async () => {
    const r = await python(`
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=10)
s.ehlo('py')
code, resp = s.mail('tëst@exämple.example', ['SMTPUTF8'])
print(code)
s.rcpt('user@example.com')
code, resp = s.data('Subject: py utf8\\r\\n\\r\\nx\\r\\n'.encode())
print(code, resp.decode())
s.quit()
`, [String(relay.port('plain'))]);
    assert.equal(r.code, 0, r.stderr);
    const [mail, data] = r.stdout.trim().split('\n');
    assert.equal(mail, '250');
    assert.equal((await relay.waitFor(queueIdOf(data!), ['held'])).sender, 'tëst@exämple.example');
  });

  test('pipelined MAIL/RCPT/RCPT/DATA in one write get their replies in order (swaks --pipeline too)', async () => {
    const w = await SmtpWire.open(relay.port('plain'));
    try {
      await w.cmd('EHLO pipe');
      w.write('MAIL FROM:<scanner@printer.local>\r\nRCPT TO:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n');
      const codes = [];
      for (let i = 0; i < 4; i++) codes.push((await w.read()).code);
      assert.deepEqual(codes, [250, 250, 250, 354]);
      w.write(MSG);
      const end = await w.read();
      assert.equal(end.code, 250, end.raw);
      assert.deepEqual((await relay.waitFor(queueIdOf(end.raw), ['held'])).recipients, ['a@example.com', 'b@example.com']);
    } finally {
      w.close();
    }
    const s = await swaks(relay.port('plain'), ['--pipeline', '--from', 'scanner@printer.local', '--to', 'user@example.com,other@example.com']);
    assert.equal(s.code, 0, s.stdout + s.stderr);
    assert.deepEqual((await relay.waitFor(queueIdOf(s.stdout), ['held'])).recipients, ['user@example.com', 'other@example.com']);
  });

  test('several messages on one connection: all stored, distinct ids (raw, nodemailer pool, smtplib)', async () => {
    const ids: string[] = [];
    const w = await SmtpWire.open(relay.port('plain'));
    try {
      await w.cmd('EHLO reuse');
      for (let i = 0; i < 5; i++) {
        const r = await sendRaw(w, 'scanner@printer.local', [`u${i}@example.com`], `Subject: raw ${i}\r\n\r\n${i}\r\n.\r\n`);
        assert.equal(r.end?.code, 250, r.end?.raw);
        ids.push(queueIdOf(r.end!.raw));
        if (i === 2) assert.equal((await w.cmd('RSET')).code, 250);
      }
    } finally {
      w.close();
    }
    const t = nodemailer.createTransport({ pool: true, maxConnections: 1, host: '127.0.0.1', port: relay.port('plain'), secure: false, ignoreTLS: true });
    try {
      const infos = await Promise.all([0, 1, 2].map((i) => t.sendMail({ from: 'scanner@printer.local', to: `n${i}@example.com`, subject: `nm ${i}`, text: 'x' })));
      ids.push(...infos.map((i) => queueIdOf(i.response)));
    } finally {
      t.close();
    }
    const py = await python(`
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=10)
s.ehlo('py')
for i in range(3):
    s.mail('scanner@printer.local'); s.rcpt('p%d@example.com' % i)
    code, resp = s.data(('Subject: py %d\\r\\n\\r\\nx\\r\\n' % i).encode())
    print(resp.decode())
s.quit()
`, [String(relay.port('plain'))]);
    assert.equal(py.code, 0, py.stderr);
    ids.push(...py.stdout.trim().split('\n').map(queueIdOf));
    assert.equal(ids.length, 11);
    assert.equal(new Set(ids).size, 11, `ids not distinct: ${ids.join(' ')}`);
    const subjects = [];
    for (const id of ids) subjects.push((await relay.waitFor(id, ['held'])).subject);
    assert.deepEqual(subjects.slice(0, 5), ['raw 0', 'raw 1', 'raw 2', 'raw 3', 'raw 4']);
    assert.deepEqual(subjects.slice(5, 8)?.sort(), ['nm 0', 'nm 1', 'nm 2']);
    assert.deepEqual(subjects.slice(8), ['py 0', 'py 1', 'py 2']);
  });

  test('every reply carries exactly one enhanced status code (none on greeting/HELO/EHLO/3xx)', async () => {
    const seen: { cmd: string; reply: Reply }[] = [];
    const check = async (w: SmtpWire, cmd: string | null, payload?: string) => {
      if (payload !== undefined) w.write(payload);
      const reply = cmd === null ? await w.read() : await w.cmd(cmd);
      seen.push({ cmd: cmd ?? '<data>', reply });
      return reply;
    };
    const a = await SmtpWire.open(relay.port('main'));
    try {
      await check(a, 'EHLO codes');
      await check(a, 'NOOP');
      await check(a, 'FOO bar'); // 500
      await check(a, 'RCPT TO:<x@example.com>'); // 503 need MAIL
      await check(a, 'MAIL FROM:scanner@printer.local'); // 501 no brackets
      await check(a, 'AUTH PLAIN AHgAeQ=='); // 538 before STARTTLS
      await check(a, 'MAIL FROM:<scanner@printer.local>');
      await check(a, 'RCPT TO:<user%other.example@relay.test>'); // 553
      await check(a, 'RCPT TO:<user@example.com>');
      await check(a, 'DATA');
      const end = await check(a, null, MSG);
      assert.match(end.raw, /^250 2\.0\.0 OK: queued as [A-Z0-9]+$/);
      await check(a, 'RSET');
      await check(a, 'VRFY user');
      await check(a, 'QUIT');
    } finally {
      a.close();
    }
    const b = await SmtpWire.open(relay.port('plain'), { localAddress: '127.0.0.9' });
    try {
      await check(b, 'HELO strict');
      await check(b, 'MAIL FROM:<x@printer.local>'); // 553 5.7.1 not allowed
      await check(b, 'MAIL FROM:<x@contoso.example> SIZE=5000'); // 552 device limit
      await check(b, 'MAIL FROM:<x@contoso.example>');
      await check(b, 'RCPT TO:<user@example.com>');
      await check(b, 'DATA');
      await check(b, null, `Subject: big\r\n\r\n${'x'.repeat(2000)}\r\n.\r\n`); // 552 at end of data
    } finally {
      b.close();
    }
    const codes = seen.map((s) => s.reply.code);
    for (const c of [500, 503, 501, 538, 553, 552, 221]) assert.ok(codes.includes(c), `no ${c} among ${codes.join(',')}`);
    for (const { cmd, reply } of seen) {
      const noCode = /^(EHLO|HELO)/.test(cmd) || (reply.code >= 300 && reply.code < 400);
      for (const line of reply.lines) {
        const n = leadingEnhancedCodes(line).length;
        assert.equal(n, noCode ? 0 : 1, `${cmd} -> ${reply.raw}`);
      }
    }
  });
});
