/**
 * Sender rewriting and recipients: a device with sendAs (no allowedFrom) has
 * its From header and envelope sender rewritten to sendAs, display name kept
 * and the original From in Reply-To; an allowed From is left byte for byte;
 * a device without sendAs using a disallowed From is refused 553. Bcc-only
 * messages keep every envelope recipient.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { startTestRelay, queueIdOf, type TestRelay } from '../helpers/relay.js';
import { sharedCertificate } from '../helpers/cert.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { SmtpWire, sendRaw, readAll, splitReceived, leadingEnhancedCodes } from '../helpers/smtp-wire.js';

const SCANNER_IP = '127.0.0.2'; // sendAs, no allowedFrom
const ALLOWED_IP = '127.0.0.3'; // sendAs + allowedFrom *@contoso.example
const STRICT_IP = '127.0.0.4'; // allowedFrom only, no sendAs
const SEND_AS = 'scanner@contoso.example';

describe('sender rewriting', () => {
  let relay: TestRelay;
  let upstream: TestUpstream;
  before(async () => {
    upstream = await startUpstream();
    relay = await startTestRelay({
      tls: await sharedCertificate(),
      trustLoopback: false,
      listeners: [{ name: 'plain', host: '127.0.0.1', port: 0, tls: 'none' }],
      upstreams: { up: { type: 'smtp', host: '127.0.0.1', port: upstream.port, tls: 'none' } },
      devices: [
        { name: 'scanner', networks: [`${SCANNER_IP}/32`], sendAs: SEND_AS },
        { name: 'allowed', networks: [`${ALLOWED_IP}/32`], sendAs: SEND_AS, allowedFrom: ['*@contoso.example'] },
        { name: 'strict', networks: [`${STRICT_IP}/32`], allowedFrom: ['*@contoso.example'] },
      ],
    });
  });
  after(async () => {
    await relay.close();
    await upstream.close();
  });

  async function send(ip: string, from: string, to: string[], payload: string | Buffer) {
    const w = await SmtpWire.open(relay.port('plain'), { localAddress: ip });
    try {
      await w.cmd('EHLO mfp');
      return await sendRaw(w, from, to, payload);
    } finally {
      w.close();
    }
  }

  async function storedBody(id: string): Promise<Buffer> {
    const m = await relay.waitFor(id, ['delivered', 'held', 'deferred', 'incoming', 'active']);
    return readAll(relay.store.openBody(m.bodyId));
  }

  test('From and envelope sender are rewritten to sendAs; display name kept; original From in Reply-To; delivered so', async () => {
    const original =
      'From: "MFP" <scanner@printer.local>\r\nTo: user@example.com\r\nSubject: scan 0001\r\nMessage-ID: <0001@printer.local>\r\n\r\nscan body\r\n';
    const r = await send(SCANNER_IP, 'scanner@printer.local', ['user@example.com'], `${original}.\r\n`);
    assert.equal(r.mail.code, 250, r.mail.raw);
    assert.equal(r.end?.code, 250, r.end?.raw);
    const id = queueIdOf(r.end!.raw);
    const { rest } = splitReceived(await storedBody(id));
    assert.equal(
      rest.toString('latin1'),
      'From: "MFP" <scanner@contoso.example>\r\nReply-To: "MFP" <scanner@printer.local>\r\nTo: user@example.com\r\n' +
        'Subject: scan 0001\r\nMessage-ID: <0001@printer.local>\r\n\r\nscan body\r\n',
    );
    const msg = (await relay.store.get(id))!;
    assert.equal(msg.sender, SEND_AS);
    assert.equal(msg.headerFrom, SEND_AS);
    assert.ok(msg.notes?.some((n) => n.includes('envelope sender scanner@printer.local rewritten')));
    await upstream.waitForCount(1);
    const got = upstream.received.find((x) => x.data.includes('scan 0001'))!;
    assert.equal(got.from, SEND_AS);
    assert.match(got.data.toString('latin1'), /\r\nFrom: "MFP" <scanner@contoso\.example>\r\nReply-To: "MFP" <scanner@printer\.local>\r\n/);
  });

  test('an existing Reply-To is kept; a missing From is set to sendAs', async () => {
    const r = await send(SCANNER_IP, 'scanner@printer.local', ['user@example.com'],
      'From: scanner@printer.local\r\nReply-To: desk@contoso.example\r\nSubject: rt\r\n\r\nx\r\n.\r\n');
    const { rest } = splitReceived(await storedBody(queueIdOf(r.end!.raw)));
    assert.equal(rest.toString('latin1'), `From: ${SEND_AS}\r\nReply-To: desk@contoso.example\r\nSubject: rt\r\n\r\nx\r\n`);
    const r2 = await send(SCANNER_IP, '', ['user@example.com'], 'Subject: no from\r\n\r\nx\r\n.\r\n');
    assert.equal(r2.end?.code, 250, r2.end?.raw);
    const { rest: rest2 } = splitReceived(await storedBody(queueIdOf(r2.end!.raw)));
    assert.equal(rest2.toString('latin1'), `Subject: no from\r\nFrom: ${SEND_AS}\r\n\r\nx\r\n`);
  });

  test('a raw 8-bit (Shift_JIS) display name is kept byte for byte when From is rewritten', async () => {
    const sjisName = Buffer.from([0x83, 0x58, 0x83, 0x4c, 0x83, 0x83, 0x83, 0x69]); // スキャナ
    const payload = Buffer.concat([
      Buffer.from('From: '), sjisName, Buffer.from(' <scanner@printer.local>\r\nSubject: sjis\r\n\r\nbody\r\n.\r\n'),
    ]);
    const r = await send(SCANNER_IP, 'scanner@printer.local', ['user@example.com'], payload);
    assert.equal(r.end?.code, 250, r.end?.raw);
    const { rest } = splitReceived(await storedBody(queueIdOf(r.end!.raw)));
    const expected = Buffer.concat([
      Buffer.from('From: '), sjisName, Buffer.from(` <${SEND_AS}>\r\nReply-To: `), sjisName,
      Buffer.from(' <scanner@printer.local>\r\nSubject: sjis\r\n\r\nbody\r\n'),
    ]);
    assert.equal(rest.toString('hex'), expected.toString('hex'));
  });

  test('an allowed From (allowedFrom *@contoso.example) is left untouched byte for byte', async () => {
    const original = Buffer.concat([
      Buffer.from('From:   Scan  Desk\r\n  <desk@Contoso.example>  \r\nTo: user@example.com\r\nX-Odd:\tvalue\t\r\n'),
      Buffer.from('Subject: caf\xe9 8-bit\r\n\r\nbody \xe9\r\n\r\n', 'latin1'),
    ]);
    const r = await send(ALLOWED_IP, 'desk@contoso.example', ['user@example.com'], Buffer.concat([original, Buffer.from('.\r\n')]));
    assert.equal(r.end?.code, 250, r.end?.raw);
    const id = queueIdOf(r.end!.raw);
    const { received, rest } = splitReceived(await storedBody(id));
    assert.match(received, /^Received: from mfp \(\[127\.0\.0\.3\]\)\r\n\tby relay\.test \(authrelay\) with ESMTP id /);
    assert.equal(rest.toString('hex'), original.toString('hex'));
    const msg = (await relay.store.get(id))!;
    assert.equal(msg.sender, 'desk@contoso.example');
    assert.ok(!msg.notes?.some((n) => /rewritten/.test(n)));
  });

  test('the sendAs mailbox itself is allowed as it is', async () => {
    const original = `From: Scanner <${SEND_AS}>\r\nSubject: self\r\n\r\nx\r\n`;
    const r = await send(SCANNER_IP, SEND_AS, ['user@example.com'], `${original}.\r\n`);
    const { rest } = splitReceived(await storedBody(queueIdOf(r.end!.raw)));
    assert.equal(rest.toString('latin1'), original);
  });

  test('a device without sendAs using a disallowed From is refused 553 (envelope at MAIL, header at end of DATA)', async () => {
    const before = (await relay.store.list({})).length;
    const env = await send(STRICT_IP, 'scanner@printer.local', ['user@example.com'], 'Subject: x\r\n\r\nx\r\n.\r\n');
    assert.equal(env.mail.code, 553, env.mail.raw);
    assert.deepEqual(leadingEnhancedCodes(env.mail.lines[0]!), ['5.7.1']);
    assert.match(env.mail.raw, /<scanner@printer\.local>: this device may not send as this address/);
    const hdr = await send(STRICT_IP, 'desk@contoso.example', ['user@example.com'], 'From: boss@elsewhere.example\r\nSubject: x\r\n\r\nx\r\n.\r\n');
    assert.equal(hdr.mail.code, 250);
    assert.equal(hdr.end?.code, 553, hdr.end?.raw);
    assert.match(hdr.end!.raw, /^553 5\.7\.1 <boss@elsewhere\.example>: this device may not send as/);
    const ok = await send(STRICT_IP, 'desk@contoso.example', ['user@example.com'], 'From: desk@contoso.example\r\nSubject: x\r\n\r\nx\r\n.\r\n');
    assert.equal(ok.end?.code, 250, ok.end?.raw);
    assert.equal((await relay.store.list({})).length, before + 1);
  });
});

describe('sender checks cannot be bypassed with more than one From mailbox', () => {
  let relay: TestRelay;
  before(async () => {
    relay = await startTestRelay({
      tls: await sharedCertificate(),
      trustLoopback: false,
      listeners: [{ name: 'plain', host: '127.0.0.1', port: 0, tls: 'none' }],
      devices: [
        { name: 'scanner', networks: [`${SCANNER_IP}/32`], sendAs: SEND_AS },
        { name: 'strict', networks: [`${STRICT_IP}/32`], allowedFrom: ['*@contoso.example'] },
      ],
    });
  });
  after(() => relay.close());

  const cases: [string, string, string][] = [
    [SCANNER_IP, `From: ${SEND_AS}\r\nFrom: ceo@victim.example\r\n`, 'second From field'],
    [SCANNER_IP, `From: ${SEND_AS}, ceo@victim.example\r\n`, 'second mailbox in From'],
    [SCANNER_IP, `From: ceo@victim.example, "Scanner" <${SEND_AS}>\r\n`, 'disallowed mailbox before an allowed angle address'],
    [SCANNER_IP, 'From: "MFP" <scanner@printer.local>\r\nFROM: ceo@victim.example\r\n', 'second field after a rewritten one'],
    [STRICT_IP, 'From: desk@contoso.example\r\nFrom: ceo@victim.example\r\n', 'second From field (allowedFrom device)'],
  ];
  for (const [ip, from, what] of cases) {
    test(`${what}: refused 553 naming the extra mailbox`, async () => {
      const before = (await relay.store.list({})).length;
      const w = await SmtpWire.open(relay.port('plain'), { localAddress: ip });
      try {
        await w.cmd('EHLO mfp');
        const r = await sendRaw(w, ip === STRICT_IP ? 'desk@contoso.example' : SEND_AS, ['user@example.com'], `${from}Subject: two\r\n\r\nx\r\n.\r\n`);
        assert.equal(r.end?.code, 553, r.end?.raw);
        assert.match(r.end!.raw, /^553 5\.7\.1 <ceo@victim\.example>: this device may not send as this address/);
      } finally {
        w.close();
      }
      assert.equal((await relay.store.list({})).length, before);
    });
  }

  test('a quoted local part cannot hide the real domain ("x@allowed"@victim is refused)', async () => {
    const w = await SmtpWire.open(relay.port('plain'), { localAddress: STRICT_IP });
    try {
      await w.cmd('EHLO mfp');
      const r = await sendRaw(w, 'desk@contoso.example', ['user@example.com'], 'From: "x@contoso.example"@victim.example\r\nSubject: q\r\n\r\nx\r\n.\r\n');
      assert.equal(r.end?.code, 553, r.end?.raw);
      assert.match(r.end!.raw, /^553 5\.7\.1 <[^>]*@victim\.example>: this device may not send as this address/);
    } finally {
      w.close();
    }
  });

  test('a very long From field is handled in linear time (no regular-expression stall)', { timeout: 60_000 }, async () => {
    const w = await SmtpWire.open(relay.port('plain'), { localAddress: STRICT_IP });
    try {
      await w.cmd('EHLO mfp');
      // Before the fix, this header froze the whole relay for minutes.
      const from = `From: <${'@'.repeat(300_000)}\r\nX-Long: ${'a'.repeat(300_000)}\r\n`;
      const r = await sendRaw(w, 'desk@contoso.example', ['user@example.com'], `${from}Subject: long\r\n\r\nx\r\n.\r\n`);
      assert.ok(r.end && r.end.code >= 250, r.end?.raw);
    } finally {
      w.close();
    }
  });

  test('a display name that looks like an address is not a second mailbox', async () => {
    const w = await SmtpWire.open(relay.port('plain'), { localAddress: STRICT_IP });
    try {
      await w.cmd('EHLO mfp');
      const original = 'From: "ceo@victim.example, (x)" <desk@contoso.example> (Desk, 3F)\r\nSubject: ok\r\n\r\nx\r\n';
      const r = await sendRaw(w, 'desk@contoso.example', ['user@example.com'], `${original}.\r\n`);
      assert.equal(r.end?.code, 250, r.end?.raw);
      const msg = await relay.waitFor(queueIdOf(r.end!.raw), ['held']);
      assert.equal(splitReceived(await readAll(relay.store.openBody(msg.bodyId))).rest.toString('latin1'), original);
    } finally {
      w.close();
    }
  });
});

describe('Bcc-only recipients', () => {
  let relay: TestRelay;
  before(async () => {
    relay = await startTestRelay({ tls: await sharedCertificate(), listeners: [{ name: 'plain', host: '127.0.0.1', port: 0, tls: 'none' }] });
  });
  after(() => relay.close());

  test('nodemailer with bcc only: no To header, every envelope recipient stored', async () => {
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port('plain'), secure: false, ignoreTLS: true });
    try {
      const bcc = ['a@example.com', 'b@example.net', 'c@example.org'];
      const info = await t.sendMail({ from: 'scanner@printer.local', bcc, subject: 'bcc only', text: 'x' });
      const msg = await relay.waitFor(queueIdOf(info.response), ['held']);
      assert.deepEqual([...msg.recipients].sort(), [...bcc].sort());
      assert.deepEqual(msg.recipientRecords.map((r) => r.address).sort(), [...bcc].sort());
      const body = (await readAll(relay.store.openBody(msg.bodyId))).toString('latin1');
      const header = body.slice(0, body.indexOf('\r\n\r\n'));
      assert.ok(!/^(To|Cc|Bcc):/im.test(header), header);
    } finally {
      t.close();
    }
  });

  test('a Bcc header written by the device is removed; its recipients stay in the envelope', async () => {
    const w = await SmtpWire.open(relay.port('plain'));
    try {
      await w.cmd('EHLO mfp');
      const r = await sendRaw(w, 'scanner@printer.local', ['to@example.com', 'secret@example.net'],
        'From: scanner@printer.local\r\nTo: to@example.com\r\nBcc: secret@example.net\r\nResent-Bcc: other@example.org\r\nSubject: b\r\n\r\nx\r\n.\r\n');
      assert.equal(r.end?.code, 250, r.end?.raw);
      const msg = await relay.waitFor(queueIdOf(r.end!.raw), ['held']);
      assert.deepEqual(msg.recipients, ['to@example.com', 'secret@example.net']);
      const body = (await readAll(relay.store.openBody(msg.bodyId))).toString('latin1');
      assert.ok(!/^(Resent-)?Bcc:/im.test(body), body);
      assert.ok(!body.includes('secret@example.net'), 'the blind recipient appears nowhere in the message');
      assert.ok(msg.notes?.some((n) => /Bcc header removed/.test(n)));
    } finally {
      w.close();
    }
  });

  test('raw: "To: undisclosed-recipients:;" with three RCPTs', async () => {
    const w = await SmtpWire.open(relay.port('plain'));
    try {
      await w.cmd('EHLO mfp');
      const rcpts = ['x1@example.com', 'x2@example.com', 'x3@example.com'];
      const r = await sendRaw(w, 'scanner@printer.local', rcpts, 'From: scanner@printer.local\r\nTo: undisclosed-recipients:;\r\nSubject: u\r\n\r\nx\r\n.\r\n');
      assert.equal(r.end?.code, 250, r.end?.raw);
      const msg = await relay.waitFor(queueIdOf(r.end!.raw), ['held']);
      assert.deepEqual(msg.recipients, rcpts);
    } finally {
      w.close();
    }
  });
});
